"""An executor that wraps another one (Dagster's multiprocess or dagster-celery's) and adds
something around its `execute`: retries and step dependencies stay the wrapped executor's."""

from __future__ import annotations

from typing import Any

import dagster as dg


class WrappedExecutor(dg.Executor):
    def __init__(self, inner: dg.Executor):
        self._inner: Any = inner  # wrapped executors add their own (dagster-celery: app_args)

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config
