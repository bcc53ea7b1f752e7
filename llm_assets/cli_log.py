"""`llm-assets log`: recent outcomes from CNTL_CFG_LOG (filled in by the log-mirror work)."""

from __future__ import annotations

import click


@click.command("log")
def log_cmd() -> None:
    """Print recent process outcomes."""
    raise click.ClickException("not implemented yet")
