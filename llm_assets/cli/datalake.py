"""`llm-assets datalake put|ls|get`: the data lake of the current profile from the shell."""

from __future__ import annotations

from pathlib import Path

import click


def _lake():
    """The profile's data lake resource, with its EnvVar fields resolved from the environment."""
    import dagster as dg

    from llm_assets.backends.profile import resources_for_profile

    resources = resources_for_profile()
    with dg.build_resources({k: resources[k] for k in ("datalake",)}) as built:
        return built.datalake


@click.group("datalake")
def datalake_cmd() -> None:
    """Upload source files to and fetch results from the data lake."""


@datalake_cmd.command("put")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("key")
def put(source: str, key: str) -> None:
    """Upload SOURCE under KEY (e.g. raw/doc_qa/manual.pdf)."""
    stored = _lake().put_bytes(key, Path(source).read_bytes())
    click.echo(f"stored {stored}")


@datalake_cmd.command("ls")
@click.argument("prefix", default="")
def ls(prefix: str) -> None:
    """List keys under PREFIX."""
    for key in _lake().list(prefix):
        click.echo(key)


@datalake_cmd.command("get")
@click.argument("key")
@click.argument("dest", required=False, type=click.Path(dir_okay=False))
def get(key: str, dest: str | None) -> None:
    """Fetch KEY into DEST (default: the key's file name in the current directory)."""
    try:
        data = _lake().get_bytes(key)
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from err
    target = Path(dest or Path(key).name)
    target.write_bytes(data)
    click.echo(f"wrote {target} ({len(data)} bytes)")


@datalake_cmd.command("url")
@click.argument("key")
def url(key: str) -> None:
    """Print a fresh link to KEY a browser opens (S3: presigned on
    LLM_ASSETS_S3_PUBLIC_ENDPOINT, valid 7 days; local profile: the file's URI)."""
    lake = _lake()
    if not lake.exists(key):
        raise click.ClickException(f"no object {key!r} in the data lake ({lake.describe()})")
    click.echo(lake.url(key))


@datalake_cmd.command("serve-links")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3001, show_default=True, type=int)
def serve_links(host: str, port: int) -> None:
    """Serve stable links to executed notebooks and exports: GET /<key> (under runs/ or
    export/) redirects to a fresh presigned URL on LLM_ASSETS_S3_PUBLIC_ENDPOINT, so a link
    in the UI never expires.  Point LLM_ASSETS_LINKS_URL at this server's address as the
    browser reaches it."""
    from llm_assets.cli.links import serve

    serve(_lake(), host, port)
