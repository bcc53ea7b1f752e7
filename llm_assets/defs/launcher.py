"""The run launcher of the project's Dagster instance (deploy/dagster.yaml): Dagster's
`DefaultRunLauncher`, except that a run of a code location started on this host (`dagster
dev`, `make dev`) gets its own run worker process that knows its run.

Dagster's default launcher asks the code server to start the run worker: a process spawned
by the code server, which cannot tell it which run it serves before it loads the code
location, so it builds the whole location (about 14 s at 10,000 processes) to execute one
stream.  This launcher starts the run worker instead as `dagster api execute_run` (what the
K8sRunLauncher runs in a run pod) with the run's scope in its environment:
DAGSTER_RUN_JOB_NAME (the stream's job; as in Kubernetes run pods) and, for an ad-hoc asset
selection, LLM_ASSETS_SCOPE_PROCESSES.  The run worker then builds only that part
(llm_assets.core.scope) from the reconstruction metadata stored with the run's execution plan:
it reads no control table.

A code location served by a code server elsewhere (a workspace `grpc_server` entry with a
host name: the compose stack) keeps Dagster's default behaviour: its code server starts the
run worker.  `dagster dev` serves the location on a local socket: runs here.  A run this
launcher started is terminated with SIGTERM (Dagster's run worker stops its steps and marks the
run canceled), from any process on the same host (webserver or daemon).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading

import dagster as dg

from llm_assets.core.names import SCOPE_PROCESSES_ENV, SCOPE_STREAMS_ENV
from llm_assets.core.scope import JOB_NAME_ENV, scope_for

PID_TAG = "llm_assets/run_worker_pid"
HOST_TAG = "llm_assets/run_worker_host"


def run_worker_env(run: dg.DagsterRun) -> dict[str, str]:
    """This process's environment plus the run's scope."""
    env = {k: v for k, v in os.environ.items()
           if k not in (SCOPE_STREAMS_ENV, SCOPE_PROCESSES_ENV, JOB_NAME_ENV)}
    env[JOB_NAME_ENV] = run.job_name
    scope = scope_for(run.job_name, run.asset_selection)
    if scope.processes:
        env[SCOPE_PROCESSES_ENV] = ",".join(sorted(scope.processes))
    return env


class ScopedRunLauncher(dg.DefaultRunLauncher):
    """Dagster's default run launcher; a run of a code location on this host runs in its own
    `dagster api execute_run` process that builds only the run's streams."""

    def launch_run(self, context) -> None:
        from llm_assets.compat import execute_run_command, location_on_this_host

        run = context.dagster_run
        if not location_on_this_host(run) or run.job_code_origin is None:
            super().launch_run(context)
            return
        origin = run.job_code_origin
        pointer = origin.repository_origin.code_pointer
        cwd = getattr(pointer, "working_directory", None) or os.getcwd()
        proc = subprocess.Popen(execute_run_command(run, self._instance.get_ref()),
                                env=run_worker_env(run), cwd=cwd, start_new_session=True)
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(proc.pid),
                                                 HOST_TAG: socket.gethostname()})
        self._run_ids.add(run.run_id)
        # reap it when it ends (no zombie left behind by a long-lived daemon)
        threading.Thread(target=proc.wait, name=f"run-worker-{run.run_id[:8]}",
                         daemon=True).start()

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id) if self.has_instance else None
        if run is None or PID_TAG not in run.tags:
            return super().terminate(run_id)
        if run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        pid = int(run.tags[PID_TAG])
        if run.tags.get(HOST_TAG) != socket.gethostname() or not _is_run_worker(pid, run_id):
            self._instance.report_engine_event(
                f"Run worker pid {pid} on {run.tags.get(HOST_TAG)} is not a process of this "
                "host: it cannot be signalled from here.", run, cls=self.__class__)
            return False
        os.kill(pid, signal.SIGTERM)
        return True


def _is_run_worker(pid: int, run_id: str) -> bool:
    """The process `pid` is still the run worker of `run_id` (not a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().decode(errors="replace")
    except OSError:
        return False
    return "execute_run" in command and run_id in command
