"""Asset checks of the demo streams: quality measured by their notebooks, with thresholds.

Each stream's metrics-writing process (doc_qa: notebook doc_qa/answer.ipynb, promo_reco:
promo_reco/rank.ipynb) carries three checks that read `export/<stream>/metrics.json`:

- `retrieval_recall_at_5`  >= threshold (doc_qa 0.80, promo_reco 0.70)
- `llm_valid_share`        share of schema-valid LLM outputs >= threshold (0.50: SmolLM2-135M
                           is weak; invalid outputs fall back and are counted honestly)
- `no_duplicate_vectors`   the collection holds exactly the vectors the ingestion manifests
                           list, and their ids are distinct

Thresholds are overridable per stream and check with environment variables, e.g.
`LLM_ASSETS_CHECK_DOC_QA_RETRIEVAL_RECALL_AT_5=0.9`.  A failed check has severity ERROR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

from llm_assets.control.models import ControlSnapshot


@dataclass(frozen=True)
class StreamChecks:
    notebook: str
    recall: float
    validity: float


STREAM_CHECKS = {
    "doc_qa": StreamChecks("doc_qa/answer.ipynb", recall=0.80, validity=0.50),
    "promo_reco": StreamChecks("promo_reco/rank.ipynb", recall=0.70, validity=0.50),
}


def threshold(stream: str, check: str, default: float) -> float:
    name = f"LLM_ASSETS_CHECK_{stream}_{check}".upper()
    return float(os.environ.get(name, default))


def _metrics(context, stream: str) -> dict | None:
    from llm_assets.demo import metrics

    try:
        return metrics.read(context.resources.datalake, stream)
    except FileNotFoundError:
        return None


def _missing(stream: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                               description=f"export/{stream}/metrics.json is missing: "
                                           "materialize the process first")


def _recall(stream: str, spec: StreamChecks, asset: str):
    @dg.asset_check(asset=asset, name="retrieval_recall_at_5", required_resource_keys={"datalake"},
                    description=f"Retrieval recall@5 on the labelled set of {stream} "
                                f"(>= {spec.recall}, env LLM_ASSETS_CHECK_{stream.upper()}_"
                                "RETRIEVAL_RECALL_AT_5)")
    def _check(context) -> dg.AssetCheckResult:
        m = _metrics(context, stream)
        if m is None:
            return _missing(stream)
        limit = threshold(stream, "retrieval_recall_at_5", spec.recall)
        value = float(m["retrieval_recall_at_5"])
        return dg.AssetCheckResult(
            passed=value >= limit, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"recall_at_5": value, "threshold": limit, "run_id": m.get("run_id", ""),
                      "evaluated": m.get("questions", m.get("evaluated_customers", 0))})

    return _check


def _validity(stream: str, spec: StreamChecks, asset: str):
    @dg.asset_check(asset=asset, name="llm_valid_share", required_resource_keys={"datalake"},
                    description=f"Share of schema-valid LLM outputs of {stream} "
                                f"(>= {spec.validity})")
    def _check(context) -> dg.AssetCheckResult:
        m = _metrics(context, stream)
        if m is None:
            return _missing(stream)
        limit = threshold(stream, "llm_valid_share", spec.validity)
        attempts = int(m.get("llm_outputs", m.get("llm_attempts", 0)))
        value = float(m["llm_valid_share"])
        return dg.AssetCheckResult(
            passed=attempts > 0 and value >= limit, severity=dg.AssetCheckSeverity.ERROR,
            description=None if attempts else "no LLM output was produced",
            metadata={"valid_share": value, "valid": int(m.get("llm_valid", 0)),
                      "outputs": attempts, "threshold": limit,
                      "model": str(m.get("llm_model", ""))})

    return _check


def _duplicates(stream: str, asset: str):
    @dg.asset_check(asset=asset, name="no_duplicate_vectors",
                    required_resource_keys={"datalake"},
                    description=f"The {stream} collection holds exactly the vectors its "
                                "ingestion manifests list, with distinct ids")
    def _check(context) -> dg.AssetCheckResult:
        m = _metrics(context, stream)
        if m is None:
            return _missing(stream)
        stored, expected = int(m["collection_count"]), int(m["expected_vectors"])
        distinct = int(m["distinct_chunk_ids"])
        return dg.AssetCheckResult(
            passed=stored == expected == distinct, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"collection": str(m.get("collection", "")), "stored": stored,
                      "expected": expected, "distinct_ids": distinct})

    return _check


def stream_checks(snapshot: ControlSnapshot) -> list[dg.AssetChecksDefinition]:
    """Checks for the demo streams present (and active) in the snapshot."""
    from llm_assets.control.graph import loaded_processes

    checks = []
    for process in loaded_processes(snapshot):
        stream = snapshot.group_by_name[process.prcs_grp].strem_nm
        spec = STREAM_CHECKS.get(stream)
        if spec is None or process.nb_path_nm != spec.notebook:
            continue
        checks += [_recall(stream, spec, process.prcs_nm),
                   _validity(stream, spec, process.prcs_nm),
                   _duplicates(stream, process.prcs_nm)]
    return checks
