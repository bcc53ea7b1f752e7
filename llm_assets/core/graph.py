"""The process graph a snapshot describes: explicit dependencies plus priority-tier order.

Tiers: within a stream, processes are ordered by (group prir, process prir); a process never
starts before every process of the previous tier has finished.  Only the *sources* of tier k
(no explicit dependency inside their own tier) wait for tier k-1, and only for its *sinks*
(nothing in their tier depends on them): every other process of tier k waits transitively
through a source, and every other process of tier k-1 is waited for through a sink.

Between the s sinks and the t sources of a tier boundary the order takes s + t edges through a
tier gate (a `Barrier`: a node that waits for the sinks and that the sources wait for) when
that is fewer than the s x t direct edges, i.e. when both tiers are wide (s x t > s + t);
otherwise the sources wait for the sinks directly.  So ordering edges are at most one per
process on each side of a boundary: linear in the processes, where direct edges between two
tiers of 100 take 10,000.  Reachability, hence the order, is the same either way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from llm_assets.core.models import ControlSnapshot

Tier = tuple[int, int]  # (group prir, process prir)


@dataclass(frozen=True)
class Barrier:
    """The gate of a tier: its sources start after it, it passes after the sinks of the
    previous tier.  Not a process: no notebook, no control row, no log row."""

    name: str                     # asset key and op name: <stream>__tier_<group prir>_<prir>
    stream: str
    group: str                    # the asset group it is drawn in: the gated tier's group
    tier: Tier                    # the tier it gates
    after: Tier                   # the tier it waits for
    waits_for: tuple[str, ...]    # the sinks of `after`
    sources: tuple[str, ...]      # the sources of `tier`, which wait for it


def barrier_name(stream: str, tier: Tier) -> str:
    return f"{stream}__tier_{tier[0]}_{tier[1]}"


@dataclass(frozen=True)
class ProcessGraph:
    data_deps: dict[str, tuple[str, ...]]   # explicit dependency rows: values flow through
    order_deps: dict[str, tuple[str, ...]]  # priority-tier order only: processes or barriers
    tier_of: dict[str, Tier]
    barriers: dict[str, Barrier]

    def upstream(self, name: str) -> tuple[str, ...]:
        barrier = self.barriers.get(name)
        if barrier is not None:
            return barrier.waits_for
        return self.data_deps.get(name, ()) + self.order_deps.get(name, ())

    def ordering_edge_count(self) -> int:
        """Edges that carry priority order only (to and from barriers, or direct)."""
        return (sum(len(v) for v in self.order_deps.values())
                + sum(len(b.waits_for) for b in self.barriers.values()))

    def stream_barriers(self, streams: set[str] | frozenset[str]) -> list[Barrier]:
        return [b for b in self.barriers.values() if b.stream in streams]


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

    tier_of: dict[str, Tier] = {}
    group_of: dict[str, str] = {}
    stream_tiers: dict[str, dict[Tier, list[str]]] = defaultdict(lambda: defaultdict(list))
    for p in processes:
        group = snapshot.group_by_name[p.prcs_grp]
        tier = (group.prir, p.prir)
        tier_of[p.prcs_nm] = tier
        group_of[p.prcs_nm] = group.prcs_grp
        stream_tiers[group.strem_nm][tier].append(p.prcs_nm)

    order: dict[str, list[str]] = defaultdict(list)
    barriers: dict[str, Barrier] = {}
    for stream, tiers in stream_tiers.items():
        keys = sorted(tiers)
        for after, tier in zip(keys, keys[1:], strict=False):
            previous, current = tiers[after], tiers[tier]
            prev_set, cur_set = set(previous), set(current)
            has_dependent = {u for name in previous for u in data.get(name, ()) if u in prev_set}
            sinks = [name for name in previous if name not in has_dependent]
            sources = [name for name in current
                       if not any(u in cur_set for u in data.get(name, ()))]
            if len(sinks) * len(sources) > len(sinks) + len(sources):
                name = barrier_name(stream, tier)
                barriers[name] = Barrier(name, stream, min(group_of[s] for s in sources), tier,
                                         after, tuple(sinks), tuple(sources))
                for source in sources:
                    order[source].append(name)
            else:
                for source in sources:
                    already = set(data.get(source, ()))
                    order[source].extend(s for s in sinks if s not in already)
    return ProcessGraph(
        data_deps={k: tuple(v) for k, v in data.items()},
        order_deps={k: tuple(v) for k, v in order.items() if v},
        tier_of=tier_of,
        barriers=barriers,
    )


def find_cycles(graph: ProcessGraph, nodes: list[str]) -> list[list[str]]:
    """Each cycle once, as a path [a, b, ..., a] where each depends on the next.  `nodes`:
    the processes to search from; the barriers of the graph are searched too."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys([*nodes, *graph.barriers], white)
    cycles: list[list[str]] = []
    for root in color:
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
