"""Validate a snapshot in one pass: every problem, each naming table, key and fix.

A stream with a problem is excluded from the definitions together with every stream that
depends on it; all other streams still load.  Problems are data (`Problem`), never raised.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from llm_assets.core.chunking import FILE_TYPES
from llm_assets.core.graph import build_graph, find_cycles, loaded_processes
from llm_assets.core.models import ControlSnapshot
from llm_assets.core.naming import is_valid_cron, is_valid_name, is_valid_queue
from llm_assets.core.notebooks import PathProblem, notebook_problem
from llm_assets.core.params import ParameterError, parse_nb_parm


@dataclass(frozen=True)
class Problem:
    table: str
    key: str
    message: str
    fix: str
    streams: frozenset[str] = field(default_factory=frozenset)

    def __str__(self) -> str:
        where = f"{self.table}[{self.key}]"
        return f"{where}: {self.message}. Fix: {self.fix}"


@dataclass(frozen=True)
class ValidationResult:
    problems: tuple[Problem, ...]
    excluded: dict[str, tuple[str, ...]]  # stream -> reasons (incl. "depends on excluded X")

    @property
    def ok(self) -> bool:
        return not self.problems


def _case_duplicates(table: str, names: list[str], stream_of) -> list[Problem]:
    by_lower: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_lower[name.lower()].append(name)
    out = []
    for variants in by_lower.values():
        if len(variants) > 1:
            streams = frozenset(s for v in variants if (s := stream_of(v)))
            out.append(Problem(
                table, " / ".join(sorted(variants)),
                f"names differ only in case ({', '.join(sorted(variants))})",
                "rename all but one: Dagster keys and file paths must not collide by case",
                streams,
            ))
    return out


def validate(snapshot: ControlSnapshot, notebooks_dir: Path) -> ValidationResult:
    problems: list[Problem] = []
    add = problems.append
    streams = snapshot.stream_by_name
    groups = snapshot.group_by_name
    procs = snapshot.process_by_name
    sys_files = snapshot.sys_file_by_name
    nb_root = notebooks_dir
    checked_paths: dict[str, PathProblem | None] = {}

    def stream_of_group(name: str) -> str | None:
        group = groups.get(name)
        return group.strem_nm if group else None

    def stream_of_proc(name: str) -> str | None:
        proc = procs.get(name)
        return stream_of_group(proc.prcs_grp) if proc else None

    active_streams = {s.strem_nm for s in snapshot.streams if s.act_f}

    # -- streams ---------------------------------------------------------------------------
    for s in snapshot.streams:
        if s.act_f and not is_valid_name(s.strem_nm):
            add(Problem("cntl_cfg_strem", s.strem_nm,
                        "stream name is not a valid Dagster job name",
                        "use letters, digits and underscores only (not a Python keyword)",
                        frozenset({s.strem_nm})))
    # -- groups ----------------------------------------------------------------------------
    for g in snapshot.groups:
        if not g.act_f:
            continue
        if g.strem_nm not in streams:
            add(Problem("cntl_cfg_prcs_grp", g.prcs_grp,
                        f"references unknown stream {g.strem_nm!r}",
                        "insert the stream into cntl_cfg_strem or correct strem_nm",
                        frozenset({g.strem_nm})))
            continue
        if g.strem_nm not in active_streams:
            continue
        if not is_valid_name(g.prcs_grp):
            add(Problem("cntl_cfg_prcs_grp", g.prcs_grp,
                        "group name is not a valid Dagster group name",
                        "use letters, digits and underscores only", frozenset({g.strem_nm})))
        if g.prir < 1:
            add(Problem("cntl_cfg_prcs_grp", g.prcs_grp, f"prir {g.prir} is below 1",
                        "use a priority of 1 or more", frozenset({g.strem_nm})))
    # -- processes -------------------------------------------------------------------------
    for p in snapshot.processes:
        if not p.act_f:
            continue
        group = groups.get(p.prcs_grp)
        if group is None:
            add(Problem("cntl_cfg_prcs", p.prcs_nm,
                        f"references unknown process group {p.prcs_grp!r}",
                        "insert the group into cntl_cfg_prcs_grp or correct prcs_grp",
                        frozenset()))
            continue
        if not snapshot.is_loaded(p):
            continue
        stream = frozenset({group.strem_nm})
        if not is_valid_name(p.prcs_nm):
            add(Problem("cntl_cfg_prcs", p.prcs_nm,
                        "process name is not a valid Dagster asset name",
                        "use letters, digits and underscores only (not a Python keyword or a "
                        "reserved word such as `context`)", stream))
        if p.prir < 1:
            add(Problem("cntl_cfg_prcs", p.prcs_nm, f"prir {p.prir} is below 1",
                        "use a priority of 1 or more", stream))
        if p.sys_file is not None and p.sys_file not in sys_files:
            add(Problem("cntl_cfg_prcs", p.prcs_nm,
                        f"references unknown sys file {p.sys_file!r}",
                        "insert it into cntl_cfg_sys_file or set sys_file to NULL", stream))
        problems.extend(_notebook_problems(p.prcs_nm, p.nb_path_nm, nb_root, stream,
                                           checked_paths))
        try:
            queue = parse_nb_parm(p.nb_parm).kwargs.get("queue")
        except ParameterError as err:
            add(Problem("cntl_cfg_prcs", p.prcs_nm, f"nb_parm {p.nb_parm!r}: {err}",
                        "correct nb_parm", stream))
        else:
            if queue is not None and not is_valid_queue(queue):
                add(Problem("cntl_cfg_prcs", p.prcs_nm,
                            f"nb_parm queue {queue!r} is not a queue name",
                            "use letters, digits, '_', '.', '-' (at most 100 characters)",
                            stream))
    # -- sys files -------------------------------------------------------------------------
    users: dict[str, set[str | None]] = defaultdict(set)
    for p in loaded_processes(snapshot):
        if p.sys_file:
            users[p.sys_file].add(stream_of_proc(p.prcs_nm))
    for f in snapshot.sys_files:
        affected = frozenset(s for s in users.get(f.sys_nm, ()) if s)
        if f.chunk_size <= 0:
            add(Problem("cntl_cfg_sys_file", f.sys_nm, f"chunk_size {f.chunk_size} is not > 0",
                        "set chunk_size to a positive number of characters", affected))
        if f.overlap < 0 or f.overlap >= max(f.chunk_size, 1):
            add(Problem("cntl_cfg_sys_file", f.sys_nm,
                        f"overlap {f.overlap} is outside 0 <= overlap < chunk_size "
                        f"({f.chunk_size})", "set overlap below chunk_size", affected))
        if (f.file_type or "").lower() not in FILE_TYPES:
            add(Problem("cntl_cfg_sys_file", f.sys_nm, f"file_type {f.file_type!r} is unknown",
                        f"use one of {', '.join(FILE_TYPES)}", affected))
    # -- dependencies ----------------------------------------------------------------------
    for d in snapshot.dependencies:
        if not d.act_f:
            continue
        key = f"{d.prcs_nm} -> {d.dpnd_prcs_nm}"
        owner = procs.get(d.prcs_nm)
        if owner is None:
            add(Problem("cntl_cfg_prcs_depn", key, f"process {d.prcs_nm!r} does not exist",
                        "delete the row or correct prcs_nm", frozenset()))
            continue
        if not snapshot.is_loaded(owner):
            continue
        owner_stream = stream_of_proc(d.prcs_nm)
        stream = frozenset({owner_stream} if owner_stream else ())
        if d.prcs_nm == d.dpnd_prcs_nm:
            add(Problem("cntl_cfg_prcs_depn", key, "a process cannot depend on itself",
                        "delete the row", stream))
            continue
        target = procs.get(d.dpnd_prcs_nm)
        if target is None:
            add(Problem("cntl_cfg_prcs_depn", key,
                        f"depends on missing process {d.dpnd_prcs_nm!r}",
                        "correct dpnd_prcs_nm or delete the row", stream))
        elif not snapshot.is_loaded(target):
            add(Problem("cntl_cfg_prcs_depn", key,
                        f"depends on inactive process {d.dpnd_prcs_nm!r} (it, its group or its "
                        "stream has act_f = 0)",
                        "activate it, or set this dependency's act_f to 0", stream))
    # -- schedules -------------------------------------------------------------------------
    for sch in snapshot.schedules:
        key = f"{sch.strem_nm} '{sch.cron}'"
        if sch.strem_nm not in streams:
            add(Problem("cntl_cfg_schedule", key, f"references unknown stream {sch.strem_nm!r}",
                        "correct strem_nm or delete the row", frozenset()))
        elif not is_valid_cron(sch.cron):
            add(Problem("cntl_cfg_schedule", key,
                        "is not a valid cron expression (minutes hours day_month months "
                        "day_week)", "e.g. minutes=0 hours=6 day_month=* months=* day_week=*",
                        frozenset({sch.strem_nm})))
    # -- names differing only in case --------------------------------------------------------
    problems.extend(_case_duplicates("cntl_cfg_strem", [s.strem_nm for s in snapshot.streams],
                                     lambda n: n))
    problems.extend(_case_duplicates("cntl_cfg_prcs_grp", [g.prcs_grp for g in snapshot.groups],
                                     stream_of_group))
    problems.extend(_case_duplicates("cntl_cfg_prcs", [p.prcs_nm for p in snapshot.processes],
                                     stream_of_proc))
    # -- active streams with no active process ------------------------------------------------
    with_process = {stream_of_proc(p.prcs_nm) for p in loaded_processes(snapshot)}
    for name in sorted(active_streams - with_process):
        add(Problem("cntl_cfg_strem", name, "active stream has no active process",
                    "add a process to one of its groups, or set the stream's act_f to 0",
                    frozenset({name})))
    # -- cycles (explicit dependencies and priority order) ---------------------------------
    graph = build_graph(snapshot)
    nodes = [p.prcs_nm for p in loaded_processes(snapshot)]
    for name in sorted(set(graph.barriers) & set(nodes)):
        gated = graph.barriers[name].stream
        add(Problem("cntl_cfg_prcs", name,
                    f"process name is the name of the priority-tier gate of stream {gated}",
                    "rename the process (names ending in __tier_<n>_<n> are reserved)",
                    frozenset({gated, stream_of_proc(name) or gated})))
    for cycle in find_cycles(graph, nodes):
        # a tier gate (barrier) is not a row: name the processes only, a -> b meaning a
        # waits for b (through the gate when there is one)
        shown = [n for n in cycle[:-1] if n not in graph.barriers]
        path = " -> ".join([*shown, shown[0]])
        made_by_priority = any(a in graph.barriers or (b in graph.order_deps.get(a, ()) and b
                                                       not in graph.data_deps.get(a, ()))
                               for a, b in zip(cycle, cycle[1:]))
        add(Problem("cntl_cfg_prcs_depn", path,
                    f"dependency cycle {path}" + (" (closed by priority order: a later tier "
                                                  "cannot be depended on by an earlier one)"
                                                  if made_by_priority else ""),
                    "remove one dependency row of the cycle or change a priority",
                    frozenset(x for n in shown if (x := stream_of_proc(n)))))
    return ValidationResult(tuple(problems), _exclusions(snapshot, problems, graph))


def _notebook_problems(name: str, nb_path: str, root: Path, stream,
                       checked: dict[str, PathProblem | None]) -> list[Problem]:
    if nb_path not in checked:  # many processes share a notebook: check each file once
        checked[nb_path] = notebook_problem(nb_path, root)
    problem = checked[nb_path]
    if problem is None:
        return []
    return [Problem("cntl_cfg_prcs", name, problem.message, problem.fix, stream)]


def _exclusions(snapshot: ControlSnapshot, problems: list[Problem], graph) -> dict:
    reasons: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        for stream in problem.streams:
            reasons[stream].append(str(problem))
    # a stream that depends on an excluded stream cannot run: exclude it too, transitively
    stream_of = {}
    for p in loaded_processes(snapshot):
        stream_of[p.prcs_nm] = snapshot.group_by_name[p.prcs_grp].strem_nm
    depends_on: dict[str, set[str]] = defaultdict(set)
    for name, ups in graph.data_deps.items():
        for up in ups:
            if stream_of.get(up) != stream_of.get(name):
                depends_on[stream_of[name]].add(stream_of[up])
    changed = True
    while changed:
        changed = False
        for stream, ups in depends_on.items():
            bad = sorted(u for u in ups if u in reasons)
            if stream not in reasons and bad:
                reasons[stream].append(f"depends on excluded stream(s) {', '.join(bad)}")
                changed = True
    return {k: tuple(v) for k, v in sorted(reasons.items())}
