"""`llm-assets reload` (filled in by issue 7)."""

from __future__ import annotations

import click


@click.command("reload")
def reload_cmd() -> None:
    """Reload the Dagster code location so the UI shows the current control tables."""
    raise click.ClickException("not implemented yet")
