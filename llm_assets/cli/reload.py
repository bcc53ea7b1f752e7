"""`llm-assets reload`: reload the Dagster code location now (what the reload sensor does on a
control-table change), so the UI shows the current rows without restarting anything."""

from __future__ import annotations

import click


@click.command("reload")
@click.option("--url", envvar="LLM_ASSETS_WEBSERVER_URL", default=None,
              help="GraphQL endpoint of dagster-webserver "
                   "[env LLM_ASSETS_WEBSERVER_URL; default http://127.0.0.1:3000/graphql]")
@click.option("--location", default="llm_assets", show_default=True,
              help="name of the code location in the workspace")
def reload_cmd(url: str | None, location: str) -> None:
    """Reload the Dagster code location so the UI shows the current control tables."""
    from llm_assets.defs.reload import reload_location
    from llm_assets.store.fingerprint import database_fingerprint

    fingerprint = database_fingerprint()
    outcome = reload_location(url, location)
    click.echo(outcome.summary())
    click.echo(f"control tables fingerprint: {fingerprint.value}")
