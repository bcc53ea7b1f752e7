"""The rules of `llm-assets db import-legacy`, per table: how an original-framework row
becomes a `cntl_af` row, and why `cntl_af` would refuse it (with the fix).  Pure.

The constraints mirrored here are those of sql/migrations/001_control_schema.sql (foreign
keys, `act_f IN (0, 1)`, `prir >= 1`, `chunk_size > 0`, `0 <= overlap < chunk_size`, no
self-dependency, NOT NULL columns) plus the cron check of llm_assets.core.naming, so a
rejected row is reported before anything is written instead of failing the transaction.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import NoReturn

from llm_assets.core.naming import RESERVED_NAMES, is_valid_cron, is_valid_name

CRON_FIELDS = ("minutes", "hours", "day_month", "months", "day_week")


@dataclass(frozen=True)
class TableSpec:
    table: str                 # in cntl_af
    legacy: str                # in the original schema
    key: tuple[str, ...]       # cntl_af primary / unique key
    columns: tuple[str, ...]   # cntl_af columns written (upt_dt last)
    noun: str

    def row_key(self, row: dict) -> tuple:
        return tuple(row.get(c) for c in self.key)

    def show_key(self, row: dict) -> str:
        if self.table == "cntl_cfg_prcs_depn":
            return f"{row.get('prcs_nm')} -> {row.get('dpnd_prcs_nm')}"
        if self.table == "cntl_cfg_schedule":
            cron = " ".join(str(row.get(f) if row.get(f) is not None else "*")
                            for f in CRON_FIELDS)
            return f"{row.get('strem_nm')} '{cron}'"
        if self.table == "cntl_cfg_log":
            return (f"{row.get('prcs_nm')} data_dt {row.get('data_dt')} started "
                    f"{show(row.get('start_dt'))}")
        return str(row.get(self.key[0]) or "<empty>")


SPECS = (
    TableSpec("cntl_cfg_strem", "cntl_cfg_strem", ("strem_nm",),
              ("strem_nm", "question", "strem_owner", "act_f", "upt_dt"), "stream"),
    TableSpec("cntl_cfg_prcs_grp", "cntl_cfg_prcs_grp", ("prcs_grp",),
              ("prcs_grp", "strem_nm", "prir", "act_f", "upt_dt"), "process group"),
    TableSpec("cntl_cfg_sys_file", "cntl_sys_fle", ("sys_nm",),
              ("sys_nm", "file_type", "dlm", "chunk_size", "overlap", "upt_dt"), "sys file"),
    TableSpec("cntl_cfg_prcs", "cntl_cfg_prcs", ("prcs_nm",),
              ("prcs_nm", "prcs_grp", "prir", "sys_file", "embed_model", "gen_model",
               "collection", "nb_path_nm", "nb_parm", "act_f", "upt_dt"), "process"),
    TableSpec("cntl_cfg_prcs_depn", "cntl_cfg_prcs_depn", ("prcs_nm", "dpnd_prcs_nm"),
              ("prcs_nm", "dpnd_prcs_nm", "act_f", "upt_dt"), "dependency"),
    TableSpec("cntl_cfg_schedule", "cntl_cfg_schedule", ("strem_nm", *CRON_FIELDS),
              ("strem_nm", *CRON_FIELDS, "upt_dt"), "schedule"),
    TableSpec("cntl_cfg_log", "cntl_cfg_log", ("run_id", "prcs_nm"),
              ("run_id", "prcs_nm", "data_dt", "start_dt", "end_dt", "status", "message",
               "source_row", "target_row", "upt_dt"), "log row"),
)
SPEC = {s.table: s for s in SPECS}

# the original framework's log status, as a number or a word -> cntl_af status
STATUS = {**dict.fromkeys(("0", "success", "succeeded", "successful", "complete",
                           "completed", "done"), 0),
          **dict.fromkeys(("1", "running", "run", "start", "started"), 1),
          **dict.fromkeys(("99", "fail", "failed", "failure", "error"), 99)}


@dataclass(frozen=True)
class Change:
    """One planned action on one row: insert, update, delete, reject or warn."""

    action: str
    table: str
    key: str
    detail: str = ""
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.table}[{self.key}]"
        if self.detail:
            text += f": {self.detail}"
        return text + (f". Fix: {self.fix}" if self.fix else "")


class Rejected(Exception):  # noqa: N818 - an outcome of planning, not an error of the import
    """A legacy row cntl_af would refuse: its key, why, and the fix."""

    def __init__(self, key: str, reason: str, fix: str):
        super().__init__(reason)
        self.key, self.reason, self.fix = key, reason, fix


def show(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


class _Row:
    """One legacy row being converted: reads its columns, raises Rejected with its key."""

    def __init__(self, spec: TableSpec, raw: dict, refs):
        self.spec, self.raw, self.refs = spec, raw, refs
        self.key = spec.show_key(raw)
        self.where = f"{refs.schema}.{spec.legacy}"

    def reject(self, reason: str, fix: str) -> NoReturn:
        raise Rejected(self.key, reason, fix)

    def optional(self, column: str):
        value = self.raw.get(column)
        return None if value is None or value == "" else value

    def required(self, column: str):
        value = self.raw.get(column)
        if value is None or not str(value).strip():
            self.reject(f"{column} is empty", f"set {column} in {self.where}")
        return value

    def flag(self) -> int:
        value = self.raw.get("act_f")
        text = None if value is None else str(value).strip()
        if text not in ("0", "1"):
            self.reject(f"act_f {show(value)} is not a flag (cntl_af accepts 1, active, or 0, "
                        "inactive)", f"set act_f to 1 or 0 in {self.where}")
        return int(text)

    def number(self, column: str, minimum: int | None = None, *, nullable: bool = False):
        value = self.raw.get(column)
        if value is None:
            if nullable:
                return None
            self.reject(f"{column} is NULL", f"set {column} in {self.where}")
        try:
            number = int(str(value).strip())
        except ValueError:
            self.reject(f"{column} {show(value)} is not a whole number",
                        f"correct {column} in {self.where}")
        if minimum is not None and number < minimum:
            self.reject(f"{column} {number} is below {minimum}",
                        f"set {column} to {minimum} or more in {self.where}")
        return number

    def reference(self, column: str, table: str, value: str) -> str:
        accepted, present, rejected = self.refs.known(table)
        target = SPEC[table]
        if value in accepted or value in present:
            return value
        if value in rejected:
            self.reject(f"references {target.noun} {value!r}, which is rejected "
                        f"(see {table}[{value}])", "fix that row first, then import again")
        same = sorted(n for n in accepted | present if n.lower() == value.lower())
        if same:
            self.reject(f"references {target.noun} {value!r}, which exists only as "
                        f"{same[0]!r}: names are case-sensitive in llm_assets (they are "
                        "Dagster keys)", f"write {same[0]!r} in {self.where}.{column}")
        self.reject(f"references unknown {target.noun} {value!r}",
                    f"insert it into {self.refs.schema}.{target.legacy} or correct {column} "
                    f"in {self.where}")


def _stream(row: _Row) -> dict:
    return {"strem_nm": row.required("strem_nm"), "question": row.optional("question"),
            "strem_owner": row.optional("strem_owner"), "act_f": row.flag()}


def _group(row: _Row) -> dict:
    return {"prcs_grp": row.required("prcs_grp"),
            "strem_nm": row.reference("strem_nm", "cntl_cfg_strem", row.required("strem_nm")),
            "prir": row.number("prir", 1), "act_f": row.flag()}


def _sys_file(row: _Row) -> dict:
    out = {"sys_nm": row.required("sys_nm"), "file_type": row.required("file_type"),
           "dlm": row.optional("dlm"), "chunk_size": row.number("chunk_size", 1),
           "overlap": row.number("overlap", 0)}
    if out["overlap"] >= out["chunk_size"]:
        row.reject(f"overlap {out['overlap']} is not below chunk_size {out['chunk_size']}",
                   f"set overlap below chunk_size in {row.where}")
    return out


def _process(row: _Row) -> dict:
    sys_file = row.optional("sys_file")
    return {
        "prcs_nm": row.required("prcs_nm"),
        "prcs_grp": row.reference("prcs_grp", "cntl_cfg_prcs_grp", row.required("prcs_grp")),
        "prir": row.number("prir", 1),
        "sys_file": (row.reference("sys_file", "cntl_cfg_sys_file", sys_file)
                     if sys_file is not None else None),
        "embed_model": row.optional("embed_model"), "gen_model": row.optional("gen_model"),
        "collection": row.optional("collection"), "nb_path_nm": row.required("nb_path_nm"),
        "nb_parm": row.raw.get("nb_parm"), "act_f": row.flag(),
    }


def _dependency(row: _Row) -> dict:
    name, target = row.required("prcs_nm"), row.required("dpnd_prcs_nm")
    if name == target:
        row.reject("a process cannot depend on itself", f"delete the row from {row.where}")
    return {"prcs_nm": row.reference("prcs_nm", "cntl_cfg_prcs", name),
            "dpnd_prcs_nm": row.reference("dpnd_prcs_nm", "cntl_cfg_prcs", target),
            "act_f": row.flag()}


def _schedule(row: _Row) -> dict:
    out = {"strem_nm": row.reference("strem_nm", "cntl_cfg_strem", row.required("strem_nm")),
           "minutes": str(row.required("minutes")).strip(),
           "hours": str(row.required("hours")).strip()}
    for column in CRON_FIELDS[2:]:
        out[column] = str(row.optional(column) or "*").strip()
    fields = [out[f] for f in CRON_FIELDS]
    if not is_valid_cron(" ".join(fields)):
        bad = [f"{name} {fields[i]!r}" for i, name in enumerate(CRON_FIELDS)
               if not is_valid_cron(" ".join(v if j == i else "*" for j, v in enumerate(fields)))]
        row.reject(f"bad cron field{'s' if len(bad) > 1 else ''} {', '.join(bad)}" if bad
                   else "the cron fields never fire together",
                   f"correct it in {row.where} (e.g. minutes=0 hours=6: every day at 06:00)")
    return out


def _log(row: _Row) -> dict:
    raw_status = row.raw.get("status")
    status = STATUS.get(str(raw_status).strip().lower()) if raw_status is not None else None
    if status is None:
        row.reject(f"status {show(raw_status)} is not one of 0 (success), 1 (running), "
                   "99 (failed)", f"correct status in {row.where} or delete the row")
    return {"prcs_nm": row.required("prcs_nm"), "data_dt": row.raw.get("data_dt"),
            "start_dt": row.raw.get("start_dt"), "end_dt": row.raw.get("end_dt"),
            "status": status, "message": row.raw.get("message"),
            "source_row": row.number("source_row", nullable=True),
            "target_row": row.number("target_row", nullable=True)}


_CONVERT = {"cntl_cfg_strem": _stream, "cntl_cfg_prcs_grp": _group,
            "cntl_cfg_sys_file": _sys_file, "cntl_cfg_prcs": _process,
            "cntl_cfg_prcs_depn": _dependency, "cntl_cfg_schedule": _schedule,
            "cntl_cfg_log": _log}


def convert(spec: TableSpec, raw: dict, refs) -> dict:
    """The cntl_af row of legacy row `raw` (upt_dt kept), or Rejected.  `refs` knows the
    names imported, present and rejected so far (`refs.known(table)`) and `refs.schema`."""
    row = _CONVERT[spec.table](_Row(spec, raw, refs))
    row["upt_dt"] = raw.get("upt_dt")
    return row


def suggested_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if is_valid_name(cleaned) else f"{cleaned}_1"


def name_warnings(tables, schema: str) -> list:
    """Imported names Dagster refuses, and names that differ only in case: reported, never
    renamed (a rename must also reach the notebooks, schedules and habits that use them)."""
    kinds = {"cntl_cfg_strem": "job", "cntl_cfg_prcs_grp": "group",
             "cntl_cfg_prcs": "asset"}
    out = []
    for plan in tables:
        table = plan.spec.table
        if table not in kinds:
            continue
        column = plan.spec.key[0]
        names = [r[column] for r in plan.accepted]
        for name in names:
            if not is_valid_name(name):
                why = ("is a reserved word" if name in RESERVED_NAMES
                       else "has characters other than letters, digits and _")
                out.append(Change(
                    "warn", table, name,
                    f"imported, but {why}: not a valid Dagster {kinds[table]} name, so "
                    "`llm-assets validate` excludes its stream while it is active",
                    f"rename it (e.g. {suggested_name(name)!r}) in {schema}.{plan.spec.legacy} "
                    "and everywhere it is referenced, then import again"))
        by_lower = defaultdict(list)
        for name in names:
            by_lower[name.lower()].append(name)
        for variants in by_lower.values():
            if len(variants) > 1:
                out.append(Change(
                    "warn", table, " / ".join(sorted(variants)),
                    "imported, but the names differ only in case: Dagster keys and "
                    "notebook paths must not collide by case",
                    f"rename all but one in {schema}.{plan.spec.legacy}"))
    return out
