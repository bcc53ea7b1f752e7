"""The demo streams' asset checks: thresholds from configuration, outcomes reported by their
notebooks with `nb.check` (declared in each notebook's metadata `llm_assets.checks`).

Both streams:
- `retrieval_recall_at_5`  >= threshold (doc_qa 0.80, promo_reco 0.70)
- `llm_valid_share`        share of schema-valid LLM outputs >= threshold (0.50)
- `no_duplicate_vectors`   the collection holds exactly the vectors the ingestion manifests
                           list, and their ids are distinct
doc_qa (on every labelled question, `llm_assets_demo.metrics.answer_quality`):
- `answer_accuracy`        share of answerable questions whose answer states the seeded
                           value >= threshold (0.85)
- `citation_precision`     share of the answers given whose cited chunk holds the fact
                           >= threshold (0.95)
- `not_found_share`        share of the unanswerable questions answered "not found in the
                           sources" >= threshold (0.80)
promo_reco (WARN: a finding about the model, not a broken asset):
- `llm_beats_retrieval`    on the LLM-ranked customers, recall@5 of the LLM ranking minus
                           recall@5 of the retrieval order it re-ranked >= threshold (0.0),
                           against the fitting promotions the generator knows

A threshold is overridden per stream and check with an environment variable, e.g.
`LLM_ASSETS_CHECK_DOC_QA_ANSWER_ACCURACY=0.9`.
"""

from __future__ import annotations

from llm_assets.core import settings

DEFAULTS = {
    "doc_qa": {"retrieval_recall_at_5": 0.80, "llm_valid_share": 0.50,
               "answer_accuracy": 0.85, "citation_precision": 0.95, "not_found_share": 0.80},
    "promo_reco": {"retrieval_recall_at_5": 0.70, "llm_valid_share": 0.50,
                   "llm_beats_retrieval": 0.0},
}
COMMON = ("retrieval_recall_at_5", "llm_valid_share", "no_duplicate_vectors")
CHECKS = {
    "doc_qa": (*COMMON, "answer_accuracy", "citation_precision", "not_found_share"),
    "promo_reco": (*COMMON, "llm_beats_retrieval"),
}


def threshold(stream: str, check: str) -> float:
    default = DEFAULTS.get(stream, {}).get(check, 0.0)
    return settings.number(f"LLM_ASSETS_CHECK_{stream}_{check}".upper(), str(default),
                           minimum=-1.0)


def _common(stream: str, m: dict) -> dict[str, dict]:
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


def _share(stream: str, check: str, value: float, counted: int, **metadata) -> dict:
    limit = threshold(stream, check)
    return dict(passed=counted > 0 and value >= limit,
                description=None if counted else "nothing to measure: no labelled answers",
                value=value, threshold=limit, counted=counted, **metadata)


def _doc_qa(m: dict) -> dict[str, dict]:
    model = str(m.get("answer_model", ""))
    return {
        "answer_accuracy": _share("doc_qa", "answer_accuracy", float(m["answer_accuracy"]),
                                  int(m["answerable_evaluated"]),
                                  correct=int(m["answers_correct"]), model=model),
        "citation_precision": _share("doc_qa", "citation_precision",
                                     float(m["citation_precision"]),
                                     int(m["answers_given"]),
                                     cited_precisely=int(m["answers_cited_precisely"]),
                                     model=model),
        "not_found_share": _share("doc_qa", "not_found_share", float(m["not_found_share"]),
                                  int(m["unanswerable_evaluated"]),
                                  not_found=int(m["unanswerable_not_found"]), model=model),
    }


def _promo_reco(m: dict) -> dict[str, dict]:
    llm, retrieval = float(m["llm_ranked_final_recall_at_5"]), float(
        m["llm_ranked_retrieval_recall_at_5"])
    compared = int(m.get("llm_ranked_evaluated", m.get("llm_attempts", 0)))
    return {"llm_beats_retrieval": dict(
        _share("promo_reco", "llm_beats_retrieval", round(llm - retrieval, 4), compared,
               llm_recall_at_5=llm, retrieval_recall_at_5=retrieval,
               llm_precision_at_1=float(m.get("llm_ranked_final_precision_at_1", 0.0)),
               retrieval_precision_at_1=float(
                   m.get("llm_ranked_retrieval_precision_at_1", 0.0)),
               model=str(m.get("llm_model", ""))),
        severity="WARN")}


def outcomes(stream: str, m: dict) -> dict[str, dict]:
    """check name -> keyword arguments of `nb.check` (passed, description, metadata)."""
    found = _common(stream, m)
    if stream == "doc_qa":
        found.update(_doc_qa(m))
    elif stream == "promo_reco":
        found.update(_promo_reco(m))
    return found


def report(nb, stream: str, m: dict) -> dict[str, dict]:
    """Report every demo check of `stream` through `nb.check`; returns the outcomes."""
    found = outcomes(stream, m)
    for name, kwargs in found.items():
        nb.check(name, **kwargs)
    return found
