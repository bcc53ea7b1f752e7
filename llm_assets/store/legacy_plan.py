"""What `llm-assets db import-legacy` would write: the original framework's control rows
(schema `cntl`) turned into `cntl_af` rows and compared with what `cntl_af` holds.  Pure.

Conversions, each one documented in docs/migrating.md:
- `''` in an optional column (a sys-file reference, a model, a collection, a delimiter, a
  question, an owner) becomes NULL; NULL `day_month`, `months`, `day_week` become `*`;
- `act_f` `'1'`/`'0'` (text or number) becomes 1/0;
- the keyless schedule table: identical rows merge; the schedules of a stream become the
  legacy rows of that stream (a cron changed there replaces the old one);
- the log has no run id: each row gets `imported:<hash of process, data_dt, start_dt>`, so
  a re-import finds it again (a row still running then finished is updated, not duplicated);
- `upt_dt` is kept (NULL: the time of the import).

A row `cntl_af` would refuse (foreign key, check, NOT NULL, cron) is rejected with the
reason and the fix, and so is every row that references it; names are never rewritten.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from llm_assets.store.legacy_rules import (
    SPECS,
    Change,
    Rejected,
    TableSpec,
    convert,
    name_warnings,
    show,
)


@dataclass
class TablePlan:
    spec: TableSpec
    accepted: list[dict] = field(default_factory=list)  # converted rows (not rejected)
    writes: list[dict] = field(default_factory=list)   # rows to insert or update
    deletes: list[tuple] = field(default_factory=list)  # keys to delete (schedules only)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    merged: int = 0  # identical legacy rows merged into one (keyless tables)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


@dataclass
class Plan:
    tables: list[TablePlan]
    warnings: list[Change]

    @property
    def rejected(self) -> list[Change]:
        return [c for t in self.tables for c in t.changes if c.action == "reject"]

    def table(self, name: str) -> TablePlan:
        return next(t for t in self.tables if t.spec.table == name)


def imported_run_id(row: dict) -> str:
    """The run id of a log row copied from the original framework (which had none): stable
    across imports, from what identifies the row there (process, data date, start time)."""
    start = row["start_dt"].isoformat() if row["start_dt"] is not None else ""
    text = "\x1f".join((row["prcs_nm"], str(row["data_dt"]), start))
    return "imported:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _diff(spec: TableSpec, row: dict, old: dict) -> list[str]:
    changed = [f"{c} {show(old[c])} -> {show(row[c])}" for c in spec.columns
               if c != "upt_dt" and old[c] != row[c]]
    if row["upt_dt"] is not None and row["upt_dt"] != old["upt_dt"]:
        changed.append(f"upt_dt {show(old['upt_dt'])} -> {show(row['upt_dt'])}")
    return changed


def _log_order(row: dict):
    """Among log rows of one process, data date and start: the finished, latest one first."""
    return (row["status"] == 1, -(row["end_dt"].timestamp() if row["end_dt"] else 0))


class _Planner:
    def __init__(self, legacy: dict[str, list[dict]], existing: dict[str, list[dict]],
                 now: datetime, schema: str):
        self.legacy, self.existing, self.now, self.schema = legacy, existing, now, schema
        self.accepted: dict[str, set[str]] = defaultdict(set)
        self.rejected: dict[str, set[str]] = defaultdict(set)
        self.present = {spec.table: {r[spec.key[0]] for r in existing.get(spec.table, ())}
                        for spec in SPECS}

    def known(self, table: str) -> tuple[set[str], set[str], set[str]]:
        """The names of a table (names imported now, names already in cntl_af, names
        rejected now): what a reference to it may point at, or why it may not."""
        return self.accepted[table], self.present[table], self.rejected[table]

    def convert_all(self, spec: TableSpec, plan: TablePlan) -> list[dict]:
        rows = []
        for raw in self.legacy.get(spec.table, ()):
            try:
                row = convert(spec, raw, self)
            except Rejected as err:
                plan.changes.append(Change("reject", spec.table, err.key, err.reason, err.fix))
                if len(spec.key) == 1 and raw.get(spec.key[0]):
                    self.rejected[spec.table].add(raw[spec.key[0]])
                continue
            if spec.table == "cntl_cfg_log":
                row["run_id"] = imported_run_id(row)
            rows.append(row)
            if len(spec.key) == 1:
                self.accepted[spec.table].add(row[spec.key[0]])
        return rows

    def table_plan(self, spec: TableSpec) -> TablePlan:
        plan = TablePlan(spec)
        rows = self.convert_all(spec, plan)
        rows = self._merge_duplicates(spec, plan, rows)
        plan.accepted = rows
        old = {spec.row_key(r): r for r in self.existing.get(spec.table, ())}
        if spec.table == "cntl_cfg_schedule":
            self._replace_schedules(plan, rows, old)
        for row in rows:
            key = spec.row_key(row)
            if key not in old:
                plan.writes.append(dict(row, upt_dt=row["upt_dt"] or self.now))
                plan.changes.append(Change("insert", spec.table, spec.show_key(row)))
                continue
            changed = _diff(spec, row, old[key])
            if not changed:
                plan.unchanged += 1
                continue
            plan.writes.append(dict(row, upt_dt=row["upt_dt"] or self.now))
            plan.changes.append(Change("update", spec.table, spec.show_key(row),
                                       "; ".join(changed)))
        return plan

    def _merge_duplicates(self, spec: TableSpec, plan: TablePlan, rows: list[dict]):
        """Keyless legacy tables (schedule, log) may hold a row twice: identical rows merge;
        log rows of one process, data date and start that differ keep the finished one."""
        by_key: dict[tuple, list[dict]] = defaultdict(list)
        for row in rows:
            by_key[spec.row_key(row)].append(row)
        kept = []
        for group in by_key.values():
            if spec.table == "cntl_cfg_log":
                group.sort(key=_log_order)
            first, *others = group
            kept.append(first)
            for other in others:
                if other == first or spec.table == "cntl_cfg_schedule":
                    plan.merged += 1
                    if spec.table == "cntl_cfg_schedule" and other["upt_dt"] != first["upt_dt"]:
                        first["upt_dt"] = max(first["upt_dt"] or self.now,
                                              other["upt_dt"] or self.now)
                    continue
                plan.changes.append(Change(
                    "reject", spec.table, spec.show_key(other),
                    "another log row has the same process, data_dt and start_dt (the original "
                    "log has no run id to tell them apart); the finished one is imported",
                    f"delete one of them in {self.schema}.cntl_cfg_log and import again"))
        return kept

    def _replace_schedules(self, plan: TablePlan, rows: list[dict], old: dict) -> None:
        """A stream's schedules become its legacy rows: a cntl_af schedule of a stream the
        legacy table schedules, that the legacy table no longer has, was replaced there."""
        spec = plan.spec
        wanted = {spec.row_key(r) for r in rows}
        streams = {r["strem_nm"] for r in rows}
        for key, row in sorted(old.items()):
            if row["strem_nm"] in streams and key not in wanted:
                plan.deletes.append(key)
                plan.changes.append(Change(
                    "delete", spec.table, spec.show_key(row),
                    f"no longer in {self.schema}.cntl_cfg_schedule (its stream's schedules "
                    "there replace it)"))

    def build(self) -> Plan:
        tables = [self.table_plan(spec) for spec in SPECS]
        return Plan(tables, name_warnings(tables, self.schema))


def build_plan(legacy: dict[str, list[dict]], existing: dict[str, list[dict]], now: datetime,
               schema: str = "cntl") -> Plan:
    """The plan of an import: `legacy` and `existing` map each cntl_af table name to its rows
    (dicts with cntl_af column names), read from schema `schema` and from cntl_af."""
    return _Planner(legacy, existing, now, schema).build()
