"""Snapshot -> `dg.Definitions`.

At code-location initialization the control tables are read once; the snapshot JSON rides
along as reconstruction metadata, so run workers, step processes and notebook kernels rebuild
the same definitions without querying the control tables again.
"""

from __future__ import annotations

import json
import logging

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
EXCLUDED_KEY = "llm_assets/excluded"
STATUS_ASSET = "llm_assets_control_tables"
STATUS_GROUP = "llm_assets_control"

logger = logging.getLogger("llm_assets")


def _retry_policy() -> dg.RetryPolicy | None:
    retries = int(config.number("LLM_ASSETS_MAX_RETRIES", "0", whole=True))
    if retries <= 0:
        return None
    return dg.RetryPolicy(max_retries=retries,
                          delay=config.number("LLM_ASSETS_RETRY_DELAY", "5"),
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
                      notebooks_root=None, validation: ValidationResult | None = None,
                      scope: tuple[set[str] | None, set[str] | None] = (None, None),
                      ) -> dg.Definitions:
    """The definitions of every valid stream of the snapshot (problems excluded, not fatal).

    `validation` skips validating again when the result is already known;
    `scope` = (streams, processes) limits the assets built to that part of the graph.
    """
    root = notebooks_root or config.notebooks_dir()
    result = validation if validation is not None else validate(snapshot, root)
    clean = snapshot.without_streams(set(result.excluded))
    graph = build_graph(clean)
    runner = ProcessRunner(clean, root)
    retry = _retry_policy()
    processes = loaded_processes(clean)
    streams_scope, processes_scope = scope
    if streams_scope is not None:
        processes = [p for p in processes
                     if clean.group_by_name[p.prcs_grp].strem_nm in streams_scope]
    if processes_scope is not None:
        processes = [p for p in processes if p.prcs_nm in processes_scope]
    assets = [process_asset(clean, p, graph, runner, retry) for p in processes]
    built = {p.prcs_nm for p in processes}
    # a scoped build keeps its outside upstreams as external specs, so their values still
    # load through the IO manager under the same asset key
    outside = sorted({up for p in processes for up in graph.data_deps.get(p.prcs_nm, ())
                      if up not in built})
    assets += [dg.AssetSpec(key=up, group_name=clean.process_by_name[up].prcs_grp)
               for up in outside]
    jobs = stream_jobs(clean, {p.prcs_grp for p in processes})
    schedules = stream_schedules(clean, jobs, config.timezone())
    if resources is None:
        from llm_assets.resources.profile import resources_for_profile

        resources = resources_for_profile()
    from llm_assets.checks import stream_checks
    from llm_assets.factory.scope import scoped_multiprocess_executor
    from llm_assets.reload import reload_sensors
    from llm_assets.sensors import default_sensors

    checks = [c for c in stream_checks(clean)
              if all(k.asset_key.to_user_string() in built for k in c.check_keys)]
    return dg.Definitions(
        assets=[*assets, _status_spec(snapshot, result)],
        asset_checks=checks,
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=[*default_sensors(), *reload_sensors(snapshot)],
        resources=resources,
        executor=scoped_multiprocess_executor,
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
    from llm_assets.factory.scope import current_scope

    context = DefinitionsLoadContext.get()
    snapshot, result, scope = None, None, (None, None)
    if context.load_type == DefinitionsLoadType.RECONSTRUCTION:
        payload = context.reconstruction_metadata.get(SNAPSHOT_KEY)
        if payload:
            snapshot = ControlSnapshot.from_json(payload)
            excluded = json.loads(context.reconstruction_metadata.get(EXCLUDED_KEY) or "{}")
            result = ValidationResult((), {k: tuple(v) for k, v in excluded.items()})
        elif "snapshot" in _last_read:
            snapshot, result = _last_read["snapshot"], _last_read["result"]
        scope = current_scope()
    if snapshot is None:
        logger.info("llm_assets: reading the control tables (%s)", context.load_type.value)
        snapshot = load_snapshot()
        result = validate(snapshot, config.notebooks_dir())
        _last_read.update(snapshot=snapshot, result=result)
        for stream, reasons in result.excluded.items():
            logger.warning("llm_assets: stream %s excluded: %s", stream, " | ".join(reasons))
    # attached to the repository load data, which Dagster hands to every reconstruction
    context.add_to_pending_reconstruction_metadata(SNAPSHOT_KEY, snapshot.to_json())
    context.add_to_pending_reconstruction_metadata(EXCLUDED_KEY, json.dumps(result.excluded))
    return build_definitions(snapshot, validation=result, scope=scope)
