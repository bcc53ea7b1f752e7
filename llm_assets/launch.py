"""Launch a stream's job from Python or the CLI (no daemon needed), then mirror its log rows."""

from __future__ import annotations

import os
from dataclasses import dataclass

from llm_assets import config


@dataclass(frozen=True)
class RunOutcome:
    stream: str
    run_id: str
    success: bool


def ensure_local_env() -> None:
    """Fill the Dagster environment of the local profile for variables not already set."""
    if os.environ.get("LLM_ASSETS_DATABASE_URL") and os.environ.get("DAGSTER_HOME"):
        return
    from llm_assets import services

    if config.profile() == "local" and not os.environ.get("LLM_ASSETS_DATABASE_URL"):
        for key, value in services.local_env().items():
            os.environ.setdefault(key, value)
    os.environ.setdefault("DAGSTER_HOME", str(config.home_dir() / "dagster"))
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)


def run_stream(stream: str, tags: dict | None = None) -> RunOutcome:
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    ensure_local_env()
    repo = ReconstructableRepository.for_module(
        "llm_assets.definitions", "defs", working_directory=str(config.project_dir()))
    job = repo.get_reconstructable_job(stream)
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(job, instance=instance, tags=tags or {})
        outcome = RunOutcome(stream, result.run_id, result.success)
        from llm_assets.sensors import mirror_after_cli_run

        mirror_after_cli_run(instance, result.run_id)
    return outcome
