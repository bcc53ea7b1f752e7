"""Unchanged processes behind a priority-tier gate (llm_assets.runtime.memo with
llm_assets.defs.barriers): a gate's data version never changes, so a gated process is handed on
only while the processes the gate waits for have the data versions they had when it was last
materialized; a changed result before the gate runs every gated process again.  Script
processes (no kernels) keep the three runs cheap."""

from __future__ import annotations

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT_SCRIPT = """
import os
from llm_assets import nb

params = nb.params({"process": "gate_root"})
nb.result({"value": os.environ["GATE_TEST_VALUE"]})
"""
GATED_SCRIPT = """
from llm_assets import nb

params = nb.params({"process": "gate_next"})
nb.result({"gated": True})
"""
ROOTS, GATED = ["gate_root_1", "gate_root_2"], ["gate_next_1", "gate_next_2", "gate_next_3"]
ROWS = f"""
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('gated');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES
    ('gated_first', 'gated', 1), ('gated_then', 'gated', 2);
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) VALUES
    {", ".join(f"('{n}', 'gated_first', 'gate/root.py')" for n in ROOTS)},
    {", ".join(f"('{n}', 'gated_then', 'gate/next.py')" for n in GATED)};
"""


def _run(env, pg_url, value: str) -> tuple[str, dict[str, str | None]]:
    proc = run(["llm-assets", "run", "gated"], {**env, "GATE_TEST_VALUE": value}, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    run_id = proc.stdout.split(" run ")[1].split()[0]
    rows = execute(pg_url, "SELECT prcs_nm, status, message FROM cntl_af.cntl_cfg_log "
                           "WHERE run_id = %s", (run_id,))
    assert {status for _, status, _ in rows} == {0}, rows
    return run_id, {name: message for name, _, message in rows}


def test_gated_processes_follow_what_the_gate_waits_for(pg_url, tmp_path):
    from llm_assets.core.graph import build_graph
    from llm_assets.store.snapshot import load_snapshot

    prepare(pg_url)
    execute(pg_url, ROWS)
    notebooks = tmp_path / "notebooks"
    (notebooks / "gate").mkdir(parents=True)
    (notebooks / "gate" / "root.py").write_text(ROOT_SCRIPT)
    (notebooks / "gate" / "next.py").write_text(GATED_SCRIPT)
    env = project_env(pg_url, tmp_path / "home", LLM_ASSETS_NOTEBOOKS_DIR=str(notebooks))
    graph = build_graph(load_snapshot(pg_url))
    assert [b.waits_for for b in graph.barriers.values()] == [tuple(ROOTS)]  # one gate
    assert all(set(graph.order_deps[n]) == set(graph.barriers) for n in GATED)

    first, messages = _run(env, pg_url, "a")
    assert set(messages) == {*ROOTS, *GATED} and set(messages.values()) == {None}

    # 1. the roots (no upstream: they always run) give the same results: the gated processes
    #    are handed on
    _, messages = _run(env, pg_url, "a")
    assert all(messages[n] is None for n in ROOTS), messages
    assert all(messages[n].startswith(f"unchanged since run {first}: ") for n in GATED), \
        messages

    # 2. a root's result changes: the gate passes as always, but every gated process runs
    _, messages = _run(env, pg_url, "b")
    assert all(messages[n] is None for n in GATED), messages
