"""The `llm-assets` command: services, database, validation, runs, data lake.

Every command reads settings from the environment (see llm_assets.config).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llm_assets.errors import LlmAssetsError


class _Group(click.Group):
    """Turn llm_assets errors into one clear line and exit status 2 (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LlmAssetsError as err:
            click.secho(f"error: {err}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Group)
def main() -> None:
    """llm_assets: LLM-in-the-loop processes from Postgres control tables, run by Dagster."""


# ---- services --------------------------------------------------------------------------
@main.command()
def up() -> None:
    """Start the embedded Postgres (local profile); print its URL. Idempotent."""
    from llm_assets import services

    status = services.up()
    if status.external:
        click.echo("using external Postgres from LLM_ASSETS_DATABASE_URL; nothing started")
    click.echo(status.url)


@main.command()
def down() -> None:
    """Stop the embedded Postgres (data is kept)."""
    from llm_assets import services

    status = services.down()
    click.echo("external Postgres: nothing to stop" if status.external else "stopped")


@main.command()
def status() -> None:
    """Show whether the control database is running and where."""
    from llm_assets import services

    st = services.status()
    kind = "external" if st.external else f"embedded ({st.data_dir})"
    state = "running" if st.running else "stopped"
    click.echo(f"postgres: {state} [{kind}] {st.url or ''}".rstrip())
    if not st.running:
        sys.exit(1)


@main.command("env")
def env_cmd() -> None:
    """Print `export` lines for Dagster processes of the local profile (eval them)."""
    import shlex

    from llm_assets import services

    for key, value in services.local_env().items():
        click.echo(f"export {key}={shlex.quote(value)}")


# ---- database --------------------------------------------------------------------------
@main.group(cls=_Group)
def db() -> None:
    """Schema migrations and demo rows."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the versioned migrations in sql/migrations that are not applied yet."""
    from llm_assets import db as database

    applied = database.upgrade()
    click.echo(f"applied {', '.join(applied)}" if applied else "schema is up to date")


@db.command("seed")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def db_seed(files: tuple[str, ...]) -> None:
    """Load the demo rows (sql/seed/*.sql), or the given SQL files. Re-runnable."""
    from llm_assets import config
    from llm_assets import db as database

    paths = [Path(f) for f in files] or sorted((config.sql_dir() / "seed").glob("*.sql"))
    for path in paths:
        database.run_sql_file(path)
        click.echo(f"loaded {path.name}")


@db.command("status")
def db_status() -> None:
    """List applied migrations."""
    from llm_assets import db as database

    for version, name, when in database.applied():
        click.echo(f"{version}  {name:30s} {when}")


# ---- validation ------------------------------------------------------------------------
@main.command()
@click.option("--snapshot", "snapshot_file", type=click.Path(exists=True, dir_okay=False),
              help="validate a snapshot JSON file instead of the control tables")
def validate(snapshot_file: str | None) -> None:
    """Report every control-table problem in one pass; exit 1 if there is any."""
    from llm_assets import config
    from llm_assets.control.load import load_snapshot
    from llm_assets.control.models import ControlSnapshot
    from llm_assets.control.validate import validate as run_validation

    snapshot = (ControlSnapshot.from_json(Path(snapshot_file).read_text()) if snapshot_file
                else load_snapshot())
    result = run_validation(snapshot, config.notebooks_dir())
    for problem in result.problems:
        click.echo(str(problem))
    for stream, _ in result.excluded.items():
        click.echo(f"excluded stream: {stream}")
    loaded = sorted({s.strem_nm for s in snapshot.streams if s.act_f} - set(result.excluded))
    click.echo(f"{len(result.problems)} problem(s); streams that load: "
               f"{', '.join(loaded) or 'none'}")
    sys.exit(1 if result.problems else 0)


@main.command("snapshot")
@click.argument("output", type=click.Path(dir_okay=False))
def snapshot_cmd(output: str) -> None:
    """Write the control tables as a snapshot JSON file (for review, tests or diffing)."""
    from llm_assets.control.load import load_snapshot

    Path(output).write_text(load_snapshot().to_json())
    click.echo(f"wrote {output}")


# ---- runs ----------------------------------------------------------------------------
@main.command("run")
@click.argument("streams", nargs=-1, required=True)
def run_cmd(streams: tuple[str, ...]) -> None:
    """Run the job of each STREAM now (no daemon needed); its log rows are written after."""
    from llm_assets.launch import run_stream

    failed = []
    for stream in streams:
        outcome = run_stream(stream)
        state = "succeeded" if outcome.success else "FAILED"
        click.echo(f"{stream}: run {outcome.run_id} {state}")
        if not outcome.success:
            failed.append(stream)
    sys.exit(1 if failed else 0)


@main.command()
def demo() -> None:
    """Run the demo streams (after `db seed`) and print where their results are."""
    from llm_assets import config
    from llm_assets.launch import run_stream

    streams = ["demo_sales", "doc_qa", "promo_reco"]
    for stream in streams:
        outcome = run_stream(stream)
        click.echo(f"{stream}: run {outcome.run_id} "
                   f"{'succeeded' if outcome.success else 'FAILED'}")
        if not outcome.success:
            click.echo(f"see `llm-assets log --stream {stream} --failed`")
            sys.exit(1)
    exports = ["export/doc_qa/answer.md", "export/promo_reco/report.html",
               "export/promo_reco/recommendations.csv", "export/promo_reco/recommendations.json"]
    if config.profile() == "local":
        lake = config.home_dir() / "datalake"
        click.echo(f"data lake: {lake}")
        for key in exports:
            click.echo(f"  {lake / key}")
        click.echo("log rows: llm-assets log")
    else:
        click.echo("exports (`llm-assets datalake get KEY`): " + ", ".join(exports))


# ---- models ----------------------------------------------------------------------------
@main.command()
@click.option("--ollama", is_flag=True, help="print Ollama model names, one per line")
def models(ollama: bool) -> None:
    """The distinct embed/gen models named by active processes."""
    from llm_assets.control.graph import loaded_processes
    from llm_assets.control.load import load_snapshot

    snapshot = load_snapshot()
    names = sorted({m for p in loaded_processes(snapshot)
                    for m in (p.embed_model, p.gen_model) if m})
    for name in names:
        click.echo(name)


def _register() -> None:
    from llm_assets.cli_datalake import datalake_cmd
    from llm_assets.cli_log import log_cmd
    from llm_assets.cli_reload import reload_cmd

    main.add_command(log_cmd)
    main.add_command(reload_cmd)
    main.add_command(datalake_cmd)


_register()

if __name__ == "__main__":
    main()
