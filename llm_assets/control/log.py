"""CNTL_CFG_LOG writer and reader: one row per run x process.

Writes are idempotent upserts on (run_id, prcs_nm), batched with `execute_values` in one
transaction. A final status (0 success, 99 failed) is never downgraded to 1 (running), so a
late or replayed observation of a run cannot undo its outcome; unchanged rows are not
rewritten (upt_dt keeps the time of the last real change).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date, datetime

from llm_assets.errors import ServiceUnavailable

RUNNING, SUCCESS, FAILED = 1, 0, 99
STATUS_NAMES = {RUNNING: "running", SUCCESS: "success", FAILED: "failed"}
MAX_MESSAGE = 2000

_COLUMNS = ("prcs_nm", "run_id", "data_dt", "start_dt", "end_dt", "status", "message",
            "source_row", "target_row")

_UPSERT = f"""
INSERT INTO cntl_af.cntl_cfg_log AS l ({", ".join(_COLUMNS)}) VALUES %s
ON CONFLICT (run_id, prcs_nm) DO UPDATE SET
    data_dt    = COALESCE(EXCLUDED.data_dt, l.data_dt),
    start_dt   = COALESCE(EXCLUDED.start_dt, l.start_dt),
    end_dt     = COALESCE(EXCLUDED.end_dt, l.end_dt),
    status     = EXCLUDED.status,
    message    = EXCLUDED.message,
    source_row = COALESCE(EXCLUDED.source_row, l.source_row),
    target_row = COALESCE(EXCLUDED.target_row, l.target_row),
    upt_dt     = now()
WHERE (l.status = {RUNNING} OR EXCLUDED.status <> {RUNNING})
  AND (l.data_dt, l.start_dt, l.end_dt, l.status, l.message, l.source_row, l.target_row)
      IS DISTINCT FROM
      (COALESCE(EXCLUDED.data_dt, l.data_dt), COALESCE(EXCLUDED.start_dt, l.start_dt),
       COALESCE(EXCLUDED.end_dt, l.end_dt), EXCLUDED.status, EXCLUDED.message,
       COALESCE(EXCLUDED.source_row, l.source_row), COALESCE(EXCLUDED.target_row, l.target_row))
"""


@dataclass(frozen=True)
class LogRow:
    """One CNTL_CFG_LOG row (column names as in the table)."""

    prcs_nm: str
    run_id: str
    data_dt: date | None
    start_dt: datetime | None
    end_dt: datetime | None
    status: int
    message: str | None
    source_row: int | None
    target_row: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.run_id, self.prcs_nm)


def trim(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _dedupe(rows: list[LogRow]) -> list[LogRow]:
    """One row per key (Postgres refuses to upsert the same key twice in one statement);
    a final status wins over running, otherwise the last observation wins."""
    by_key: dict[tuple[str, str], LogRow] = {}
    for row in rows:
        seen = by_key.get(row.key)
        if seen is None or not (seen.status != RUNNING and row.status == RUNNING):
            by_key[row.key] = row
    return list(by_key.values())


def write_rows(url: str, rows: list[LogRow], page_size: int = 500) -> int:
    """Upsert `rows` in one transaction; return how many distinct (run, process) were sent.

    Raises ServiceUnavailable naming the database when it cannot be reached or the write
    fails: nothing is committed then, and the caller must not consider the rows written."""
    import psycopg2
    from psycopg2.extras import execute_values

    from llm_assets import db

    unique = _dedupe(rows)
    if not unique:
        return 0
    try:
        with db.connect(url) as conn, conn.cursor() as cur:
            execute_values(cur, _UPSERT, [astuple(r) for r in unique], page_size=page_size)
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as err:
        runs = sorted({r.run_id for r in unique})
        raise ServiceUnavailable(
            f"writing {len(unique)} cntl_af.cntl_cfg_log row(s) of run(s) "
            f"{', '.join(runs[:3])}{' ...' if len(runs) > 3 else ''} to the control database "
            f"{db._redact(url)} failed: {str(err).strip()}. Nothing was committed; start the "
            "database (`llm-assets up`) and the next mirror tick writes them."
        ) from err
    except psycopg2.errors.UndefinedTable as err:
        raise ServiceUnavailable(
            f"table cntl_af.cntl_cfg_log does not exist in {db._redact(url)}: "
            "run `llm-assets db upgrade`"
        ) from err
    return len(unique)


def read_rows(url: str | None, *, stream: str | None = None, process: str | None = None,
              failed: bool = False, limit: int = 20) -> list[dict]:
    """The most recent log rows, optionally filtered: newest run first, and inside a run the
    latest process first (processes that never started on top)."""
    from llm_assets import db

    where, params = [], []
    if stream:
        where.append(
            "l.prcs_nm IN (SELECT p.prcs_nm FROM cntl_af.cntl_cfg_prcs p "
            "JOIN cntl_af.cntl_cfg_prcs_grp g ON g.prcs_grp = p.prcs_grp WHERE g.strem_nm = %s)"
        )
        params.append(stream)
    if process:
        where.append("l.prcs_nm = %s")
        params.append(process)
    if failed:
        where.append("l.status = %s")
        params.append(FAILED)
    sql = ("SELECT l.run_id, l.prcs_nm, l.data_dt, l.start_dt, l.end_dt, l.status, l.message, "
           "l.source_row, l.target_row FROM cntl_af.cntl_cfg_log l"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY max(COALESCE(l.start_dt, l.upt_dt)) OVER (PARTITION BY l.run_id) DESC,"
             " l.run_id, l.start_dt DESC NULLS FIRST, l.prcs_nm LIMIT %s")
    params.append(limit)
    with db.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
