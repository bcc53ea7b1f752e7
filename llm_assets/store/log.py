"""CNTL_CFG_LOG writer and reader (the rows: llm_assets.core.log_rows).

Writes are idempotent upserts on (run_id, prcs_nm) (`sql/log_upsert.sql`), batched with
`execute_values` in one transaction.
"""

from __future__ import annotations

from dataclasses import astuple

from llm_assets.core.errors import ServiceUnavailable
from llm_assets.core.log_rows import FAILED, LogRow, dedupe
from llm_assets.store.connection import connect, redact, sql_text


def write_rows(url: str, rows: list[LogRow], page_size: int = 500) -> int:
    """Upsert `rows` in one transaction; return how many distinct (run, process) were sent.

    Raises ServiceUnavailable naming the database when it cannot be reached or the write
    fails: nothing is committed then, and the caller must not consider the rows written."""
    import psycopg2
    from psycopg2.extras import execute_values

    unique = dedupe(rows)
    if not unique:
        return 0
    try:
        with connect(url) as conn, conn.cursor() as cur:
            execute_values(cur, sql_text("log_upsert"), [astuple(r) for r in unique],
                           page_size=page_size)
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as err:
        runs = sorted({r.run_id for r in unique})
        raise ServiceUnavailable(
            f"writing {len(unique)} cntl_af.cntl_cfg_log row(s) of run(s) "
            f"{', '.join(runs[:3])}{' ...' if len(runs) > 3 else ''} to the control database "
            f"{redact(url)} failed: {str(err).strip()}. Nothing was committed; start the "
            "database (`llm-assets up`) and the next mirror tick writes them."
        ) from err
    except psycopg2.errors.UndefinedTable as err:
        raise ServiceUnavailable(
            f"table cntl_af.cntl_cfg_log does not exist in {redact(url)}: "
            "run `llm-assets db upgrade`"
        ) from err
    return len(unique)


def read_rows(url: str | None, *, stream: str | None = None, process: str | None = None,
              failed: bool = False, limit: int = 20) -> list[dict]:
    """The most recent log rows, optionally filtered: newest run first, and inside a run the
    latest process first (processes that never started on top)."""
    params = {"stream": stream, "process": process, "failed": failed,
              "failed_status": FAILED, "limit": limit}
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql_text("log_recent"), params)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
