"""`llm-assets datalake put|ls|get` (filled in by the data-lake work)."""

from __future__ import annotations

import click


@click.group("datalake")
def datalake_cmd() -> None:
    """Upload source files to and fetch results from the data lake."""
