"""`llm-assets db import-legacy`: copy the original framework's control rows (schema `cntl`,
Airflow + papermill) into `cntl_af`, in one transaction, idempotently.

The legacy schema is read in a READ ONLY transaction (it is never written); the rows are
planned by llm_assets.store.legacy_plan against what `cntl_af` holds, then written with one
upsert per table.  A rejected row is reported and left out (`strict`: nothing is written);
`dry_run` plans and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from llm_assets.core.errors import ConfigError
from llm_assets.core.names import SCHEMA
from llm_assets.store.connection import connect, database_url, redact, sql_text
from llm_assets.store.legacy_plan import Plan, build_plan
from llm_assets.store.legacy_rules import SPECS, TableSpec

_IMPORT_LOCK = 0x6C6C6D62  # pg_advisory_xact_lock key: one import at a time
DEFAULT_SCHEMA = "cntl"

# column -> how it is read from the legacy table (types there vary: read numbers and flags as
# text and parse them, timestamps as timestamptz in the legacy server's time zone)
_TEXT = ("strem_nm", "question", "strem_owner", "prcs_grp", "prcs_nm", "sys_file",
         "embed_model", "gen_model", "collection", "nb_path_nm", "nb_parm", "sys_nm",
         "file_type", "dlm", "dpnd_prcs_nm", "minutes", "hours", "day_month", "months",
         "day_week", "message", "act_f", "prir", "chunk_size", "overlap", "status",
         "source_row", "target_row")
_CASTS = {**dict.fromkeys(_TEXT, "text"),
          **dict.fromkeys(("upt_dt", "start_dt", "end_dt"), "timestamptz"),
          "data_dt": "date"}


def legacy_columns(spec: TableSpec) -> tuple[str, ...]:
    """The columns of the original table (the log has no run id and no upt_dt)."""
    if spec.table == "cntl_cfg_log":
        return tuple(c for c in spec.columns if c not in ("run_id", "upt_dt"))
    return spec.columns


@dataclass(frozen=True)
class ImportResult:
    plan: Plan
    written: bool
    source: str  # redacted URL of the legacy database
    schema: str  # the legacy schema
    target: str  # redacted URL of the control database


def _check_legacy_schema(cur, schema: str, where: str) -> None:
    cur.execute(sql_text("legacy_columns"), {"schema": schema})
    found: dict[str, set[str]] = {}
    for table, column in cur.fetchall():
        found.setdefault(table, set()).add(column)
    if not found:
        raise ConfigError(
            f"{where} has no schema {schema!r} with tables: point --schema at the original "
            "framework's control schema, and --from at its database if it is another one")
    missing = []
    for spec in SPECS:
        if spec.legacy not in found:
            missing.append(f"table {schema}.{spec.legacy}")
            continue
        missing += [f"column {schema}.{spec.legacy}.{c}" for c in legacy_columns(spec)
                    if c not in found[spec.legacy]]
    if missing:
        raise ConfigError(
            f"{where}, schema {schema!r}, is not the original framework's control schema: "
            f"missing {', '.join(missing)}. Check --schema and --from")


def read_legacy(url: str, schema: str) -> dict[str, list[dict]]:
    """Every row of the seven legacy tables (one query each), in a read-only transaction."""
    from psycopg2 import sql

    rows: dict[str, list[dict]] = {}
    with connect(url) as conn:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            _check_legacy_schema(cur, schema, redact(url))
            for spec in SPECS:
                columns = legacy_columns(spec)
                select = sql.SQL("SELECT {} FROM {}.{} ORDER BY {}").format(
                    sql.SQL(", ").join(
                        sql.SQL("{}::{}").format(sql.Identifier(c), sql.SQL(_CASTS[c]))
                        for c in columns),
                    sql.Identifier(schema), sql.Identifier(spec.legacy),
                    sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(columns))))
                cur.execute(select)
                rows[spec.table] = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    return rows


def read_existing(cur) -> dict[str, list[dict]]:
    """What cntl_af holds now (of the log, only the rows an import wrote)."""
    from psycopg2 import sql

    cur.execute("SELECT to_regclass('cntl_af.cntl_cfg_log') IS NOT NULL")
    if not cur.fetchone()[0]:
        raise ConfigError("the control schema cntl_af is not there yet: run "
                          "`llm-assets db upgrade` first, then import again")
    rows: dict[str, list[dict]] = {}
    for spec in SPECS:
        where = sql.SQL(" WHERE starts_with(run_id, 'imported:')" if spec.table == "cntl_cfg_log"
                        else "")
        cur.execute(sql.SQL("SELECT {} FROM {}.{}{}").format(
            sql.SQL(", ").join(map(sql.Identifier, spec.columns)), sql.Identifier(SCHEMA),
            sql.Identifier(spec.table), where))
        rows[spec.table] = [dict(zip(spec.columns, r, strict=True)) for r in cur.fetchall()]
    return rows


def apply_plan(cur, plan: Plan) -> None:
    """Write the plan: schedule deletions first, then one upsert per table, in foreign-key
    order (the caller's transaction commits them together)."""
    from psycopg2 import sql
    from psycopg2.extras import execute_values

    schedules = plan.table("cntl_cfg_schedule")
    if schedules.deletes:
        execute_values(cur, sql_text("legacy_delete_schedules"), schedules.deletes)
    for table in plan.tables:
        if not table.writes:
            continue
        spec = table.spec
        statement = sql.SQL(sql_text("legacy_upsert")).format(
            table=sql.Identifier(spec.table),
            columns=sql.SQL(", ").join(map(sql.Identifier, spec.columns)),
            key=sql.SQL(", ").join(map(sql.Identifier, spec.key)),
            excluded=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c))
                                        for c in spec.columns))
        execute_values(cur, statement.as_string(cur),
                       [tuple(row[c] for c in spec.columns) for row in table.writes],
                       page_size=500)


def import_legacy(schema: str = DEFAULT_SCHEMA, source_url: str | None = None,
                  target_url: str | None = None, *, dry_run: bool = False,
                  strict: bool = False) -> ImportResult:
    """Plan the import of `schema` (in `source_url`, default the control database) into
    cntl_af and, unless `dry_run` (or `strict` with a rejected row), write it."""
    if schema == SCHEMA:
        raise ConfigError(f"--schema {SCHEMA} is llm_assets' own schema: name the original "
                          "framework's schema (default cntl)")
    target = target_url or database_url()
    source = source_url or target
    legacy = read_legacy(source, schema)
    with connect(target) as conn:
        if dry_run:
            conn.set_session(readonly=True)  # a dry run cannot write, even by mistake
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_IMPORT_LOCK,))
            plan = build_plan(legacy, read_existing(cur), datetime.now(UTC), schema)
            write = not dry_run and not (strict and plan.rejected)
            if write:
                apply_plan(cur, plan)
    return ImportResult(plan, write, redact(source), schema, redact(target))
