"""Run the project's own commands (llm-assets, dagster) as a user would, in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def project_env(pg_url: str, home: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "LLM_ASSETS_DATABASE_URL": pg_url,
        "LLM_ASSETS_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "LLM_ASSETS_PROFILE": "local",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    return env


def run(args: list[str], env: dict, timeout: float = 300, check: bool = False,
        cwd: Path | None = None):
    """Run a command as a user would; by default in the test's LLM_ASSETS_HOME (not the repo
    root, whose `.env`, written by a developer's `llm-assets up`, Dagster would load)."""
    tool = args[0]
    exe = BIN / tool if (BIN / tool).exists() else tool
    Path(cwd or env["LLM_ASSETS_HOME"]).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(exe), *args[1:]], env=env, cwd=cwd or env["LLM_ASSETS_HOME"],
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@contextmanager
def project_instance(env: dict) -> Iterator:
    """The Dagster instance of a project environment (its DAGSTER_HOME), opened in this
    process; this process's DAGSTER_HOME is put back afterwards."""
    import dagster as dg

    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if old is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = old


def wait_for(predicate, timeout: float, what: str, every: float = 0.05):
    """The first truthy value of `predicate()`, polled every `every` s; an AssertionError
    naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
