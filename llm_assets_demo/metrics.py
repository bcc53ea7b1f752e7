"""Quality measures of the demo streams and where they are stored.

- doc_qa recall@k: share of labelled questions with at least one chunk that answers them
  among the k retrieved chunks (a chunk answers when it comes from the labelled document and
  contains every key string of the label).
- promo_reco recall@k: per customer |top-k ∩ fitting| / min(k, |fitting|), averaged over the
  customers with at least one fitting promotion.
- validity: share of LLM outputs that passed schema validation (pydantic) and the checks
  of content (known ids, no repeats); invalid outputs fall back and are counted as invalid.
"""

from __future__ import annotations

import json
import re

METRICS_KEY = "export/{stream}/metrics.json"


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def answers(chunk_text: str, chunk_doc: str, document: str, keys) -> bool:
    body = normalise(chunk_text)
    return chunk_doc.rsplit("/", 1)[-1] == document and all(normalise(k) in body for k in keys)


def hit_rate(retrieved: list[list[str]], relevant: list[set[str]], k: int) -> float:
    if not relevant:
        return 0.0
    hits = sum(1 for got, want in zip(retrieved, relevant) if want & set(got[:k]))
    return hits / len(relevant)


def set_recall(retrieved: list[list[str]], relevant: list[set[str]], k: int) -> float:
    scored = [len(want & set(got[:k])) / min(k, len(want))
              for got, want in zip(retrieved, relevant) if want]
    return sum(scored) / len(scored) if scored else 0.0


def write(datalake, stream: str, metrics: dict) -> str:
    key = METRICS_KEY.format(stream=stream)
    datalake.put_text(key, json.dumps(metrics, indent=1, sort_keys=True, default=str))
    return key


def read(datalake, stream: str) -> dict:
    key = METRICS_KEY.format(stream=stream)
    if not datalake.exists(key):
        raise FileNotFoundError(f"no metrics at {key} in the data lake: run the {stream} "
                                "stream first")
    return json.loads(datalake.get_text(key))
