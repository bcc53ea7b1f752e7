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


def _missing(stream: str, check: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=check, passed=False,
                               severity=dg.AssetCheckSeverity.ERROR,
                               description=f"export/{stream}/metrics.json is missing: "
                                           "materialize the process first")


def recall_result(stream: str, spec: StreamChecks, m: dict) -> dg.AssetCheckResult:
    limit = threshold(stream, "retrieval_recall_at_5", spec.recall)
    value = float(m["retrieval_recall_at_5"])
    return dg.AssetCheckResult(
        check_name="retrieval_recall_at_5", passed=value >= limit,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"recall_at_5": value, "threshold": limit, "run_id": str(m.get("run_id", "")),
                  "evaluated": int(m.get("questions", m.get("evaluated_customers", 0)))})


def validity_result(stream: str, spec: StreamChecks, m: dict) -> dg.AssetCheckResult:
    limit = threshold(stream, "llm_valid_share", spec.validity)
    attempts = int(m.get("llm_outputs", m.get("llm_attempts", 0)))
    value = float(m["llm_valid_share"])
    return dg.AssetCheckResult(
        check_name="llm_valid_share", passed=attempts > 0 and value >= limit,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if attempts else "no LLM output was produced",
        metadata={"valid_share": value, "valid": int(m.get("llm_valid", 0)),
                  "outputs": attempts, "threshold": limit, "model": str(m.get("llm_model", ""))})


def duplicates_result(m: dict) -> dg.AssetCheckResult:
    stored, expected = int(m["collection_count"]), int(m["expected_vectors"])
    distinct = int(m["distinct_chunk_ids"])
    return dg.AssetCheckResult(
        check_name="no_duplicate_vectors", passed=stored == expected == distinct,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"collection": str(m.get("collection", "")), "stored": stored,
                  "expected": expected, "distinct_ids": distinct})


def _stream_check(stream: str, spec: StreamChecks, asset: str) -> dg.AssetChecksDefinition:
    names = {
        "retrieval_recall_at_5": f"Retrieval recall@5 on the labelled set (>= {spec.recall})",
        "llm_valid_share": f"Share of schema-valid LLM outputs (>= {spec.validity})",
        "no_duplicate_vectors": "The collection holds exactly the vectors the ingestion "
                                "manifests list, with distinct ids",
    }
    specs = [dg.AssetCheckSpec(name, asset=asset, description=text)
             for name, text in names.items()]

    @dg.multi_asset_check(specs=specs, name=f"{asset}_quality",
                          required_resource_keys={"datalake"},
                          description=f"Quality of stream {stream} from "
                                      f"export/{stream}/metrics.json")
    def _checks(context):
        from llm_assets.demo import metrics

        try:
            m = metrics.read(context.resources.datalake, stream)
        except FileNotFoundError:
            for name in names:
                yield _missing(stream, name)
            return
        yield recall_result(stream, spec, m)
        yield validity_result(stream, spec, m)
        yield duplicates_result(m)

    return _checks


def stream_checks(snapshot: ControlSnapshot) -> list[dg.AssetChecksDefinition]:
    """Checks for the demo streams present (and active) in the snapshot."""
    from llm_assets.control.graph import loaded_processes

    checks = []
    for process in loaded_processes(snapshot):
        stream = snapshot.group_by_name[process.prcs_grp].strem_nm
        spec = STREAM_CHECKS.get(stream)
        if spec is None or process.nb_path_nm != spec.notebook:
            continue
        checks.append(_stream_check(stream, spec, process.prcs_nm))
    return checks
