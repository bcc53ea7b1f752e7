"""The executor of every stream job: Dagster's multiprocess executor (same config), with the
run's scope exported to its step processes and a forkserver that preloads Dagster and
llm_assets.  Built from public API only (`dg.multiprocess_executor`'s own creation function).

Step processes inherit the scope (llm_assets.core.scope) and build only their run's streams
(an ad-hoc asset selection: its processes), so their start-up does not grow with the number
of processes.  They fork from a forkserver that has already imported Dagster, llm_assets and
the notebook runner (about 1 s less per step on 2 cores); the forkserver keeps the
environment it started with, so a second run with another scope in the same process (tests,
`llm-assets run a b`) starts its steps with `spawn` instead of inheriting a stale scope.
"""

from __future__ import annotations

import dagster as dg

from llm_assets.compat import run_tagged_steps_in_process
from llm_assets.core.names import BARRIER_TAG
from llm_assets.core.scope import Scope, export_scope, scope_for

# imported once per run by the forkserver instead of once per step (imports only: nothing is
# read at import): Dagster, llm_assets, what the notebook runner uses, the Postgres storage
PRELOAD_MODULES = ("dagster", "llm_assets.definitions", "llm_assets.runtime.runner",
                   "dagstermill.factory", "scrapbook", "nbconvert",
                   "dagster_postgres", "sqlalchemy.dialects.postgresql.psycopg2")

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


def _create(init_context: dg.InitExecutorContext) -> dg.Executor:
    run_tagged_steps_in_process(BARRIER_TAG)  # tier gates: no step process of their own
    scope = run_scope(init_context.job)
    export_scope(scope)
    config = dict(init_context.executor_config)
    config["start_method"] = _start_method(config, scope)
    stock = dg.multiprocess_executor
    assert stock.executor_creation_fn is not None
    return stock.executor_creation_fn(dg.InitExecutorContext(
        job=init_context.job, executor_def=init_context.executor_def, executor_config=config,
        instance=init_context.instance))


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
