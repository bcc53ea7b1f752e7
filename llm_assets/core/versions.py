"""Code versions of processes: what Dagster compares to mark an asset changed ("unsynced").

A process's own version hashes what defines its result: its notebook or script file (the
digest in the ControlState), its control row, its sys-file row, its stream's question (the
`question` parameter); `upt_dt` is left out, so touching a row without changing it changes
nothing.  Its code version adds the code versions of every process it depends on (dependency
rows and priority-tier order), so an edit marks the edited process and everything downstream
of it as changed, and "Materialize unsynced" reruns exactly those.

Step processes and kernels build only their scope; they compute the versions of the streams
they build from the streams those depend on (complete streams, so the tier order is the same
as in the full graph), never from the whole snapshot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from llm_assets.core.graph import ProcessGraph, build_graph, loaded_processes
from llm_assets.core.models import ControlSnapshot, Process
from llm_assets.core.notebooks import NotebookInfo


def _row(value) -> dict | None:
    return {k: v for k, v in asdict(value).items() if k != "upt_dt"} if value else None


def own_version(snapshot: ControlSnapshot, process: Process,
                notebook: NotebookInfo | None) -> str:
    """What defines this process's result, itself (not its upstream)."""
    sys_file = snapshot.sys_file_by_name.get(process.sys_file) if process.sys_file else None
    group = snapshot.group_by_name.get(process.prcs_grp)
    stream = snapshot.stream_by_name.get(group.strem_nm) if group else None
    text = json.dumps([notebook.digest if notebook else None, _row(process), _row(sys_file),
                       stream.question if stream else None], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def graph_versions(snapshot: ControlSnapshot, graph: ProcessGraph,
                   notebooks: dict[str, NotebookInfo]) -> dict[str, str]:
    """The code version of every loaded process of `snapshot` (its graph: `graph`)."""
    processes = {p.prcs_nm: p for p in loaded_processes(snapshot)}
    versions: dict[str, str] = {}
    for root in processes:
        stack = [root]
        while stack:  # depth-first, upstream before downstream, without recursion
            name = stack[-1]
            if name in versions:
                stack.pop()
                continue
            ups = [u for u in graph.upstream(name) if u in processes]
            missing = [u for u in ups if u not in versions and u not in stack]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            process = processes[name]
            own = own_version(snapshot, process, notebooks.get(process.nb_path_nm))
            upstream = sorted(versions.get(u, "cycle") for u in ups)
            versions[name] = own if not upstream else hashlib.sha256(
                json.dumps([own, upstream]).encode()).hexdigest()[:16]
    return versions


def upstream_streams(snapshot: ControlSnapshot, streams: set[str]) -> set[str]:
    """`streams` and every stream a process of theirs depends on, transitively."""
    stream_of = {p.prcs_nm: snapshot.group_by_name[p.prcs_grp].strem_nm
                 for p in snapshot.processes if p.prcs_grp in snapshot.group_by_name}
    ups_of: dict[str, set[str]] = {}
    for dep in snapshot.dependencies:
        if dep.act_f and dep.prcs_nm in stream_of and dep.dpnd_prcs_nm in stream_of:
            ups_of.setdefault(stream_of[dep.prcs_nm], set()).add(stream_of[dep.dpnd_prcs_nm])
    found, todo = set(streams), list(streams)
    while todo:
        for up in ups_of.get(todo.pop(), ()):
            if up not in found:
                found.add(up)
                todo.append(up)
    return found


def stream_versions(snapshot: ControlSnapshot, notebooks: dict[str, NotebookInfo],
                    streams: set[str]) -> dict[str, str]:
    """The code versions of the processes of `streams`, equal to those `graph_versions`
    gives on the whole `snapshot`, computed from the streams they depend on only."""
    needed = upstream_streams(snapshot, streams)
    part = snapshot.without_streams({s.strem_nm for s in snapshot.streams} - needed)
    return graph_versions(part, build_graph(part), notebooks)
