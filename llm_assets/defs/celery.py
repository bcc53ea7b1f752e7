"""Steps on Celery workers: dagster-celery's executor and task, unchanged, with the settings
both sides share, the scope of each task on the worker side and a watch on the run side.

Run worker (LLM_ASSETS_EXECUTOR=celery): `celery_step_executor` creates dagster-celery's
`CeleryExecutor` (its own creation function) with the broker and result backend of
llm_assets.defs.broker, after checking that the broker accepts connections (a run whose broker
is down fails at once, naming the broker and the fix).  Its steps go to the queue of their op
tags (llm_assets.defs.queues).  While the run executes, `WorkerWatch`
(llm_assets.defs.celery_watch) follows the run's tasks and ends a step whose worker died.

Worker (`llm-assets worker`): `worker_app()` is dagster-celery's app with its `execute_plan`
task and the same settings; before each task, Celery's `task_prerun` signal puts the task's
scope (its run's job: a stream, or the processes of an asset selection) into the
environment, so the step builds only its run's streams and its notebook kernel only its
process.  Each step runs in a process forked for it from the preloaded worker
(`worker_max_tasks_per_child=1`), as under the multiprocess executor.  Dagster caches a
reconstructed job per process (`ReconstructableJob.get_definition`, an lru_cache keyed by the
job: code pointer, reconstruction metadata, job name and asset selection); the scope is a
function of that same key, so even a process serving several tasks never reuses a
definition built for another scope.  The reconstruction metadata (the control state) comes
with each task: workers read no control table.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from llm_assets.core import settings
from llm_assets.core.scope import export_scope, scope_for
from llm_assets.defs.broker import backend_url, broker_url
from llm_assets.defs.celery_watch import BEAT_SUFFIX

LOST_AFTER_ENV = "LLM_ASSETS_WORKER_LOST_AFTER"
BEAT_ENV = "LLM_ASSETS_WORKER_BEAT"
WORKER_ENV = "LLM_ASSETS_WORKER"  # the Celery worker a step runs on (its hostname)

# Celery settings of the executor's app and the workers' app (they must agree)
SETTINGS = {
    "task_track_started": True,      # a started task records its worker (the watch needs it)
    "worker_prefetch_multiplier": 1,
    "worker_disable_prefetch": True,  # Redis: take a step only when a process is free, so no
                                      # step waits behind another on a busy worker
    "worker_max_tasks_per_child": 1,  # one forked process per step
    "broker_connection_retry_on_startup": True,
    "result_expires": 7 * 24 * 3600,
    "broker_transport_options": {
        # Redis: ten distinct priorities, 0 served first (llm_assets.defs.queues)
        "priority_steps": list(range(10)),
        "queue_order_strategy": "priority",
        "max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
    },
}


def app_args(broker: str | None = None, backend: str | None = None,
             config_source: dict | None = None) -> dict:
    """The arguments of dagster-celery's `make_app` (as `CeleryExecutor.app_args()` gives)."""
    from dagster_celery.config import DEFAULT_CONFIG, dict_wrapper

    broker = broker or broker_url()
    return {"broker": broker, "backend": backend or backend_url(broker), "include": [],
            "config_source": dict_wrapper({**DEFAULT_CONFIG, **SETTINGS,
                                           **(config_source or {})})}


# ---- run worker: the executor ----------------------------------------------------------
def _config_schema() -> dict:
    from dagster_celery.executor import CELERY_CONFIG

    return {**CELERY_CONFIG,
            "backend": dg.Field(dg.Noneable(dg.StringSource), is_required=False,
                                description="Result backend URL; default LLM_ASSETS_CELERY_"
                                            "BACKEND, else the broker's Redis, database 1.")}


def _create(init_context: dg.InitExecutorContext) -> dg.Executor:
    from dagster_celery import celery_executor

    from llm_assets.defs.celery_watch import WatchedCeleryExecutor

    config: dict[str, Any] = dict(init_context.executor_config)
    config["broker"] = config.get("broker") or broker_url()
    config["backend"] = config.get("backend") or backend_url(config["broker"])
    config["config_source"] = {**SETTINGS, **(config.get("config_source") or {})}
    assert celery_executor.executor_creation_fn is not None
    stock = celery_executor.executor_creation_fn(dg.InitExecutorContext(
        job=init_context.job, executor_def=init_context.executor_def, executor_config=config,
        instance=init_context.instance))
    lost_after = settings.number(LOST_AFTER_ENV, "60", minimum=1)
    return WatchedCeleryExecutor(stock, lost_after=lost_after)


def celery_step_executor() -> dg.ExecutorDefinition:
    """dagster-celery's executor: every step a Celery task on the queue of its op tags."""
    return dg.ExecutorDefinition(
        name="celery",
        config_schema=_config_schema(),
        requirements=dg.multiple_process_executor_requirements(),
        executor_creation_fn=_create,
        description="dagster-celery's executor (llm_assets): steps on `llm-assets worker` "
                    "processes, model steps on queue `llm`; a step whose worker dies fails.",
    )


# ---- worker: the scope and heartbeat of each task ------------------------------------------
class _Beat:
    """While a step runs, its process writes {hostname, pid, beat} every LLM_ASSETS_WORKER_BEAT
    seconds (default 5) into the result backend under `<task id>-beat` (never the task's own
    record, so a late beat cannot hide the step's result).  The run worker's watch ends the
    step when the beat stops (llm_assets.defs.celery_watch)."""

    def __init__(self, task, task_id: str):
        import threading

        self.task, self.task_id = task, task_id
        self.hostname = task.request.hostname  # task.request is per thread: read it here
        self.every = settings.number(BEAT_ENV, "5", minimum=0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="llm-assets-beat", daemon=True)

    def write(self) -> None:
        import time

        from celery import states

        self.task.backend.store_result(
            self.task_id + BEAT_SUFFIX,
            {"hostname": self.hostname, "pid": os.getpid(), "beat": time.time()},
            states.STARTED)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.write()


_beats: dict[str, _Beat] = {}


def _task_started(sender=None, task_id=None, task=None, kwargs=None, **_) -> None:
    """task_prerun (in the process that runs the task): the scope of the task's run, and its
    heartbeat."""
    from dagster_celery.config import TASK_EXECUTE_PLAN_NAME
    from dagster_shared.serdes import unpack_value

    if task is None or task.name != TASK_EXECUTE_PLAN_NAME or not kwargs:
        return
    job: Any = unpack_value(kwargs["executable_dict"])  # a ReconstructableJob
    export_scope(scope_for(job.job_name, job.asset_selection))
    os.environ[WORKER_ENV] = task.request.hostname or ""
    _hand_state_to_kernels(job, task_id)
    beat = _beats[task_id] = _Beat(task, task_id)
    beat.write()
    beat.thread.start()


def _hand_state_to_kernels(job, task_id: str) -> None:
    """dagster-celery builds the step's execution plan without the job's reconstruction
    metadata, so the job dagstermill hands the notebook kernel has none and the kernel would
    read the control tables.  The task's job has it: write the control state to a file the
    kernel finds through LLM_ASSETS_STATE_FILE (removed when the task ends)."""
    import tempfile

    from llm_assets.compat import code_server_state
    from llm_assets.core.names import STATE_FILE_ENV, STATE_KEY

    state = code_server_state(job.repository.repository_load_data, STATE_KEY)
    if state:
        handle, path = tempfile.mkstemp(prefix=f"llm-assets-state-{task_id}-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            out.write(state)
        os.environ[STATE_FILE_ENV] = path


def _task_ended(sender=None, task_id=None, task=None, **_) -> None:
    from llm_assets.core.names import STATE_FILE_ENV
    from llm_assets.core.scope import Scope

    handed = os.environ.pop(STATE_FILE_ENV, None)
    if handed and os.path.exists(handed):
        os.unlink(handed)
    beat = _beats.pop(task_id, None)
    if beat is not None:
        beat.stop.set()
    export_scope(Scope())
    os.environ.pop(WORKER_ENV, None)


def worker_app():
    """dagster-celery's app with its step task, as `llm-assets worker` runs it."""
    from celery import signals
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    app = make_app(app_args())
    create_task(app)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_ended, weak=False)
    return app
