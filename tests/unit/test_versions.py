"""Code versions (llm_assets.core.versions): an edit changes the version of the edited process
and of everything downstream of it, nothing else; a scoped build (a step process) computes the
same versions as the code server's full build."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm_assets.core.graph import build_graph
from llm_assets.core.models import (
    ControlSnapshot,
    Dependency,
    Process,
    ProcessGroup,
    Stream,
    SysFile,
)
from llm_assets.core.notebooks import NotebookInfo
from llm_assets.core.state import ControlState
from llm_assets.core.versions import graph_versions

pytestmark = pytest.mark.unit

NOTEBOOKS = {"a.ipynb": NotebookInfo("d-a"), "b.ipynb": NotebookInfo("d-b"),
             "c.ipynb": NotebookInfo("d-c")}


def _snapshot(**changes) -> ControlSnapshot:
    """Stream s1: load -> (tier 2) ingest, answer <- ingest; side (tier 1, no dependents in
    its tier); stream s2: report <- s1's answer (a dependency across streams); s3 alone."""
    processes = {
        "load": Process("load", "s1_g1", "a.ipynb"),
        "side": Process("side", "s1_g1", "c.ipynb"),
        "ingest": Process("ingest", "s1_g2", "b.ipynb", sys_file="pdf", embed_model="m1"),
        "answer": Process("answer", "s1_g3", "c.ipynb", gen_model="g1"),
        "report": Process("report", "s2_g1", "a.ipynb"),
        "alone": Process("alone", "s3_g1", "a.ipynb"),
    }
    for name, fields in changes.items():
        processes[name] = replace(processes[name], **fields)
    return ControlSnapshot(
        streams=(Stream("s1", question="why?"), Stream("s2"), Stream("s3")),
        groups=(ProcessGroup("s1_g1", "s1", prir=1), ProcessGroup("s1_g2", "s1", prir=2),
                ProcessGroup("s1_g3", "s1", prir=3), ProcessGroup("s2_g1", "s2", prir=1),
                ProcessGroup("s3_g1", "s3", prir=1)),
        processes=tuple(processes.values()),
        sys_files=(SysFile("pdf", "pdf", chunk_size=700, overlap=100),),
        dependencies=(Dependency("ingest", "load"), Dependency("answer", "ingest"),
                      Dependency("report", "answer")),
    )


def _versions(snapshot: ControlSnapshot, notebooks=NOTEBOOKS) -> dict[str, str]:
    return graph_versions(snapshot, build_graph(snapshot), notebooks)


def _changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


DOWNSTREAM_OF_LOAD = {"load", "ingest", "answer", "report"}


@pytest.mark.parametrize("edit, changed", [
    # the notebook of `load` (a.ipynb is also `report`'s and `alone`'s notebook)
    (dict(notebooks={**NOTEBOOKS, "a.ipynb": NotebookInfo("d-a2")}),
     DOWNSTREAM_OF_LOAD | {"alone"}),
    (dict(snapshot=_snapshot(ingest=dict(embed_model="m2"))), {"ingest", "answer", "report"}),
    (dict(snapshot=_snapshot(answer=dict(nb_parm="top_k=3"))), {"answer", "report"}),
    (dict(snapshot=_snapshot(alone=dict(gen_model="g2"))), {"alone"}),
    # the sys-file row of `ingest`
    (dict(snapshot=replace(_snapshot(), sys_files=(SysFile("pdf", "pdf", chunk_size=500,
                                                           overlap=100),))),
     {"ingest", "answer", "report"}),
])
def test_an_edit_changes_the_process_and_its_downstream_only(edit, changed):
    before = _versions(_snapshot())
    after = _versions(edit.get("snapshot", _snapshot()), edit.get("notebooks", NOTEBOOKS))
    assert _changed(before, after) == changed


def test_the_stream_question_and_tier_order_count():
    before = _versions(_snapshot())
    asked = _snapshot()
    asked = replace(asked, streams=(Stream("s1", question="how?"), *asked.streams[1:]))
    # every s1 process gets the question as a parameter; s2's report depends on answer
    assert _changed(before, _versions(asked)) == {"load", "side", "ingest", "answer", "report"}
    # `side` runs before tier 2 (tier order), so its edit reaches ingest and after
    edited = _versions(_snapshot(side=dict(nb_parm="x=1")))
    assert _changed(before, edited) == {"side", "ingest", "answer", "report"}


def test_the_tier_order_counts_through_a_tier_gate():
    """Two wide tiers (3 x 3 processes, no dependency rows) are ordered through a gate: an
    edit of one process of the first tier changes every process of the second, not the
    other processes of the first."""
    processes = [Process(f"t{tier}_{i}", f"w_g{tier}", "a.ipynb") for tier in (1, 2)
                 for i in range(3)]
    wide = ControlSnapshot(
        streams=(Stream("w"),), processes=tuple(processes), sys_files=(), dependencies=(),
        groups=(ProcessGroup("w_g1", "w", prir=1), ProcessGroup("w_g2", "w", prir=2)))
    gates = set(build_graph(wide).barriers)
    assert len(gates) == 1  # the tiers are gated, not wired pairwise
    before = _versions(wide)
    edited = replace(wide, processes=(replace(processes[0], nb_parm="x=1"), *processes[1:]))
    assert _changed(before, _versions(edited)) == {"t1_0", "t2_0", "t2_1", "t2_2"} | gates


def test_upt_dt_changes_nothing():
    from datetime import datetime

    touched = _snapshot(load=dict(upt_dt=datetime(2030, 1, 1)))
    assert _versions(touched) == _versions(_snapshot())


def test_a_scoped_state_has_the_full_builds_versions():
    state = ControlState(_snapshot(), notebooks=NOTEBOOKS)
    full = _versions(_snapshot())
    for streams in ({"s2"}, {"s1"}, {"s3"}, {"s1", "s2"}):
        scoped = state.for_streams(streams)
        assert scoped.versions is not None
        built = {p.prcs_nm for p in scoped.snapshot.processes}
        assert scoped.versions == {name: full[name] for name in built}, streams


def test_a_shipped_scoped_state_keeps_the_full_builds_versions():
    """`llm-assets run s2` writes its stream's part (s2 and the s1 process it depends on) and
    its steps scope it again: the versions shipped with the part are kept, since the part
    alone (without s1's upstream) would give others."""
    state = ControlState(_snapshot(), notebooks=NOTEBOOKS)
    full = _versions(_snapshot())
    shipped = ControlState.from_text(state.for_streams({"s2"}).to_text())
    again = shipped.for_streams({"s2"})
    assert again.versions == {"report": full["report"], "answer": full["answer"]}
    part_alone = ControlState(shipped.snapshot, notebooks=shipped.notebooks)
    assert part_alone.for_streams({"s2"}).versions != again.versions  # what was fixed

