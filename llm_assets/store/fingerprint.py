"""The rows fingerprint of the control tables as they are in Postgres (one query); see
`llm_assets.core.fingerprint` for what it covers."""

from __future__ import annotations

from llm_assets.core.fingerprint import COLUMN_SEP, NULL, ROW_SEP, Fingerprint, columns
from llm_assets.core.names import CONTROL_TABLES, SCHEMA
from llm_assets.store.connection import connect


def fingerprint_sql() -> str:
    """One SELECT returning `count:md5` for each table, in CONTROL_TABLES order (generated
    from the row models, so it cannot drift from `snapshot_fingerprint`)."""
    selects = []
    for name, table in CONTROL_TABLES.items():
        row = ", ".join(f"coalesce({c}::text, '{NULL}')" for c in columns(name))
        selects.append(
            f"(SELECT count(*) || ':' || md5(coalesce(string_agg(r, chr({ord(ROW_SEP)})"
            f' ORDER BY r COLLATE "C"), \'\'))'
            f" FROM (SELECT concat_ws(chr({ord(COLUMN_SEP)}), {row}) AS r"
            f" FROM {SCHEMA}.{table}) AS t) AS {name}"
        )
    return "SELECT " + ",\n       ".join(selects)


def database_fingerprint(url: str | None = None) -> Fingerprint:
    """The rows fingerprint of the control tables as they are now."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(fingerprint_sql())
        values = cur.fetchone()
    parts = {}
    for name, value in zip(CONTROL_TABLES, values, strict=True):
        count, _, digest = value.partition(":")
        parts[name] = (int(count), digest)
    return Fingerprint.of(parts)
