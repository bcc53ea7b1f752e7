"""Asset checks that process notebooks declare and report: the extension point for quality
measures of any stream (the demo streams use it for retrieval recall, answer accuracy, ...).

A notebook declares its checks in its metadata (Jupyter: Edit > Notebook metadata):

    {"llm_assets": {"checks": [{"name": "recall_at_5", "description": "..."}]}}

(a script process: a top-level `CHECKS = [{"name": ..., "description": ...}]`) and reports
each with `nb.check("recall_at_5", passed=value >= threshold, value=value)`.  The checks show
on the process's asset in the UI; a declared check the notebook did not report is failed,
saying so.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from llm_assets.core.notebooks import NotebookInfo

_SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}


def _metadata_value(value):
    return value if isinstance(value, int | float | str | bool) else str(value)


def check_results(asset: str, nb_path: str, notebook: NotebookInfo | None,
                  reported: dict[str, dict]) -> Iterator[dg.AssetCheckResult]:
    """One result per check the notebook declares, from what it reported."""
    for declared in (notebook.checks if notebook else ()):
        outcome = reported.get(declared.name)
        if outcome is None:
            yield dg.AssetCheckResult(
                asset_key=asset, check_name=declared.name, passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description=f"notebooks/{nb_path} declares this check but did not report it "
                            f"(call nb.check({declared.name!r}, passed=...))")
            continue
        yield dg.AssetCheckResult(
            asset_key=asset, check_name=declared.name, passed=bool(outcome["passed"]),
            severity=_SEVERITY.get(str(outcome.get("severity")), dg.AssetCheckSeverity.ERROR),
            description=outcome.get("description"),
            metadata={k: _metadata_value(v) for k, v in (outcome.get("metadata") or {}).items()})
