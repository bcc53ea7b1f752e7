"""Run the project's own commands (llm-assets, dagster) as a user would, in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
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
