"""Reconstruction scope: a step process or notebook kernel builds only the part of the graph
it runs, so its start-up cost does not grow with the number of processes.

- The run worker's executor (`scoped_multiprocess_executor`) sets LLM_ASSETS_SCOPE_STREAMS to
  the streams of its run before starting step processes; they inherit it.
- The notebook runner sets LLM_ASSETS_SCOPE_PROCESSES to its process (plus the run's asset
  selection) before starting the kernel.

Scoping applies only to reconstruction; code-location initialization always builds it all.
Dependencies on processes outside the scope stay as asset keys (loaded through the IO
manager), so inputs and step keys are identical to the full graph's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.definitions.executor_definition import (
    MULTI_PROC_CONFIG,
    _core_multiprocess_executor_creation,
    multiple_process_executor_requirements,
)
from dagster._core.executor.multiprocess import MultiprocessExecutor

STREAMS_ENV = "LLM_ASSETS_SCOPE_STREAMS"
PROCESSES_ENV = "LLM_ASSETS_SCOPE_PROCESSES"
# imported once per run by the forkserver instead of once per step (about 1 s per notebook
# step on 2 cores): Dagster, llm_assets, and what the notebook runner uses
PRELOAD_MODULES = ("dagster", "llm_assets.definitions", "llm_assets.runner",
                   "dagstermill.factory", "scrapbook", "nbconvert",
                   # the instance's Postgres storage, opened by every step (about 0.5 s)
                   "dagster_postgres", "sqlalchemy.dialects.postgresql.psycopg2")


@contextmanager
def scoped_env(name: str, values: set[str] | None) -> Iterator[None]:
    """Set a scope variable for child processes started inside the block; restore after."""
    old = os.environ.get(name)
    if values:
        os.environ[name] = ",".join(sorted(values))
    else:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def current_scope() -> tuple[set[str] | None, set[str] | None]:
    """(streams, processes) the current reconstruction may limit itself to (None: all)."""
    streams = os.environ.get(STREAMS_ENV)
    processes = os.environ.get(PROCESSES_ENV)
    return (set(streams.split(",")) if streams else None,
            set(processes.split(",")) if processes else None)


class _ScopedMultiprocessExecutor(MultiprocessExecutor):
    """Dagster's multiprocess executor, with the run's streams exported to its children."""

    def execute(self, plan_context, execution_plan):
        run = plan_context.dagster_run
        if run.asset_selection:
            # an ad-hoc selection (UI materialize, `dagster asset materialize`): just those
            processes = {key.to_user_string() for key in run.asset_selection}
            streams = None
        else:
            processes = None
            streams = None if run.job_name.startswith("__") else {run.job_name}
        execution_plan = _with_scoped_snapshot(plan_context, execution_plan, streams,
                                               processes)
        with scoped_env(STREAMS_ENV, streams), scoped_env(PROCESSES_ENV, processes):
            try:
                yield from super().execute(plan_context, execution_plan)
            finally:
                if self._start_method == "forkserver":
                    _stop_forkserver()


def _with_scoped_snapshot(plan_context, execution_plan, streams: set[str] | None,
                          processes: set[str] | None):
    """Hand step processes (and, through dagstermill, notebook kernels) only the snapshot rows
    of the run's streams instead of the whole control-table snapshot.

    The snapshot rides in the repository load data that Dagster passes to every step process
    and that dagstermill writes into every notebook's parameters: at 10,000 processes that is
    6 MB per notebook, parsed by every kernel and stored with every executed notebook.
    Returns the execution plan to run (with the same scoped load data)."""
    from dagster._core.definitions.metadata.metadata_value import (
        CodeLocationReconstructionMetadataValue,
    )

    from llm_assets.control.models import ControlSnapshot
    from llm_assets.factory.build import SNAPSHOT_KEY

    job = plan_context.reconstructable_job
    load_data = job.repository.repository_load_data
    raw = load_data.reconstruction_metadata.get(SNAPSHOT_KEY) if load_data else None
    if raw is None or (streams is None and processes is None):
        return execution_plan
    wrapped = isinstance(raw, CodeLocationReconstructionMetadataValue)
    snapshot = ControlSnapshot.from_json(raw.data if wrapped else raw)
    if streams is None:  # an asset selection: the streams of the selected processes
        streams = {snapshot.group_by_name[p.prcs_grp].strem_nm for p in snapshot.processes
                   if p.prcs_nm in processes and p.prcs_grp in snapshot.group_by_name}
    text = snapshot.for_streams(streams).to_json()
    value = CodeLocationReconstructionMetadataValue(text) if wrapped else text
    scoped = load_data._replace(reconstruction_metadata={
        **load_data.reconstruction_metadata, SNAPSHOT_KEY: value})
    # the orchestration context's job is what the executor sends to each step process
    plan_context._plan_data = plan_context._plan_data._replace(  # noqa: SLF001
        job=job._replace(repository=job.repository._replace(repository_load_data=scoped)))
    return execution_plan._replace(repository_load_data=scoped)


def _stop_forkserver() -> None:
    """Stop this process's forkserver after a run.

    Python keeps one forkserver per process, and a forked step inherits the server's
    environment, which holds the scope of the run that started it.  A second run in the same
    process (`llm-assets run a b`, tests) must start its own server with its own scope.
    `_stop` is CPython's private helper: if it is missing, stopping is skipped.  That does not
    break a one-run-per-process worker (Dagster's run workers), only the reuse above.
    """
    import multiprocessing.forkserver as forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()


@dg.executor(
    name="multiprocess",
    config_schema=MULTI_PROC_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def scoped_multiprocess_executor(init_context) -> MultiprocessExecutor:
    """`multiprocess` with the same config; step processes build only their run's streams."""
    config = dict(init_context.executor_config)
    if not config.get("start_method"):
        # step processes fork from a server that has already imported Dagster and llm_assets
        # (imports only: nothing is read at import), instead of each importing them again
        config["start_method"] = {"forkserver": {"preload_modules": list(PRELOAD_MODULES)}}
    base = _core_multiprocess_executor_creation(config)
    scoped = _ScopedMultiprocessExecutor.__new__(_ScopedMultiprocessExecutor)
    scoped.__dict__.update(base.__dict__)
    return scoped
