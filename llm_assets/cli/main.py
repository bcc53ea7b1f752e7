"""The `llm-assets` command: services, database, validation, runs, data lake.

Every command reads settings from the environment (see llm_assets.core.settings).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llm_assets.cli.errors import Group
from llm_assets.core import settings


@click.group(cls=Group)
def main() -> None:
    """llm_assets: LLM-in-the-loop processes from Postgres control tables, run by Dagster."""


# ---- services --------------------------------------------------------------------------
@main.command()
def up() -> None:
    """Start the embedded Postgres (local profile; with LLM_ASSETS_EXECUTOR=celery also the
    embedded Redis); print their URLs. Idempotent."""
    from llm_assets.cli import services

    status = services.up()
    if status.external:
        click.echo("using external Postgres from LLM_ASSETS_DATABASE_URL; nothing started")
    click.echo(status.url)
    if not status.external and (env_file := services.write_project_env()):
        click.echo(f"Dagster settings of this project: {env_file} (read by `dagster` and `dg`)")
    from llm_assets.defs.broker import wants_local_redis

    if wants_local_redis():
        click.echo(f"redis (Celery broker): {services.redis_up().url}")


@main.command()
def down() -> None:
    """Stop the embedded Postgres and, if it runs, the embedded Redis (data is kept)."""
    from llm_assets.cli import services

    if services.redis_status().running:
        services.redis_down()
        click.echo("redis: stopped")
    status = services.down()
    click.echo("external Postgres: nothing to stop" if status.external else "stopped")


@main.command()
def status() -> None:
    """Show whether the control database is running and where."""
    from llm_assets.cli import services

    st = services.status()
    kind = "external" if st.external else f"embedded ({st.data_dir})"
    state = "running" if st.running else "stopped"
    click.echo(f"postgres: {state} [{kind}] {st.url or ''}".rstrip())
    redis = services.redis_status()
    if redis.running or redis.url:
        click.echo(f"redis: {'running' if redis.running else 'stopped'} [embedded] "
                   f"{redis.url or ''}".rstrip())
    from llm_assets.defs.broker import wants_local_redis

    if not st.running or (wants_local_redis() and not redis.running):
        sys.exit(1)


@main.command("env")
def env_cmd() -> None:
    """Print `export` lines for Dagster processes of the local profile (eval them)."""
    import shlex

    from llm_assets.cli import services

    for key, value in services.local_env().items():
        click.echo(f"export {key}={shlex.quote(value)}")


# ---- validation ------------------------------------------------------------------------
@main.command()
@click.option("--snapshot", "snapshot_file", type=click.Path(exists=True, dir_okay=False),
              help="validate a snapshot JSON file instead of the control tables")
def validate(snapshot_file: str | None) -> None:
    """Report every control-table problem in one pass; exit 1 if there is any."""
    from llm_assets.core import settings
    from llm_assets.core.models import ControlSnapshot
    from llm_assets.core.validate import validate as run_validation
    from llm_assets.store.snapshot import load_snapshot

    snapshot = (ControlSnapshot.from_json(Path(snapshot_file).read_text()) if snapshot_file
                else load_snapshot())
    result = run_validation(snapshot, settings.notebooks_dir())
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
    from llm_assets.store.snapshot import load_snapshot

    Path(output).write_text(load_snapshot().to_json())
    click.echo(f"wrote {output}")


# ---- models ----------------------------------------------------------------------------
@main.command()
@click.option("--ollama", is_flag=True,
              help="print only the Ollama model names, one per line (for `ollama pull`)")
def models(ollama: bool) -> None:
    """The distinct embed/gen models named by active processes (and, in the local profile,
    the in-process model each runs as)."""
    from llm_assets.backends.model_map import local_name
    from llm_assets.core.graph import loaded_processes
    from llm_assets.store.snapshot import load_snapshot

    snapshot = load_snapshot()
    used = sorted({(m, kind) for p in loaded_processes(snapshot)
                   for m, kind in ((p.embed_model, "embed"), (p.gen_model, "gen")) if m})
    for name in sorted({m for m, _ in used}):
        if ollama or settings.profile() != "local":
            click.echo(name)
        else:
            kinds = sorted({k for m, k in used if m == name})
            local = ', '.join(local_name(name, k) for k in kinds)  # type: ignore[arg-type]
            click.echo(f"{name}  (local: {local})")


def _register() -> None:
    from llm_assets.cli.datalake import datalake_cmd
    from llm_assets.cli.db import db
    from llm_assets.cli.log import log_cmd
    from llm_assets.cli.reload import reload_cmd
    from llm_assets.cli.run import demo_cmd, run_cmd
    from llm_assets.cli.worker import worker_cmd

    for command in (db, run_cmd, demo_cmd, log_cmd, reload_cmd, datalake_cmd, worker_cmd):
        main.add_command(command)


_register()

if __name__ == "__main__":
    main()
