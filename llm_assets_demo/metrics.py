"""Quality measures of the demo streams and where they are stored.

- doc_qa recall@k: share of labelled questions with at least one chunk that answers them
  among the k retrieved chunks (a chunk answers when it comes from the labelled document and
  contains every key string of the label).
- promo_reco recall@k: per customer |top-k ∩ fitting| / min(k, |fitting|), averaged over the
  customers with at least one fitting promotion.
- validity: share of LLM outputs that passed schema validation (pydantic) and the checks
  of content (known ids, no repeats); invalid outputs fall back and are counted as invalid.
- doc_qa answer accuracy: share of the answerable labelled questions whose answer states the
  seeded value (`states_value`: exact match of the value as a whole token sequence after
  normalisation: case, spaces, thousands separators).
- doc_qa citation precision: of the answers given (not "not found"), the share whose every
  cited chunk holds the labelled fact (it answers the question, as for recall).
- doc_qa not-found share: of the unanswerable questions, the share answered "not found in
  the sources".
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


def _plain(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3})", "", normalise(text))


def states_value(answer: str, value: str) -> bool:
    """The answer states `value`: as whole tokens (`2` is not in `2.5` or `25`)."""
    if not value:
        return False
    pattern = rf"(?<![\w.]){re.escape(_plain(value))}(?!\w|\.\d)"
    return re.search(pattern, _plain(answer)) is not None


def answer_quality(questions: list[dict], relevant: list[set[str]],
                   results: list[dict]) -> dict:
    """Answer accuracy, citation precision and not-found share of `results` (one answer dict
    per question, in the order of `questions`)."""
    rows, right, answered, precise, refused, unanswerable = [], 0, 0, 0, 0, 0
    for q, want, r in zip(questions, relevant, results):
        if not q.get("document"):
            unanswerable += 1
            refused += not r["found"]
            rows.append({"qid": q["qid"], "answerable": False, "found": r["found"],
                         "correct": not r["found"], "answer": r["answer"]})
            continue
        correct = r["found"] and states_value(r["answer"], q["value"])
        cited = [c["chunk_id"] for c in r["citations"]]
        held = bool(cited) and all(c in want for c in cited)
        right += correct
        answered += r["found"]
        precise += r["found"] and held
        rows.append({"qid": q["qid"], "answerable": True, "found": r["found"],
                     "correct": correct, "citation_holds_fact": held, "value": q["value"],
                     "answer": r["answer"]})
    answerable = len(rows) - unanswerable
    return {"answer_accuracy": right / answerable if answerable else 0.0,
            "citation_precision": precise / answered if answered else 0.0,
            "not_found_share": refused / unanswerable if unanswerable else 0.0,
            "answerable": answerable, "answered": answered, "correct": right,
            "cited_precisely": precise, "unanswerable": unanswerable,
            "unanswerable_not_found": refused, "questions": rows}


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
