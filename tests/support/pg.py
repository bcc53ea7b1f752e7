"""Helpers over a real Postgres: load the schema, count control-table reads server-side."""

from __future__ import annotations

import time

import psycopg2

from llm_assets.core import settings
from llm_assets.core.names import CONTROL_TABLES
from llm_assets.store import connection, migrations


def prepare(url: str, *seeds: str) -> None:
    """Apply the migrations and the given seed files (names under sql/seed or paths)."""
    migrations.upgrade(url)
    for seed in seeds:
        path = settings.sql_dir() / "seed" / seed
        migrations.run_sql_file(path if path.exists() else settings.project_dir() / seed, url)


def execute(url: str, sql: str, params=None) -> list:
    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def control_table_reads(url: str, settle: float = 1.5) -> int:
    """Scans (seq + index) of the six configuration tables as Postgres counts them.

    Backends report statistics when they go idle or exit (at most every second), so wait
    until the figure is stable."""
    names = ",".join(f"'{t}'" for t in CONTROL_TABLES.values())
    sql = ("SELECT coalesce(sum(coalesce(seq_scan,0) + coalesce(idx_scan,0)),0) "
           f"FROM pg_stat_user_tables WHERE schemaname='cntl_af' AND relname IN ({names})")
    last, stable_since = None, time.monotonic()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_stat_clear_snapshot()")
                cur.execute(sql)
                value = int(cur.fetchone()[0])
        finally:
            conn.close()
        if value != last:
            last, stable_since = value, time.monotonic()
        elif time.monotonic() - stable_since >= settle:
            return value
        time.sleep(0.25)
    return last
