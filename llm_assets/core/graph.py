"""The process graph a snapshot describes: explicit dependencies plus priority-tier order.

Tiers: within a stream, processes are ordered by (group prir, process prir); a process never
starts before every process of the previous tier has finished.  Rather than connecting every
process of tier k to every process of tier k-1 (quadratic), only the *sources* of tier k (no
explicit dependency inside their own tier) get order edges, and only from the *sinks* of tier
k-1 (nothing in their tier depends on them).  Reachability is the same: every process of tier
k still transitively waits for every process of tier k-1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from llm_assets.core.models import ControlSnapshot


@dataclass(frozen=True)
class ProcessGraph:
    data_deps: dict[str, tuple[str, ...]]   # explicit dependency rows: values flow through
    order_deps: dict[str, tuple[str, ...]]  # priority-tier order only (no value passed)
    tier_of: dict[str, tuple[int, int]]

    def upstream(self, name: str) -> tuple[str, ...]:
        return self.data_deps.get(name, ()) + self.order_deps.get(name, ())


def loaded_processes(snapshot: ControlSnapshot) -> list:
    return [p for p in snapshot.processes if snapshot.is_loaded(p)]


def build_graph(snapshot: ControlSnapshot) -> ProcessGraph:
    processes = loaded_processes(snapshot)
    loaded = {p.prcs_nm for p in processes}
    data: dict[str, list[str]] = defaultdict(list)
    for dep in snapshot.dependencies:
        if dep.act_f and dep.prcs_nm in loaded and dep.dpnd_prcs_nm in loaded \
                and dep.prcs_nm != dep.dpnd_prcs_nm:
            data[dep.prcs_nm].append(dep.dpnd_prcs_nm)

    tier_of: dict[str, tuple[int, int]] = {}
    stream_tiers: dict[str, dict[tuple[int, int], list[str]]] = defaultdict(
        lambda: defaultdict(list))
    for p in processes:
        group = snapshot.group_by_name[p.prcs_grp]
        tier = (group.prir, p.prir)
        tier_of[p.prcs_nm] = tier
        stream_tiers[group.strem_nm][tier].append(p.prcs_nm)

    order: dict[str, list[str]] = defaultdict(list)
    for tiers in stream_tiers.values():
        ordered = [tiers[key] for key in sorted(tiers)]
        for previous, current in zip(ordered, ordered[1:], strict=False):
            prev_set, cur_set = set(previous), set(current)
            has_dependent = {u for name in previous for u in data.get(name, ()) if u in prev_set}
            sinks = [name for name in previous if name not in has_dependent]
            for name in current:
                if not any(u in cur_set for u in data.get(name, ())):  # a source of its tier
                    already = set(data.get(name, ()))
                    order[name].extend(s for s in sinks if s not in already)
    return ProcessGraph(
        data_deps={k: tuple(v) for k, v in data.items()},
        order_deps={k: tuple(v) for k, v in order.items()},
        tier_of=tier_of,
    )


def find_cycles(graph: ProcessGraph, nodes: list[str]) -> list[list[str]]:
    """Each cycle once, as a path [a, b, ..., a] where each depends on the next."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(nodes, white)
    cycles: list[list[str]] = []
    for root in nodes:
        if color[root] != white:
            continue
        stack = [(root, iter(graph.upstream(root)))]
        path = [root]
        color[root] = grey
        while stack:
            node, children = stack[-1]
            advanced = False
            for child in children:
                if child not in color:
                    continue
                if color[child] == grey:
                    cycles.append(path[path.index(child):] + [child])
                elif color[child] == white:
                    color[child] = grey
                    stack.append((child, iter(graph.upstream(child))))
                    path.append(child)
                    advanced = True
                    break
            if not advanced:
                color[node] = black
                stack.pop()
                path.pop()
    return cycles
