"""Unchanged processes are not run again.

Every process result carries a data version: the hash of its content (pickled).  A process
is not run again when all of this holds:

- it depends on other processes (a process without upstream reads the outside world) and has
  no `sys_file` (a process with one reads source files, which change outside Dagster: it
  always runs, and ingestion skips unchanged sources itself);
- its last materialization was made with its current code version (its notebook, control
  rows and its upstream's versions: llm_assets.core.versions);
- every upstream's current data version is the one that materialization was made from; for
  a priority-tier gate (llm_assets.defs.barriers, whose data version never changes), every
  process the gate waits for has the data version it had when that materialization was made.

Then the step loads that result through the IO manager and hands it on unchanged, with the
same data version, the metadata of the run that computed it (its executed-notebook link
included), the outcomes of its checks, and a message saying so; the notebook does not run.

LLM_ASSETS_SKIP_UNCHANGED=0, or the run tag `llm_assets/rerun=true`, runs every process.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg

from llm_assets.core.models import Process
from llm_assets.core.notebooks import NotebookInfo

SKIP_ENV = "LLM_ASSETS_SKIP_UNCHANGED"
RERUN_TAG = "llm_assets/rerun"
DATA_VERSION_TAG = "dagster/data_version"  # Dagster's tag on a materialization
_TRUE = ("1", "true", "yes")


def content_version(value) -> dg.DataVersion | None:
    """The data version of a result: the hash of its pickled content (None: not picklable,
    Dagster then versions it by its code and inputs)."""
    try:
        data = pickle.dumps(value, protocol=4)
    except Exception:  # noqa: BLE001 - any object may refuse pickling; no version then
        return None
    return dg.DataVersion(hashlib.sha256(data).hexdigest()[:24])


def enabled(context) -> bool:
    if os.environ.get(SKIP_ENV, "1").strip().lower() in ("0", "false", "no"):
        return False
    return str(context.run.tags.get(RERUN_TAG, "")).lower() not in _TRUE


@dataclass(frozen=True)
class Previous:
    """The materialization a skipped step hands on."""

    run_id: str
    data_version: str
    metadata: dict
    value: object
    checks: tuple  # the AssetCheckEvaluation of each declared check, from that run


def _data_version(instance, key: dg.AssetKey) -> str | None:
    entry = instance.get_latest_materialization_event(key)
    return (entry.tags or {}).get(DATA_VERSION_TAG) if entry is not None else None


def _load(context, key: dg.AssetKey):
    """The stored result of `key`, read as a downstream step would."""
    manager = context.resources.io_manager
    output = dg.build_output_context(asset_key=key, name="result")
    return manager.load_input(dg.build_input_context(asset_key=key, upstream_output=output))


def _check_outcomes(context, key: dg.AssetKey, run_id: str,
                    notebook: NotebookInfo | None) -> tuple | None:
    """The evaluations of the declared checks in run `run_id` (None: one is missing).  Read
    from that run's events: the latest check record is this run's own, planned one."""
    declared = [c.name for c in (notebook.checks if notebook else ())]
    if not declared:
        return ()
    records = context.instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.asset_key == key:
            found[evaluation.check_name] = evaluation
    if set(declared) - set(found):
        return None
    return tuple(found[name] for name in declared)


def _gate_passed_unchanged(instance, waits_for: tuple[str, ...], storage_id: int) -> bool:
    """Whether each process a tier gate waits for has now the data version it had before the
    materialization `storage_id` (the last one of the gated process)."""
    for name in waits_for:
        then = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), before_storage_id=storage_id),
            limit=1).records
        if not then or (then[0].event_log_entry.tags or {}).get(DATA_VERSION_TAG) \
                != _data_version(instance, dg.AssetKey(name)):
            return False
    return True


def previous_result(context, process: Process, notebook: NotebookInfo | None,
                    gates: dict[str, tuple[str, ...]] | None = None) -> Previous | None:
    """The last result of `process` when nothing it depends on changed since (see the
    module docstring), else None: the process runs.  `gates`: the tier gates of its stream,
    each with the processes it waits for."""
    key = dg.AssetKey(process.prcs_nm)
    upstream = context.assets_def.asset_deps.get(key, set())
    if process.sys_file or not upstream or not enabled(context):
        return None
    provenance = context.get_asset_provenance(key)
    if (provenance is None or not provenance.is_user_provided
            or provenance.code_version != context.assets_def.code_versions_by_key.get(key)
            or set(provenance.input_data_versions) != set(upstream)):
        return None
    for up in upstream:
        if _data_version(context.instance, up) != provenance.input_data_versions[up].value:
            return None
    records = context.instance.fetch_materializations(key, limit=1).records
    entry = records[0].event_log_entry if records else None
    version = (entry.tags or {}).get(DATA_VERSION_TAG) if entry is not None else None
    if entry is None or entry.asset_materialization is None or version is None:
        return None
    for up in upstream:
        waits_for = (gates or {}).get(up.to_user_string())
        if waits_for is not None and not _gate_passed_unchanged(
                context.instance, waits_for, records[0].storage_id):
            return None
    checks = _check_outcomes(context, key, entry.run_id, notebook)
    if checks is None:
        return None
    try:
        value = _load(context, key)
    except Exception as err:  # noqa: BLE001 - the stored result is gone or unreadable: run
        context.log.info(f"{process.prcs_nm}: its last result cannot be read ({err}); "
                         "running it")
        return None
    return Previous(entry.run_id, version,
                    dict(entry.asset_materialization.metadata), value, checks)


def reuse(context, process: Process, previous: Previous) -> Iterator:
    """The events of a step that hands on `previous` without running the process."""
    message = (f"unchanged since run {previous.run_id}: its notebook, control rows and "
               "inputs are those of that run, so it was not run again (run tag "
               f"{RERUN_TAG}=true or {SKIP_ENV}=0 runs it)")
    context.log.info(f"{process.prcs_nm}: {message}")
    metadata = {**previous.metadata, "message": message,
                "unchanged_since_run": previous.run_id}
    yield dg.Output(previous.value, data_version=dg.DataVersion(previous.data_version),
                    metadata=metadata)
    for evaluation in previous.checks:
        yield dg.AssetCheckResult(
            asset_key=process.prcs_nm, check_name=evaluation.check_name,
            passed=evaluation.passed, severity=evaluation.severity,
            description=evaluation.description,
            metadata={**evaluation.metadata,
                      "unchanged_since_run": dg.MetadataValue.text(previous.run_id)})
