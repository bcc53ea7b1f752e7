"""A step whose Celery worker died ends failed (or is retried), the run goes on.

dagster-celery's executor waits for each step's Celery result; a worker that is killed (or
whose host goes down) never writes one, and the run would wait forever.  `WorkerWatch` runs
beside the executor in the run worker, using Celery's public API only:

- Celery's `after_task_publish` signal tells it the task id of each step of this run;
- every few seconds it reads from the result backend each task's result and heartbeat: the
  process running a step writes `<task id>-beat` (worker name, pid, a counter) every
  LLM_ASSETS_WORKER_BEAT seconds (llm_assets.defs.celery; it dies with its worker, whose
  prefork pool gives each step process PR_SET_PDEATHSIG);
- when a started step's heartbeat has not changed for LLM_ASSETS_WORKER_LOST_AFTER seconds
  (default 60, measured on the run worker's clock) and the task still has no result, the
  step is over: Dagster's executor API
  logs a step failure, or a retry when the process's retry policy (LLM_ASSETS_MAX_RETRIES)
  has attempts left, with a message naming the worker, and the watch stores that event as the
  task's result.  dagster-celery's loop then handles it like any step outcome: dependents
  are skipped (or the step is queued again), other steps keep their outcomes, the run ends.

A worker that shuts down on SIGTERM finishes its running step first (Celery's warm
shutdown) and its step keeps beating meanwhile, so the watch only acts on steps whose
process is gone.  A step still waiting in a queue (no worker on it yet) is not affected.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import dagster as dg

from llm_assets.defs.wrapped_executor import WrappedExecutor

logger = logging.getLogger("llm_assets")
LOST_CLASS = "WorkerLost"
BEAT_SUFFIX = "-beat"  # result-backend record of a running step's heartbeat: <task id>-beat


@dataclass
class _Task:
    step_key: str
    known_state: Any  # KnownExecutionState
    host: str | None = None
    pid: int | None = None
    beat: float | None = None
    last_seen: float | None = None


class WorkerWatch:
    """Follows the Celery tasks of one run and ends the steps of dead workers."""

    def __init__(self, executor: WatchedCeleryExecutor, plan_context, execution_plan,
                 lost_after: float, interval: float | None = None):
        from dagster_celery.make_app import make_app

        self.executor, self.plan_context, self.plan = executor, plan_context, execution_plan
        self.run_id = plan_context.run_id
        self.lost_after = lost_after
        self.interval = interval or max(0.5, min(5.0, lost_after / 4))
        self.app = make_app(executor.app_args())
        self.tasks: dict[str, _Task] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="llm-assets-worker-watch",
                                       daemon=True)

    # -- tasks of this run, from the publishing side ------------------------------------------
    def published(self, sender=None, headers=None, body=None, **_) -> None:
        from dagster_celery.config import TASK_EXECUTE_PLAN_NAME
        from dagster_shared.serdes import unpack_value

        if sender != TASK_EXECUTE_PLAN_NAME or not headers or not body:
            return
        kwargs = body[1] if isinstance(body, (list, tuple)) and len(body) > 1 else {}
        packed = kwargs.get("execute_step_args_packed")
        if not packed:
            return
        args: Any = unpack_value(packed)  # dagster-celery's ExecuteStepArgs
        if args.run_id != self.run_id or not args.step_keys_to_execute:
            return
        with self.lock:
            self.tasks[headers["id"]] = _Task(args.step_keys_to_execute[0], args.known_state)

    def __enter__(self) -> WorkerWatch:
        from celery import signals

        signals.after_task_publish.connect(self.published, weak=False)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        from celery import signals

        self.stopping.set()
        signals.after_task_publish.disconnect(self.published)
        self.thread.join(timeout=self.interval + 10)

    # -- the watch ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a broker hiccup must not stop the watch
                logger.warning("llm_assets: Celery worker watch of run %s: check failed",
                               self.run_id, exc_info=True)

    def check(self) -> None:
        from celery import states


        now = time.monotonic()
        with self.lock:
            items = list(self.tasks.items())
        for task_id, task in items:
            if self.app.AsyncResult(task_id).state in states.READY_STATES:
                self._forget(task_id)
                continue
            beat = self.app.AsyncResult(task_id + BEAT_SUFFIX).info
            if isinstance(beat, dict) and beat.get("beat") is not None:
                if beat["beat"] != task.beat:  # a new beat (compared as written: no clocks)
                    task.beat, task.last_seen = beat["beat"], now
                    task.host, task.pid = beat.get("hostname"), beat.get("pid")
            if task.last_seen is not None and now - task.last_seen >= self.lost_after:
                if self.app.AsyncResult(task_id).state in states.READY_STATES:
                    self._forget(task_id)  # it finished after all
                else:
                    self.lost(task_id, task)

    def _forget(self, task_id: str) -> None:
        with self.lock:
            self.tasks.pop(task_id, None)

    def lost(self, task_id: str, task: _Task) -> None:
        """Log the step's failure (or retry) and hand it to the executor as the task's result."""
        from celery import states
        from dagster_shared.error import SerializableErrorInfo

        message = (f"Celery worker {task.host} stopped while it ran step {task.step_key}: its "
                   f"step process {task.pid} sent no heartbeat for {self.lost_after:g} s "
                   "(LLM_ASSETS_WORKER_LOST_AFTER) and no result; the worker was killed or its "
                   "host is down. The step did not finish there; see the worker's log on its "
                   "host.")
        step = self.plan.get_step_by_key(task.step_key)
        event = self.executor.log_failure_or_retry_event_after_error(
            self.plan_context.for_step(step),
            SerializableErrorInfo(message=message, stack=[], cls_name=LOST_CLASS),
            task.known_state)
        self.app.backend.store_result(task_id, [dg.serialize_value(event)], states.SUCCESS)
        self._forget(task_id)


class WatchedCeleryExecutor(WrappedExecutor):
    """dagster-celery's executor, run with a `WorkerWatch` beside it."""

    def __init__(self, inner, lost_after: float):
        super().__init__(inner)
        self.lost_after = lost_after

    def app_args(self) -> dict:  # read by dagster-celery's loop through the context
        return self._inner.app_args()

    def execute(self, plan_context, execution_plan):
        from llm_assets.defs.broker import check_reachable

        check_reachable(self._inner.broker)  # before any step: fails the run, naming it
        with WorkerWatch(self, plan_context, execution_plan, self.lost_after):
            yield from self._inner.execute(plan_context, execution_plan)
