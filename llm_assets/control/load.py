"""Read the control tables into a `ControlSnapshot`: one query per table, no per-row queries.

Inactive rows are read too (still one query per table) so validation can tell "depends on an
inactive process" from "depends on a missing process"; the factory keeps only active rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from llm_assets import db
from llm_assets.control.models import (
    ControlSnapshot,
    Dependency,
    Process,
    ProcessGroup,
    Schedule,
    Stream,
    SysFile,
)

# (snapshot field, row type, SELECT).  Column order matches the dataclass fields.
QUERIES = (
    ("streams", Stream,
     "SELECT strem_nm, question, strem_owner, act_f, upt_dt FROM cntl_af.cntl_cfg_strem"),
    ("groups", ProcessGroup,
     "SELECT prcs_grp, strem_nm, prir, act_f, upt_dt FROM cntl_af.cntl_cfg_prcs_grp"),
    ("processes", Process,
     "SELECT prcs_nm, prcs_grp, nb_path_nm, prir, sys_file, embed_model, gen_model, collection,"
     " nb_parm, act_f, upt_dt FROM cntl_af.cntl_cfg_prcs"),
    ("sys_files", SysFile,
     "SELECT sys_nm, file_type, dlm, chunk_size, overlap, upt_dt FROM cntl_af.cntl_cfg_sys_file"),
    ("dependencies", Dependency,
     "SELECT prcs_nm, dpnd_prcs_nm, act_f, upt_dt FROM cntl_af.cntl_cfg_prcs_depn"),
    ("schedules", Schedule,
     "SELECT strem_nm, minutes, hours, day_month, months, day_week, upt_dt"
     " FROM cntl_af.cntl_cfg_schedule"),
)

CONTROL_TABLES = (
    "cntl_cfg_strem", "cntl_cfg_prcs_grp", "cntl_cfg_prcs", "cntl_cfg_sys_file",
    "cntl_cfg_prcs_depn", "cntl_cfg_schedule",
)


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def load_snapshot(url: str | None = None) -> ControlSnapshot:
    """Read all six configuration tables in one repeatable-read transaction (a consistent view
    even while someone edits rows), ordered by key so equal rows give equal snapshots."""
    tables: dict[str, tuple] = {}
    with db.connect(url) as conn:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            for name, row_type, sql in QUERIES:
                cur.execute(f"{sql} ORDER BY 1, 2")
                tables[name] = tuple(
                    row_type(*(_iso(v) for v in row)) for row in cur.fetchall()
                )
    return ControlSnapshot(**tables, loaded_at=datetime.now(UTC).isoformat())
