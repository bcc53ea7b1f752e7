"""Frozen row models of the control tables and the `ControlSnapshot` that holds them all.

A snapshot is read once per code-location load and travels to run workers, step processes
and notebook kernels as JSON (Dagster reconstruction metadata); `from_json(to_json(s)) == s`.
Timestamps are kept as ISO-8601 strings so the round trip is lossless.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cached_property


@dataclass(frozen=True, slots=True)
class Stream:
    strem_nm: str
    question: str | None = None
    strem_owner: str | None = None
    act_f: int = 1
    upt_dt: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessGroup:
    prcs_grp: str
    strem_nm: str
    prir: int = 1
    act_f: int = 1
    upt_dt: str | None = None


@dataclass(frozen=True, slots=True)
class Process:
    prcs_nm: str
    prcs_grp: str
    nb_path_nm: str
    prir: int = 1
    sys_file: str | None = None
    embed_model: str | None = None
    gen_model: str | None = None
    collection: str | None = None
    nb_parm: str | None = None
    act_f: int = 1
    upt_dt: str | None = None


@dataclass(frozen=True, slots=True)
class SysFile:
    sys_nm: str
    file_type: str
    dlm: str | None = None
    chunk_size: int = 1000
    overlap: int = 0
    upt_dt: str | None = None


@dataclass(frozen=True, slots=True)
class Dependency:
    prcs_nm: str
    dpnd_prcs_nm: str
    act_f: int = 1
    upt_dt: str | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    strem_nm: str
    minutes: str
    hours: str
    day_month: str = "*"
    months: str = "*"
    day_week: str = "*"
    upt_dt: str | None = None

    @property
    def cron(self) -> str:
        return " ".join((self.minutes, self.hours, self.day_month, self.months, self.day_week))


ROW_TYPES = {
    "streams": Stream,
    "groups": ProcessGroup,
    "processes": Process,
    "sys_files": SysFile,
    "dependencies": Dependency,
    "schedules": Schedule,
}


@dataclass(frozen=True)
class ControlSnapshot:
    """Every row of the six configuration tables (active and inactive) at one moment."""

    streams: tuple[Stream, ...] = ()
    groups: tuple[ProcessGroup, ...] = ()
    processes: tuple[Process, ...] = ()
    sys_files: tuple[SysFile, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    loaded_at: str | None = None

    # ---- serialization -------------------------------------------------------------------
    def to_dict(self) -> dict:
        body: dict = {}
        for name, row_type in ROW_TYPES.items():
            columns = [f.name for f in fields(row_type)]
            body[name] = [[getattr(row, c) for c in columns] for row in getattr(self, name)]
        body["columns"] = {name: [f.name for f in fields(cls)] for name, cls in ROW_TYPES.items()}
        body["loaded_at"] = self.loaded_at
        return body

    @classmethod
    def from_dict(cls, body: dict) -> ControlSnapshot:
        columns = body["columns"]
        tables = {}
        for name, row_type in ROW_TYPES.items():
            names = columns[name]
            if names == [f.name for f in fields(row_type)]:  # the usual case: positional
                tables[name] = tuple(row_type(*values) for values in body[name])
            else:
                tables[name] = tuple(row_type(**dict(zip(names, values, strict=True)))
                                     for values in body[name])
        return cls(**tables, loaded_at=body.get("loaded_at"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ControlSnapshot:
        return cls.from_dict(json.loads(text))

    # ---- lookups -------------------------------------------------------------------------
    @cached_property
    def stream_by_name(self) -> dict[str, Stream]:
        return {s.strem_nm: s for s in self.streams}

    @cached_property
    def group_by_name(self) -> dict[str, ProcessGroup]:
        return {g.prcs_grp: g for g in self.groups}

    @cached_property
    def process_by_name(self) -> dict[str, Process]:
        return {p.prcs_nm: p for p in self.processes}

    @cached_property
    def sys_file_by_name(self) -> dict[str, SysFile]:
        return {f.sys_nm: f for f in self.sys_files}

    def is_loaded(self, process: Process) -> bool:
        """Active process in an active group of an active stream (ARCHITECTURE semantics)."""
        group = self.group_by_name.get(process.prcs_grp)
        stream = self.stream_by_name.get(group.strem_nm) if group else None
        return bool(process.act_f and group and group.act_f and stream and stream.act_f)

    def streams_of(self, streams: frozenset[str] | set[str] | None,
                   processes: frozenset[str] | set[str] | None) -> set[str]:
        """`streams`, plus the streams of `processes` (an asset selection)."""
        found = set(streams or ())
        for name in processes or ():
            process = self.process_by_name.get(name)
            group = self.group_by_name.get(process.prcs_grp) if process else None
            if group is not None:
                found.add(group.strem_nm)
            elif name.rpartition("__tier_")[0] in self.stream_by_name:  # a tier gate's key
                found.add(name.rpartition("__tier_")[0])
        return found

    def for_streams(self, streams: set[str]) -> ControlSnapshot:
        """Only what building `streams` needs: their groups, processes, dependency rows and
        schedules, plus the rows of their upstream processes in other streams (those become
        external asset specs).  Step processes and notebook kernels get this instead of the
        whole snapshot, so what they receive does not grow with the number of processes."""
        groups = {g.prcs_grp for g in self.groups if g.strem_nm in streams}
        inside = {p.prcs_nm for p in self.processes if p.prcs_grp in groups}
        dependencies = tuple(d for d in self.dependencies if d.prcs_nm in inside)
        upstream = {d.dpnd_prcs_nm for d in dependencies} - inside
        processes = tuple(p for p in self.processes
                          if p.prcs_nm in inside or p.prcs_nm in upstream)
        groups |= {p.prcs_grp for p in processes}
        kept_groups = tuple(g for g in self.groups if g.prcs_grp in groups)
        kept_streams = {g.strem_nm for g in kept_groups}
        return ControlSnapshot(
            streams=tuple(s for s in self.streams if s.strem_nm in kept_streams),
            groups=kept_groups,
            processes=processes,
            sys_files=self.sys_files,
            dependencies=dependencies,
            schedules=tuple(s for s in self.schedules if s.strem_nm in streams),
            loaded_at=self.loaded_at,
        )

    def without_streams(self, excluded: set[str]) -> ControlSnapshot:
        """The same snapshot with the named streams (and everything under them) removed."""
        if not excluded:
            return self
        groups = tuple(g for g in self.groups if g.strem_nm not in excluded)
        kept_groups = {g.prcs_grp for g in groups}
        processes = tuple(p for p in self.processes if p.prcs_grp in kept_groups)
        kept = {p.prcs_nm for p in processes}
        return ControlSnapshot(
            streams=tuple(s for s in self.streams if s.strem_nm not in excluded),
            groups=groups,
            processes=processes,
            sys_files=self.sys_files,
            dependencies=tuple(d for d in self.dependencies
                               if d.prcs_nm in kept and d.dpnd_prcs_nm in kept),
            schedules=tuple(s for s in self.schedules if s.strem_nm not in excluded),
            loaded_at=self.loaded_at,
        )
