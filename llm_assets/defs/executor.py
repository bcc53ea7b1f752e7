"""The executor of every stream job: Dagster's multiprocess executor (same config), with the
run's scope exported to its step processes and a forkserver that preloads Dagster and
llm_assets.  Built from public API only (`dg.multiprocess_executor`'s own creation function).

Step processes inherit the scope (llm_assets.core.scope) and build only their run's streams
(an ad-hoc asset selection: its processes), so their start-up does not grow with the number
of processes.  They fork from a forkserver that has already imported Dagster, llm_assets and
the notebook runner (about 1 s less per step on 2 cores); the forkserver keeps the
environment it started with, so a second run with another scope in the same process (tests,
`llm-assets run a b`) starts its steps with `spawn` instead of inheriting a stale scope.

With the forkserver, the run also gets a kernel server (llm_assets.runtime.kernels): a child of
the forkserver that keeps notebook kernels pre-started (one per step slot, while notebook
steps remain), so a notebook step claims a ready kernel instead of starting one.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from llm_assets.compat import pass_tagged_steps
from llm_assets.core.names import BARRIER_TAG, STEP_PRELOAD_ENV
from llm_assets.core.scope import Scope, export_scope, scope_for, scoped_env
from llm_assets.defs.wrapped_executor import WrappedExecutor
from llm_assets.runtime.kernels import KERNEL_PRELOAD, KernelServer, warm_kernels

# imported once per run by the forkserver instead of once per step (imports only: nothing is
# read at import): Dagster, llm_assets (with what a step builds: the control-tables component,
# the resources' backends), what the notebook runner uses, the Postgres storage of the
# instance, and what a notebook kernel imports (its kernels are children of the forkserver)
PRELOAD_MODULES = ("dagster", "llm_assets.definitions", "llm_assets.runtime.runner",
                   "llm_assets.defs.control_tables_component", "llm_assets.backends.profile",
                   "llm_assets.backends.datalake", "llm_assets.backends.llm",
                   "llm_assets.backends.embeddings", "llm_assets.backends.vectorstore.pgvector",
                   "dagstermill.factory", "scrapbook", "nbconvert",
                   "dagster_postgres", "sqlalchemy.dialects.postgresql.psycopg2",
                   "psycopg2.extras", "upath.core", "upath.implementations.local",
                   "fsspec.implementations.local", "dotenv", "tomlkit",
                   "watchdog.observers.polling",
                   *KERNEL_PRELOAD,
                   # last: builds the run's job definition in the forkserver (after the imports)
                   "llm_assets.defs.step_preload")
NOTEBOOK_KIND = "ipynb"  # the asset kind of a notebook process (llm_assets/defs/assets.py)

_forkserver_scope: list[Scope] = []  # the scope the forkserver of this process started with


def run_scope(job) -> Scope:
    """The scope of the run about to execute `job` (an IJob: the run's job)."""
    return scope_for(job.get_definition().name, getattr(job, "asset_selection", None))


def _start_method(config: dict, scope: Scope) -> dict:
    if config.get("start_method"):
        return config["start_method"]
    if _forkserver_scope and _forkserver_scope[0] != scope:
        return {"spawn": {}}
    _forkserver_scope[:1] = [scope]
    return {"forkserver": {"preload_modules": list(PRELOAD_MODULES)}}


def step_slots(config: dict) -> int:
    """How many steps Dagster's multiprocess executor runs at once (its own rule)."""
    configured = config.get("max_concurrent") or os.environ.get(
        "DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT")
    return int(configured) if configured else multiprocessing.cpu_count()


class KernelServingExecutor(WrappedExecutor):
    """Dagster's multiprocess executor, plus the run's kernel server from just before the
    first step starts until the last one ended."""

    def __init__(self, inner: dg.Executor, slots: int):
        super().__init__(inner)
        self._slots = slots

    def execute(self, plan_context, execution_plan):
        server = None
        try:
            with _prebuilt_in_forkserver(plan_context, execution_plan):
                for event in self._inner.execute(plan_context, execution_plan):
                    if server is None:  # the executor has set the forkserver's preload by now
                        server = _kernel_server(plan_context, execution_plan, self._slots)
                    yield event
        finally:
            if server is not None:
                server.stop()


@contextmanager
def _prebuilt_in_forkserver(plan_context, execution_plan) -> Iterator[None]:
    """Name, for the forkserver about to start, the reconstructable job the run's step
    processes receive (llm_assets.defs.step_preload builds it there once).  A forkserver
    already running (an earlier run of this process with the same scope) keeps what it has:
    its steps then build the definitions themselves, as before."""
    recon_job = plan_context.reconstructable_job.with_repository_load_data(
        execution_plan.repository_load_data)
    folder = tempfile.mkdtemp(prefix="llm-assets-steps-")  # private: mode 0700
    path = os.path.join(folder, "job.pickle")
    with open(path, "wb") as handle:
        pickle.dump(recon_job, handle)
    try:
        with scoped_env(STEP_PRELOAD_ENV, {path}):  # one value: the variable holds the path
            yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _kernel_server(plan_context, execution_plan, slots: int) -> KernelServer:
    job = plan_context.job.get_definition()
    notebooks = sum(1 for key in execution_plan.step_keys_to_execute
                    if job.asset_layer.has(dg.AssetKey(key))
                    and NOTEBOOK_KIND in job.asset_layer.get(dg.AssetKey(key)).kinds)
    recon_job = plan_context.reconstructable_job.with_repository_load_data(
        execution_plan.repository_load_data)
    server = KernelServer(plan_context.run_id, budget=notebooks,
                          warm=min(warm_kernels(slots), notebooks), recon_job=recon_job)
    server.start(multiprocessing.get_context("forkserver"))
    return server


def _create(init_context: dg.InitExecutorContext) -> dg.Executor:
    pass_tagged_steps(BARRIER_TAG)  # tier gates: passed by the run worker, no step process
    scope = run_scope(init_context.job)
    export_scope(scope)
    config = dict(init_context.executor_config)
    start_method = _start_method(config, scope)
    config["start_method"] = start_method
    stock = dg.multiprocess_executor
    assert stock.executor_creation_fn is not None
    executor = stock.executor_creation_fn(dg.InitExecutorContext(
        job=init_context.job, executor_def=init_context.executor_def, executor_config=config,
        instance=init_context.instance))
    if "forkserver" not in start_method:  # spawn: no preloaded interpreter to fork
        return executor
    return KernelServingExecutor(executor, step_slots(config))


def executor_definition() -> dg.ExecutorDefinition:
    """The executor of every stream job, chosen by LLM_ASSETS_EXECUTOR: `multiprocess`
    (default: steps in processes of the run worker), `celery` (dagster-celery: steps on
    `llm-assets worker` processes, llm_assets.defs.celery) or `k8s` (dagster-k8s: a
    Kubernetes job per step; step pods build only their run's streams from
    DAGSTER_RUN_JOB_NAME, llm_assets.core.scope)."""
    from llm_assets.defs.broker import executor_kind

    kind = executor_kind()
    if kind == "celery":
        from llm_assets.defs.celery import celery_step_executor

        return celery_step_executor()
    if kind == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return scoped_multiprocess_executor


scoped_multiprocess_executor = dg.ExecutorDefinition(
    name="multiprocess",
    config_schema=dg.multiprocess_executor.config_schema,  # type: ignore[arg-type]
    requirements=dg.multiprocess_executor.get_requirements,
    executor_creation_fn=_create,
    description="Dagster's multiprocess executor; step processes build only their run's "
                "streams and fork from a server that preloads Dagster and llm_assets.",
)
