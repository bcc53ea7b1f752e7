"""The demo streams' asset checks: thresholds from configuration, outcomes reported by their
notebooks with `nb.check` (declared in each notebook's metadata `llm_assets.checks`).

- `retrieval_recall_at_5`  >= threshold (doc_qa 0.80, promo_reco 0.70)
- `llm_valid_share`        share of schema-valid LLM outputs >= threshold (0.50)
- `no_duplicate_vectors`   the collection holds exactly the vectors the ingestion manifests
                           list, and their ids are distinct

A threshold is overridden per stream and check with an environment variable, e.g.
`LLM_ASSETS_CHECK_DOC_QA_RETRIEVAL_RECALL_AT_5=0.9`.
"""

from __future__ import annotations

from llm_assets.core import settings

DEFAULTS = {
    "doc_qa": {"retrieval_recall_at_5": 0.80, "llm_valid_share": 0.50},
    "promo_reco": {"retrieval_recall_at_5": 0.70, "llm_valid_share": 0.50},
}
CHECKS = ("retrieval_recall_at_5", "llm_valid_share", "no_duplicate_vectors")


def threshold(stream: str, check: str) -> float:
    default = DEFAULTS.get(stream, {}).get(check, 0.0)
    return settings.number(f"LLM_ASSETS_CHECK_{stream}_{check}".upper(), str(default))


def outcomes(stream: str, m: dict) -> dict[str, dict]:
    """check name -> keyword arguments of `nb.check` (passed, description, metadata)."""
    recall_limit = threshold(stream, "retrieval_recall_at_5")
    recall = float(m["retrieval_recall_at_5"])
    valid_limit = threshold(stream, "llm_valid_share")
    attempts = int(m.get("llm_outputs", m.get("llm_attempts", 0)))
    valid = float(m["llm_valid_share"])
    stored, expected = int(m["collection_count"]), int(m["expected_vectors"])
    distinct = int(m["distinct_chunk_ids"])
    return {
        "retrieval_recall_at_5": dict(
            passed=recall >= recall_limit, recall_at_5=recall, threshold=recall_limit,
            evaluated=int(m.get("questions", m.get("evaluated_customers", 0)))),
        "llm_valid_share": dict(
            passed=attempts > 0 and valid >= valid_limit,
            description=None if attempts else "no LLM output was produced",
            valid_share=valid, valid=int(m.get("llm_valid", 0)), outputs=attempts,
            threshold=valid_limit, model=str(m.get("llm_model", ""))),
        "no_duplicate_vectors": dict(
            passed=stored == expected == distinct, collection=str(m.get("collection", "")),
            stored=stored, expected=expected, distinct_ids=distinct),
    }


def report(nb, stream: str, m: dict) -> dict[str, dict]:
    """Report every demo check of `stream` through `nb.check`; returns the outcomes."""
    found = outcomes(stream, m)
    for name, kwargs in found.items():
        nb.check(name, **kwargs)
    return found
