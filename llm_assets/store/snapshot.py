"""Read the control tables into a `ControlSnapshot`: one query per table, no per-row queries.

Inactive rows are read too (still one query per table) so validation can tell "depends on an
inactive process" from "depends on a missing process"; the factory keeps only active rows.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from llm_assets.core.models import ROW_TYPES, ControlSnapshot
from llm_assets.core.names import CONTROL_TABLES, SCHEMA
from llm_assets.store.connection import connect

# (snapshot field, row type, SELECT): the columns are the row model's fields, in order
QUERIES = tuple(
    (name, ROW_TYPES[name],
     f"SELECT {', '.join(f.name for f in fields(ROW_TYPES[name]))} FROM {SCHEMA}.{table}")
    for name, table in CONTROL_TABLES.items()
)


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def load_snapshot(url: str | None = None) -> ControlSnapshot:
    """Read all six configuration tables in one repeatable-read transaction (a consistent view
    even while someone edits rows), ordered by key so equal rows give equal snapshots."""
    tables: dict[str, tuple] = {}
    with connect(url) as conn:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            for name, row_type, sql in QUERIES:
                cur.execute(f"{sql} ORDER BY 1, 2")
                tables[name] = tuple(
                    row_type(*(_iso(v) for v in row)) for row in cur.fetchall()
                )
    return ControlSnapshot(**tables, loaded_at=datetime.now(UTC).isoformat())
