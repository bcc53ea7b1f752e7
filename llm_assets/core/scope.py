"""Reconstruction scope: which streams or processes a step process or notebook kernel builds.

A process that runs one step (or one notebook) needs the definitions of its run's streams
only, so its start-up cost does not grow with the number of processes.  The scope travels in
the environment, which child processes inherit:

- LLM_ASSETS_SCOPE_STREAMS: streams of the run (set by the run worker's executor, by
  `llm-assets worker` per Celery task);
- LLM_ASSETS_SCOPE_PROCESSES: processes (a notebook kernel: its process; an ad-hoc asset
  selection: the selected processes);
- DAGSTER_RUN_JOB_NAME / DAGSTER_RUN_STEP_KEY: set by Dagster's Kubernetes executor and run
  launcher in step and run pods; a stream job's name is its stream.

Scoping applies only to reconstruction (code-location initialization always builds it all);
dependencies on processes outside the scope stay as asset keys.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from llm_assets.core.names import SCOPE_PROCESSES_ENV, SCOPE_STREAMS_ENV

JOB_NAME_ENV = "DAGSTER_RUN_JOB_NAME"
STEP_KEY_ENV = "DAGSTER_RUN_STEP_KEY"


@dataclass(frozen=True)
class Scope:
    streams: frozenset[str] | None = None     # None: every stream
    processes: frozenset[str] | None = None   # None: every process of the streams

    @property
    def everything(self) -> bool:
        return self.streams is None and self.processes is None

    def describe(self) -> str:
        parts = [f"{kind} {','.join(sorted(values))}" for kind, values in
                 (("streams", self.streams), ("processes", self.processes)) if values is not None]
        return "; ".join(parts) or "everything"


def _names(value: str | None) -> frozenset[str] | None:
    return frozenset(v for v in value.split(",") if v) if value else None


def current_scope(environ: dict | None = None) -> Scope:
    """The scope this process may limit its reconstruction to."""
    env = os.environ if environ is None else environ
    streams, processes = _names(env.get(SCOPE_STREAMS_ENV)), _names(env.get(SCOPE_PROCESSES_ENV))
    if streams is None and processes is None:
        job = env.get(JOB_NAME_ENV)
        if job and not job.startswith("__"):
            streams = frozenset({job})
        elif job and env.get(STEP_KEY_ENV):  # an asset selection: the step's process
            processes = frozenset({env[STEP_KEY_ENV]})
    return Scope(streams, processes)


@contextmanager
def scoped_env(name: str, values: set[str] | frozenset[str] | None) -> Iterator[None]:
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


def scope_for(job_name: str, asset_selection=None) -> Scope:
    """The scope of a run of `job_name` (a stream job: that stream; Dagster's ad-hoc asset job:
    the selected processes; anything else: everything)."""
    if not job_name.startswith("__"):
        return Scope(streams=frozenset({job_name}))
    if asset_selection:
        return Scope(processes=frozenset(k.to_user_string() for k in asset_selection))
    return Scope()


def export_scope(scope: Scope) -> None:
    """Put the scope into this process's environment, for the step processes it starts."""
    for name, values in ((SCOPE_STREAMS_ENV, scope.streams),
                         (SCOPE_PROCESSES_ENV, scope.processes)):
        if values:
            os.environ[name] = ",".join(sorted(values))
        else:
            os.environ.pop(name, None)
