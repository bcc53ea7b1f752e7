"""Code versions of processes: what Dagster compares to mark an asset changed ("unsynced").

A process's own version hashes what defines its result: its notebook or script file (the
digest in the ControlState), its control row, its sys-file row, its stream's question (the
`question` parameter); `upt_dt` is left out, so touching a row without changing it changes
nothing.  Its code version adds the code versions of every process it depends on (dependency
rows and priority-tier order, also through a tier gate: llm_assets.defs.barriers), so an edit
marks the edited process and everything downstream of it as changed, and "Materialize
unsynced" reruns exactly those.

Step processes and kernels build only their scope; they compute the versions of the streams
they build from the streams those depend on (complete streams, so the tier order is the same
as in the full graph), never from the whole snapshot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

from llm_assets.core.graph import ProcessGraph, build_graph, loaded_processes
from llm_assets.core.models import ControlSnapshot, Process
from llm_assets.core.notebooks import NotebookInfo

_FIELDS: dict[type, tuple[str, ...]] = {}


def _row(value) -> list | None:
    """A row's values in field order, `upt_dt` left out (a shallow read: rows are flat)."""
    if value is None:
        return None
    kind = type(value)
    if kind not in _FIELDS:
        _FIELDS[kind] = tuple(f.name for f in fields(value) if f.name != "upt_dt")
    return [getattr(value, name) for name in _FIELDS[kind]]


def own_version(snapshot: ControlSnapshot, process: Process,
                notebook: NotebookInfo | None) -> str:
    """What defines this process's result, itself (not its upstream)."""
    sys_file = snapshot.sys_file_by_name.get(process.sys_file) if process.sys_file else None
    group = snapshot.group_by_name.get(process.prcs_grp)
    stream = snapshot.stream_by_name.get(group.strem_nm) if group else None
    text = json.dumps([notebook.digest if notebook else None, _row(process), _row(sys_file),
                       stream.question if stream else None], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def graph_versions(snapshot: ControlSnapshot, graph: ProcessGraph,
                   notebooks: dict[str, NotebookInfo]) -> dict[str, str]:
    """The code version of every loaded process of `snapshot` (its graph: `graph`), and of
    every tier gate of the graph (the versions of the processes it waits for)."""
    processes = {p.prcs_nm: p for p in loaded_processes(snapshot)}
    versions: dict[str, str] = {}
    for root in processes:
        stack, entered = [root], {root}
        while stack:  # depth-first, upstream before downstream, without recursion
            name = stack[-1]
            if name in versions:
                stack.pop()
                continue
            ups = [u for u in graph.upstream(name) if u in processes or u in graph.barriers]
            missing = [u for u in ups if u not in versions and u not in entered]
            if missing:  # (an upstream already entered and unfinished closes a cycle)
                stack.extend(missing)
                entered.update(missing)
                continue
            stack.pop()
            process = processes.get(name)
            own = (own_version(snapshot, process, notebooks.get(process.nb_path_nm))
                   if process is not None else "tier gate")  # a gate passes its tier's on
            upstream = sorted(versions.get(u, "cycle") for u in ups)
            versions[name] = own if not upstream else hashlib.sha256(
                json.dumps([own, upstream]).encode()).hexdigest()[:16]
    return versions


def upstream_streams(snapshot: ControlSnapshot, streams: set[str]) -> set[str]:
    """`streams` and every stream a process of theirs depends on, transitively."""
    stream_of_group = {g.prcs_grp: g.strem_nm for g in snapshot.groups}
    found, frontier = set(streams), set(streams)
    while frontier:
        inside = {p.prcs_nm for p in snapshot.processes
                  if stream_of_group.get(p.prcs_grp) in frontier}
        ups = {d.dpnd_prcs_nm for d in snapshot.dependencies if d.prcs_nm in inside}
        frontier = {stream_of_group[snapshot.process_by_name[u].prcs_grp]
                    for u in ups if u in snapshot.process_by_name
                    and snapshot.process_by_name[u].prcs_grp in stream_of_group} - found
        found |= frontier
    return found


def stream_versions(snapshot: ControlSnapshot, notebooks: dict[str, NotebookInfo],
                    streams: set[str], part: ControlSnapshot | None = None) -> dict[str, str]:
    """The code versions of the processes of `streams`, equal to those `graph_versions`
    gives on the whole `snapshot`, computed from the streams they depend on only.  `part`:
    `snapshot.for_streams(streams)`, when at hand; if none of its processes lies outside
    `streams` (no dependency leaves them), it is all that is needed."""
    if part is not None and all(part.group_by_name[p.prcs_grp].strem_nm in streams
                                for p in part.processes):
        return graph_versions(part, build_graph(part), notebooks)
    needed = upstream_streams(snapshot, streams)
    part = snapshot.without_streams({s.strem_nm for s in snapshot.streams} - needed)
    return graph_versions(part, build_graph(part), notebooks)
