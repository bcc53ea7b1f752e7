"""Sensors of the code location (log mirror and control-table reload come here)."""

from __future__ import annotations


def default_sensors() -> list:
    return []


def mirror_after_cli_run(instance, run_id: str) -> None:
    """Write the log rows of a run launched by `llm-assets run` (filled in by the log mirror)."""
    return None
