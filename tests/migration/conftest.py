"""Fixtures of the migration tests: a database holding the original framework's control
schema (`cntl`, tests/fixtures/legacy/) next to a migrated cntl_af."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_assets.core.names import SCHEMA
from llm_assets.store import migrations
from llm_assets.store.legacy_rules import SPECS
from tests.support.pg import execute

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
LEGACY_NOTEBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks" / "legacy"


def load_legacy(url: str, *files: str) -> None:
    """The original schema and the given row files of tests/fixtures/legacy/."""
    for name in ("cntl_schema.sql", *files):
        migrations.run_sql_file(LEGACY / name, url)


def counts(url: str, schema: str = SCHEMA) -> dict[str, int]:
    """Rows per table of `schema` (cntl_af, or the legacy cntl with its own table names)."""
    out = {}
    for spec in SPECS:
        table = spec.table if schema == SCHEMA else spec.legacy
        out[table] = execute(url, f"SELECT count(*) FROM {schema}.{table}")[0][0]
    return out


def row_versions(url: str, schema: str = SCHEMA) -> dict[str, list]:
    """Every row of every table with its xmin: any insert, update or delete changes this."""
    out = {}
    for spec in SPECS:
        table = spec.table if schema == SCHEMA else spec.legacy
        out[table] = sorted(map(str, execute(url, f"SELECT xmin, t.* FROM {schema}.{table} t")))
    return out


@pytest.fixture
def legacy_url(pg_url) -> str:
    """The control database: migrated cntl_af, and the original schema with its rows (the
    realistic rows and one row per rejected case)."""
    migrations.upgrade(pg_url)
    load_legacy(pg_url, "rows.sql", "bad_rows.sql")
    return pg_url
