"""`llm-assets db`: schema migrations and rows."""

from __future__ import annotations

import sys
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


_SHOWN = 50  # rows listed per table and action; the rest are counted


def _plan_lines(result) -> list[str]:
    """The plan, row by row (rejections and warnings always in full), then the summary."""
    plan = result.plan
    lines = []
    for table in plan.tables:
        for action in ("insert", "update", "delete"):
            changes = [c for c in table.changes if c.action == action]
            lines += [f"  {action:7s}{c}" for c in changes[:_SHOWN]]
            if len(changes) > _SHOWN:
                lines.append(f"  {action:7s}... and {len(changes) - _SHOWN} more "
                             f"{table.spec.table} rows")
    rejected, warnings = plan.rejected, plan.warnings
    if rejected:
        lines += ["", f"rejected ({len(rejected)}: not imported)"]
        lines += [f"  {c}" for c in rejected]
    if warnings:
        lines += ["", f"warnings ({len(warnings)}: imported, but see the fix)"]
        lines += [f"  {c}" for c in warnings]
    header = ("table", "from", "insert", "update", "delete", "unchanged", "merged", "reject")
    rows = [(t.spec.table, f"{result.schema}.{t.spec.legacy}",
             *(str(t.count(a)) for a in ("insert", "update", "delete")), str(t.unchanged),
             str(t.merged), str(t.count("reject"))) for t in plan.tables]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines += ["", "summary"]
    for row in (header, *rows):
        lines.append("  " + "  ".join(v.ljust(w) if i < 2 else v.rjust(w)
                                       for i, (v, w) in enumerate(zip(row, widths, strict=True))))
    return lines


@db.command("import-legacy")
@click.option("--schema", default="cntl", show_default=True,
              help="the original framework's control schema")
@click.option("--from", "source_url", metavar="URL",
              help="its database, when it is not the control database (a Postgres URL)")
@click.option("--dry-run", is_flag=True, help="print the plan; write nothing")
@click.option("--strict", is_flag=True, help="write nothing if any row is rejected")
def db_import_legacy(schema: str, source_url: str | None, dry_run: bool, strict: bool) -> None:
    """Import the original framework's control rows (schema cntl: Airflow + papermill) into
    cntl_af, in one transaction. Re-runnable: unchanged rows are left alone, rows changed
    there since are updated. The original schema is only read. Exit 1 if a row is rejected."""
    from llm_assets.store.legacy import import_legacy

    result = import_legacy(schema, source_url, dry_run=dry_run, strict=strict)
    click.echo(f"import schema {result.schema} of {result.source} into cntl_af of "
               f"{result.target}"
               + (" (dry run: nothing is written)" if dry_run else ""))
    for line in _plan_lines(result):
        click.echo(line)
    rejected = len(result.plan.rejected)
    if result.written:
        note = f"; {rejected} row(s) rejected, the rest imported" if rejected else ""
        click.echo(f"\nimported in one transaction{note}. Next: `llm-assets validate`")
    elif dry_run:
        click.echo("\ndry run: nothing written")
    else:
        click.echo(f"\n--strict: {rejected} row(s) rejected, nothing written")
    sys.exit(1 if rejected else 0)
