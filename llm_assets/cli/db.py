"""`llm-assets db`: schema migrations and rows."""

from __future__ import annotations

from pathlib import Path

import click

from llm_assets.cli.errors import Group


@click.group(cls=Group)
def db() -> None:
    """Schema migrations and demo rows."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the versioned migrations in sql/migrations that are not applied yet."""
    from llm_assets.store import migrations

    applied = migrations.upgrade()
    click.echo(f"applied {', '.join(applied)}" if applied else "schema is up to date")


@db.command("seed")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def db_seed(files: tuple[str, ...]) -> None:
    """Load the demo rows (sql/seed/*.sql), or the given SQL files. Re-runnable."""
    from llm_assets.core import settings
    from llm_assets.store import migrations

    paths = [Path(f) for f in files] or sorted((settings.sql_dir() / "seed").glob("*.sql"))
    for path in paths:
        migrations.run_sql_file(path)
        click.echo(f"loaded {path.name}")


@db.command("status")
def db_status() -> None:
    """List applied migrations."""
    from llm_assets.store import migrations

    for version, name, when in migrations.applied():
        click.echo(f"{version}  {name:30s} {when}")


