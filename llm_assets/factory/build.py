"""Snapshot -> `dg.Definitions`.

At code-location initialization the control tables are read once; the snapshot JSON rides
along as reconstruction metadata, so run workers, step processes and notebook kernels rebuild
the same definitions without querying the control tables again.
"""

from __future__ import annotations

import logging
import os

import dagster as dg
from dagster._core.definitions.definitions_load_context import (
    DefinitionsLoadContext,
    DefinitionsLoadType,
)

from llm_assets import config
from llm_assets.control.graph import build_graph, loaded_processes
from llm_assets.control.models import ControlSnapshot
from llm_assets.control.validate import ValidationResult, validate
from llm_assets.factory.assets import process_asset
from llm_assets.factory.jobs import stream_jobs, stream_schedules
from llm_assets.runner import ProcessRunner

SNAPSHOT_KEY = "llm_assets/snapshot"
STATUS_ASSET = "llm_assets_control_tables"
STATUS_GROUP = "llm_assets_control"

logger = logging.getLogger("llm_assets")


def _retry_policy() -> dg.RetryPolicy | None:
    retries = int(os.environ.get("LLM_ASSETS_MAX_RETRIES", "0"))
    if retries <= 0:
        return None
    return dg.RetryPolicy(max_retries=retries,
                          delay=float(os.environ.get("LLM_ASSETS_RETRY_DELAY", "5")),
                          backoff=dg.Backoff.EXPONENTIAL)


def _status_spec(snapshot: ControlSnapshot, result: ValidationResult) -> dg.AssetSpec:
    """An always-visible node in the UI stating what was loaded and what was excluded, why."""
    lines = [f"Control tables snapshot `{snapshot.fingerprint}` loaded at {snapshot.loaded_at}."]
    if result.excluded:
        lines.append("")
        lines.append("**Excluded streams** (fix the rows, then reload the code location):")
        for stream, reasons in result.excluded.items():
            lines.append(f"- **{stream}**")
            lines.extend(f"  - {reason}" for reason in reasons)
    unattributed = [str(p) for p in result.problems if not p.streams]
    if unattributed:
        lines.append("")
        lines.append("**Rows ignored:**")
        lines.extend(f"- {p}" for p in unattributed)
    if result.ok:
        lines.append("No problems found.")
    return dg.AssetSpec(
        key=STATUS_ASSET,
        group_name=STATUS_GROUP,
        description="\n".join(lines),
        metadata={
            "snapshot": snapshot.fingerprint,
            "loaded_at": snapshot.loaded_at or "",
            "problems": len(result.problems),
            "excluded_streams": ", ".join(result.excluded) or "none",
        },
        tags={"llm_assets/status": "problems" if result.problems else "ok"},
    )


def build_definitions(snapshot: ControlSnapshot, *, resources: dict | None = None,
                      notebooks_root=None) -> dg.Definitions:
    """The definitions of every valid stream of the snapshot (problems excluded, not fatal)."""
    root = notebooks_root or config.notebooks_dir()
    result = validate(snapshot, root)
    if result.excluded:
        for stream, reasons in result.excluded.items():
            logger.warning("llm_assets: stream %s excluded: %s", stream, " | ".join(reasons))
    clean = snapshot.without_streams(set(result.excluded))
    graph = build_graph(clean)
    runner = ProcessRunner(clean, root)
    retry = _retry_policy()
    processes = loaded_processes(clean)
    assets = [process_asset(clean, p, graph, runner, retry) for p in processes]
    jobs = stream_jobs(clean, {p.prcs_grp for p in processes})
    schedules = stream_schedules(clean, jobs, config.timezone())
    if resources is None:
        from llm_assets.resources.profile import resources_for_profile

        resources = resources_for_profile()
    from llm_assets.reload import reload_sensors
    from llm_assets.sensors import default_sensors

    return dg.Definitions(
        assets=[*assets, _status_spec(snapshot, result)],
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=[*default_sensors(), *reload_sensors()],
        resources=resources,
    )


# Within one process, reconstructions reuse the last snapshot read (never initialization,
# which always reads the tables): dagster's CLI and executors reconstruct the repository
# several times per process.
_last_read: dict[str, ControlSnapshot] = {}


def load_definitions() -> dg.Definitions:
    """Entry point used by `definitions.py`.

    - initialization: read the control tables once and attach the snapshot JSON to the
      repository load data (reconstruction metadata);
    - reconstruction (run worker, step process, notebook kernel): use that snapshot, no query.
    """
    from llm_assets.control.load import load_snapshot

    context = DefinitionsLoadContext.get()
    snapshot = None
    if context.load_type == DefinitionsLoadType.RECONSTRUCTION:
        payload = context.reconstruction_metadata.get(SNAPSHOT_KEY)
        if payload:
            snapshot = ControlSnapshot.from_json(payload)
        else:
            snapshot = _last_read.get("snapshot")
    if snapshot is None:
        logger.info("llm_assets: reading the control tables (%s)", context.load_type.value)
        snapshot = load_snapshot()
        _last_read["snapshot"] = snapshot
    # attached to the repository load data, which Dagster hands to every reconstruction
    context.add_to_pending_reconstruction_metadata(SNAPSHOT_KEY, snapshot.to_json())
    return build_definitions(snapshot)
