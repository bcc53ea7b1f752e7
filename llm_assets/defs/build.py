"""Control state -> `dg.Definitions`: one asset per process, one job per stream, schedules,
sensors, the executor and the profile's resources."""

from __future__ import annotations

import dagster as dg

from llm_assets.core import settings
from llm_assets.core.graph import build_graph, loaded_processes
from llm_assets.core.scope import Scope
from llm_assets.core.state import ControlState
from llm_assets.defs.assets import process_asset
from llm_assets.defs.barriers import barrier_asset
from llm_assets.defs.executor import executor_definition
from llm_assets.defs.jobs import stream_jobs, stream_schedules
from llm_assets.defs.log_mirror import default_sensors
from llm_assets.defs.queues import k8s_queue_config, placement_tags, stream_queues
from llm_assets.defs.reload import reload_sensors
from llm_assets.defs.status import status_spec
from llm_assets.runtime.runner import ProcessRunner


def retry_policy() -> dg.RetryPolicy | None:
    retries = int(settings.number("LLM_ASSETS_MAX_RETRIES", "0", whole=True))
    if retries <= 0:
        return None
    return dg.RetryPolicy(max_retries=retries,
                          delay=settings.number("LLM_ASSETS_RETRY_DELAY", "5"),
                          backoff=dg.Backoff.EXPONENTIAL)


def build_definitions(state: ControlState, *, resources: dict | None = None,
                      notebooks_root=None, scope: Scope = Scope()) -> dg.Definitions:
    """The definitions of every valid stream of the state (excluded streams left out).

    `scope` limits the assets built to that part of the graph (a step process or kernel);
    upstreams outside it stay as asset keys, so inputs and step keys are the same."""
    clean = state.snapshot.without_streams(set(state.excluded))
    graph = build_graph(clean)
    runner = ProcessRunner(ControlState(clean, state.excluded, notebooks=state.notebooks),
                           notebooks_root or settings.notebooks_dir())
    retry = retry_policy()
    processes = loaded_processes(clean)
    if scope.streams is not None:
        processes = [p for p in processes
                     if clean.group_by_name[p.prcs_grp].strem_nm in scope.streams]
    if scope.processes is not None:
        processes = [p for p in processes if p.prcs_nm in scope.processes]
    routes, k8s = stream_queues(), k8s_queue_config()
    assets: list = [process_asset(clean, p, graph, runner, retry,
                                  state.notebooks.get(p.nb_path_nm),
                                  placement_tags(clean, p, routes, k8s)) for p in processes]
    # the priority-tier gates of the streams built (in an asset selection: the selected ones)
    assets += [barrier_asset(b) for b in graph.barriers.values()
               if (scope.streams is None or b.stream in scope.streams)
               and (scope.processes is None or b.name in scope.processes)]
    built = {p.prcs_nm for p in processes}
    # a scoped build keeps its outside upstreams as external specs, so their values still
    # load through the IO manager under the same asset key
    outside = sorted({up for p in processes for up in graph.data_deps.get(p.prcs_nm, ())
                      if up not in built})
    assets += [dg.AssetSpec(key=up, group_name=clean.process_by_name[up].prcs_grp)
               for up in outside]
    jobs = stream_jobs(clean, {p.prcs_grp for p in processes})
    schedules = stream_schedules(clean, jobs, settings.timezone())
    if resources is None:
        from llm_assets.backends.profile import resources_for_profile

        resources = resources_for_profile()
    return dg.Definitions(
        assets=[*assets, status_spec(state)],
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=[*default_sensors(), *reload_sensors(state.snapshot)],
        resources=resources,
        executor=executor_definition(),
    )
