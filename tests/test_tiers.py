"""Priority tiers in linear size (issue 14): the order between tiers takes O(processes) edges
(tier gates between wide tiers), waits exactly as the quadratic tier edges did, and appears in
Dagster as a light `tier_gate` asset that is not a process."""

from __future__ import annotations

import random

import dagster as dg
import pytest

from bench.synthetic import synthetic_snapshot
from llm_assets.core.graph import build_graph, loaded_processes
from llm_assets.core.models import ControlSnapshot, Dependency, Process, ProcessGroup, Stream
from llm_assets.core.names import BARRIER_KIND, BARRIER_TAG, PROCESS_TAG
from llm_assets.core.scope import Scope
from llm_assets.core.state import ControlState
from llm_assets.core.validate import validate

pytestmark = pytest.mark.unit

NB = "demo/sales_orders.ipynb"


def _reach(upstream, start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(upstream(start))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(upstream(node))
    return seen


def _quadratic_upstream(snapshot: ControlSnapshot):
    """The reference order: every process of a tier waits for every process of the previous
    tier of its stream, plus the explicit dependencies."""
    graph = build_graph(snapshot)
    stream_of = {p.prcs_nm: snapshot.group_by_name[p.prcs_grp].strem_nm
                 for p in loaded_processes(snapshot)}
    tiers: dict[str, list] = {}
    for name, tier in graph.tier_of.items():
        tiers.setdefault(stream_of[name], []).append(tier)
    previous = {}
    for stream, keys in tiers.items():
        ordered = sorted(set(keys))
        previous.update({(stream, b): a for a, b in zip(ordered, ordered[1:], strict=False)})
    members: dict[tuple, list[str]] = {}
    for name, tier in graph.tier_of.items():
        members.setdefault((stream_of[name], tier), []).append(name)

    def upstream(name: str) -> list[str]:
        before = previous.get((stream_of[name], graph.tier_of[name]))
        order = members[(stream_of[name], before)] if before else []
        return [*graph.data_deps.get(name, ()), *order]
    return upstream


def _random_snapshot(seed: int) -> ControlSnapshot:
    rng = random.Random(seed)
    streams, groups, processes, deps = [], [], [], []
    for s in range(2):
        stream = f"s{s}"
        streams.append(Stream(stream))
        earlier: list[str] = []
        for g in range(rng.randint(1, 4)):
            group = f"{stream}_g{g}"
            groups.append(ProcessGroup(group, stream, prir=rng.randint(1, 3)))
            for i in range(rng.randint(1, 12)):
                name = f"{group}_p{i}"
                processes.append(Process(name, group, NB, prir=rng.randint(1, 3)))
                for up in rng.sample(earlier, k=min(len(earlier), rng.randint(0, 2))):
                    deps.append(Dependency(name, up))
                earlier.append(name)
    return ControlSnapshot(streams=tuple(streams), groups=tuple(groups),
                           processes=tuple(processes), dependencies=tuple(deps))


def test_wide_tiers_of_10000_processes_take_linear_ordering_edges():
    snapshot = synthetic_snapshot(10_000, shape="wide")
    graph = build_graph(snapshot)
    assert len(snapshot.streams) == 20 and len(snapshot.groups) == 100
    # at most one ordering edge into and one out of each process, plus a constant per tier
    assert graph.ordering_edge_count() <= 2 * 10_000 + 20 * 5 * 2
    assert len(graph.barriers) == 20 * 4  # one gate per tier boundary of each stream
    # the direct tier edges were 100 x 100 per boundary (791,709 in issue 14)
    assert all(len(b.waits_for) == 100 and len(b.sources) == 100
               for b in graph.barriers.values())


@pytest.mark.parametrize("seed", range(40))
def test_gates_wait_exactly_as_the_quadratic_tier_edges(seed):
    snapshot = _random_snapshot(seed)
    graph = build_graph(snapshot)
    reference = _quadratic_upstream(snapshot)
    names = [p.prcs_nm for p in loaded_processes(snapshot)]
    for name in names:
        assert _reach(graph.upstream, name) - set(graph.barriers) == _reach(reference, name), name
    for barrier in graph.barriers.values():  # each boundary: fewer edges than s x t
        s, t = len(barrier.waits_for), len(barrier.sources)
        assert s * t > s + t


def test_narrow_boundaries_keep_direct_edges_and_wide_ones_get_a_gate():
    rows = ControlSnapshot(
        streams=(Stream("st"),),
        groups=(ProcessGroup("st_a", "st", 1), ProcessGroup("st_b", "st", 2)),
        processes=(*(Process(f"a{i}", "st_a", NB) for i in range(2)),
                   Process("b0", "st_b", NB),
                   *(Process(f"c{i}", "st_b", NB, prir=2) for i in range(3)),
                   *(Process(f"d{i}", "st_b", NB, prir=3) for i in range(3))),
    )
    graph = build_graph(rows)
    # 2 x 1 and 1 x 3: direct (2 and 3 edges; a gate would take 3 and 4)
    assert graph.order_deps["b0"] == ("a0", "a1")
    assert all(graph.order_deps[f"c{i}"] == ("b0",) for i in range(3))
    # 3 x 3: a gate (6 edges instead of 9), drawn in the gated tier's group
    (gate,) = graph.barriers.values()
    assert gate.name == "st__tier_2_3" and gate.group == "st_b"
    assert gate.waits_for == ("c0", "c1", "c2") and gate.after == (2, 2)
    assert all(graph.order_deps[f"d{i}"] == ("st__tier_2_3",) for i in range(3))


def test_a_cycle_closed_through_a_gate_is_reported_without_the_gate(tmp_path):
    groups = (ProcessGroup("cy_a", "cy", 1), ProcessGroup("cy_b", "cy", 2))
    processes = (*(Process(f"cy_a{i}", "cy_a", NB) for i in range(3)),
                 *(Process(f"cy_b{i}", "cy_b", NB) for i in range(3)))
    # an earlier tier depends on a later one: with the gate, a -> b -> gate -> a
    snapshot = ControlSnapshot(streams=(Stream("cy"),), groups=groups, processes=processes,
                               dependencies=(Dependency("cy_a0", "cy_b1"),))
    assert build_graph(snapshot).barriers
    result = validate(snapshot, tmp_path)
    cycles = [p for p in result.problems if "dependency cycle" in p.message]
    assert len(cycles) == 1, result.problems
    assert "closed by priority order" in cycles[0].message
    assert "__tier_" not in cycles[0].key and cycles[0].key.startswith("cy_")
    assert set(result.excluded) == {"cy"}


def test_a_process_named_like_a_gate_is_a_problem(tmp_path):
    groups = (ProcessGroup("nm_a", "nm", 1), ProcessGroup("nm_b", "nm", 2))
    processes = (*(Process(f"nm_a{i}", "nm_a", NB) for i in range(3)),
                 *(Process(f"nm_b{i}", "nm_b", NB) for i in range(2)),
                 Process("nm__tier_2_1", "nm_b", NB))
    result = validate(ControlSnapshot(streams=(Stream("nm"),), groups=groups,
                                      processes=processes), tmp_path)
    assert any(p.key == "nm__tier_2_1" and "priority-tier gate" in p.message
               for p in result.problems), result.problems
    assert set(result.excluded) == {"nm"}


def _definitions(snapshot: ControlSnapshot, tmp_path, monkeypatch, scope: Scope = Scope()):
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets.defs.build import build_definitions

    monkeypatch.setenv("LLM_ASSETS_HOME", str(tmp_path))
    return build_definitions(ControlState(snapshot), resources=resources_for_profile("local"),
                             notebooks_root=tmp_path, scope=scope)


def test_a_gate_is_a_light_asset_and_not_a_process(tmp_path, monkeypatch):
    snapshot = synthetic_snapshot(500, shape="wide")  # one stream, 5 tiers of 100
    repo = _definitions(snapshot, tmp_path, monkeypatch).get_repository_def()
    graph = build_graph(snapshot)
    gate_key = dg.AssetKey("s0000__tier_2_1")
    node = repo.asset_graph.get(gate_key)
    assert node.kinds == {BARRIER_KIND} and node.group_name == "s0000_g1"
    assert len(node.parent_keys) == 100 and len(node.child_keys) == 100
    op = repo.assets_defs_by_key[gate_key].node_def
    assert op.tags[BARRIER_TAG] == "s0000" and PROCESS_TAG not in op.tags
    assert not op.required_resource_keys
    # each process: at most one ordering upstream (its tier's gate) and its data inputs
    gated = 0
    for process in snapshot.processes:
        parents = repo.asset_graph.get(dg.AssetKey(process.prcs_nm)).parent_keys
        order = {k for k in parents if k.to_user_string() in graph.barriers}
        assert len(order) <= 1
        assert len(parents - order) == len(graph.data_deps.get(process.prcs_nm, ()))
        gated += len(order)
    assert gated == 400  # every process of tiers 2..5
    stream_job = repo.get_job("s0000")
    assert {n for n in stream_job.graph.node_names() if "__tier_" in n} == {
        f"s0000__tier_{g}_1" for g in range(2, 6)}
    # single-asset materialization: a process alone is one step, without its gate
    single = repo.get_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey("p000250")})
    assert single.graph.node_names() == ["p000250"]


def test_scoped_builds_hold_the_gates_they_run(tmp_path, monkeypatch):
    snapshot = synthetic_snapshot(1000, shape="wide")  # streams s0000 and s0001

    def gates(scope: Scope) -> set[str]:
        repo = _definitions(snapshot, tmp_path, monkeypatch, scope).get_repository_def()
        return {n.key.to_user_string() for n in repo.asset_graph.asset_nodes
                if n.is_materializable and "__tier_" in n.key.to_user_string()}

    assert gates(Scope(streams=frozenset({"s0001"}))) == {
        f"s0001__tier_{g}_1" for g in range(2, 6)}
    assert gates(Scope(processes=frozenset({"p000250"}))) == set()
    assert gates(Scope(processes=frozenset({"s0000__tier_3_1"}))) == {"s0000__tier_3_1"}
    assert snapshot.streams_of(None, {"s0001__tier_2_1", "p000001"}) == {"s0000", "s0001"}
