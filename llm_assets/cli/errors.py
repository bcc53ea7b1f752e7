"""How the CLI reports llm_assets errors: one clear line and exit status 2, no traceback."""

from __future__ import annotations

import sys

import click

from llm_assets.core.errors import LlmAssetsError


class Group(click.Group):
    """Turn llm_assets errors into one clear line and exit status 2 (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LlmAssetsError as err:
            click.secho(f"error: {err}", fg="red", err=True)
            sys.exit(2)
