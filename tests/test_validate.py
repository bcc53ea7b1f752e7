"""Validation: every defect named in one pass; clean streams still load and run."""

from __future__ import annotations

import dagster as dg
import pytest

from llm_assets.core import settings
from llm_assets.core.models import (
    ControlSnapshot,
    Dependency,
    Process,
    ProcessGroup,
    Stream,
    SysFile,
)
from llm_assets.core.validate import validate
from llm_assets.store.snapshot import load_snapshot
from tests.support.pg import prepare
from tests.support.project import project_env, run

FIXTURE = "tests/fixtures/defects.sql"

# (defect, text that must appear in the validate output)
EXPECTED = [
    ("D1 unknown file_type", "cntl_cfg_sys_file[weird_type]: file_type 'docx' is unknown"),
    ("D2 stream without process", "cntl_cfg_strem[empty_stream]: active stream has no active"),
    ("D3 invalid job name", "cntl_cfg_strem[Bad-Stream]: stream name is not a valid Dagster"),
    ("D4 invalid group name", "cntl_cfg_prcs_grp[bad group]: group name is not a valid"),
    ("D5 malformed nb_parm", "cntl_cfg_prcs[bad_refs_b]: nb_parm '{\"broken\": '"),
    ("D6 case-only names", "cntl_cfg_prcs[NAMES_X / names_x]: names differ only in case"),
    ("D7 invalid asset name", "cntl_cfg_prcs[names-dash]: process name is not a valid Dagster"),
    ("D8 absolute notebook", "cntl_cfg_prcs[path_abs]: nb_path_nm '/etc/passwd.ipynb' is abs"),
    ("D9 escaping notebook", "cntl_cfg_prcs[path_escape]: nb_path_nm '../sql/x.ipynb' escapes"),
    ("D10 missing notebook", "cntl_cfg_prcs[path_missing]: notebook 'demo/nope.ipynb' does not"),
    ("D11 inactive upstream", "[bad_refs_a -> sleeping]: depends on inactive process 'sleeping'"),
    ("D12 cycle", "dependency cycle cyc_a -> cyc_b -> cyc_c -> cyc_a"),
    ("D13 priority cycle", "(closed by priority order"),
    ("D14 bad cron", "cntl_cfg_schedule[cyclic '61 25 * * *']: is not a valid cron"),
]


@pytest.mark.e2e
def test_validate_names_every_defect_and_clean_stream_runs(pg_url, tmp_path):
    prepare(pg_url, FIXTURE)
    env = project_env(pg_url, tmp_path)
    proc = run(["llm-assets", "validate"], env)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    missing = [name for name, text in EXPECTED if text not in out]
    assert not missing, f"not reported: {missing}\n{out}"
    for stream in ("bad_refs", "cyclic", "prio_cycle", "names", "paths", "empty_stream",
                   "Bad-Stream", "downstream_of_bad"):
        assert f"excluded stream: {stream}" in out
    assert "streams that load: good" in out
    assert "excluded stream: good" not in out
    # every line names a table and a fix
    for line in out.splitlines():
        if line.startswith("cntl_cfg_"):
            assert "Fix:" in line, line

    # the clean stream still loads and runs
    proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j", "good"],
               env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "RUN_SUCCESS" in proc.stdout + proc.stderr
    proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j", "cyclic"], env)
    assert proc.returncode != 0  # excluded: no such job


@pytest.mark.e2e
def test_excluded_streams_are_visible_in_the_definitions(pg_url, tmp_path, monkeypatch):
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets.core.names import STATUS_ASSET
    from llm_assets.core.settings import notebooks_dir
    from llm_assets.core.state import ControlState
    from llm_assets.defs.build import build_definitions

    prepare(pg_url, FIXTURE)
    monkeypatch.setenv("LLM_ASSETS_HOME", str(tmp_path))
    snapshot = load_snapshot(pg_url)
    repo = build_definitions(ControlState.build(snapshot, notebooks_dir()),
                             resources=resources_for_profile("local")) \
        .get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"good_a", "good_b", "good_c", STATUS_ASSET} == keys
    status = repo.asset_graph.get(dg.AssetKey(STATUS_ASSET))
    assert "cyclic" in status.description and "Excluded streams" in status.description
    assert [j.name for j in repo.get_all_jobs() if not j.name.startswith("__")] == ["good"]


def _snap(**tables) -> ControlSnapshot:
    base = dict(
        streams=(Stream("s"),),
        groups=(ProcessGroup("g", "s"),),
        processes=(Process("p", "g", "demo/sales_orders.ipynb"),),
    )
    base.update(tables)
    return ControlSnapshot(**base)


@pytest.mark.unit
@pytest.mark.parametrize("tables, text", [
    ({"groups": (ProcessGroup("g", "nowhere"),)}, "references unknown stream 'nowhere'"),
    ({"processes": (Process("p", "nogroup", "demo/sales_orders.ipynb"),)},
     "references unknown process group 'nogroup'"),
    ({"processes": (Process("p", "g", "demo/sales_orders.ipynb", sys_file="nofile"),)},
     "references unknown sys file 'nofile'"),
    ({"dependencies": (Dependency("p", "p"),)}, "a process cannot depend on itself"),
    ({"dependencies": (Dependency("p", "ghost"),)}, "depends on missing process 'ghost'"),
    ({"sys_files": (SysFile("f", "txt", chunk_size=0),)}, "chunk_size 0 is not > 0"),
    ({"sys_files": (SysFile("f", "txt", chunk_size=100, overlap=100),)},
     "overlap 100 is outside 0 <= overlap < chunk_size (100)"),
    ({"sys_files": (SysFile("f", "txt", chunk_size=100, overlap=-1),)}, "overlap -1 is outside"),
    ({"processes": (Process("p", "g", "demo/sales_orders.ipynb", prir=0),)}, "prir 0 is below 1"),
    ({"processes": (Process("context", "g", "demo/sales_orders.ipynb"),)},
     "process name is not a valid Dagster asset name"),
    ({"processes": (Process("p", "g", "demo/sales_orders.txt"),)},
     "is neither a .ipynb notebook nor a .py script"),
])
def test_rules_the_database_cannot_enforce(tables, text):
    result = validate(_snap(**tables), settings.notebooks_dir())
    assert any(text in str(p) for p in result.problems), [str(p) for p in result.problems]


@pytest.mark.unit
def test_clean_snapshot_has_no_problem_and_excludes_nothing():
    result = validate(_snap(), settings.notebooks_dir())
    assert result.ok and result.excluded == {}


@pytest.mark.unit
def test_exclusion_propagates_to_dependent_streams():
    snap = ControlSnapshot(
        streams=(Stream("a"), Stream("b"), Stream("c")),
        groups=(ProcessGroup("ga", "a"), ProcessGroup("gb", "b"), ProcessGroup("gc", "c")),
        processes=(Process("pa", "ga", "demo/missing.ipynb"),
                   Process("pb", "gb", "demo/sales_orders.ipynb"),
                   Process("pc", "gc", "demo/sales_orders.ipynb")),
        dependencies=(Dependency("pb", "pa"), Dependency("pc", "pb")),
    )
    result = validate(snap, settings.notebooks_dir())
    assert set(result.excluded) == {"a", "b", "c"}
    assert "depends on excluded stream(s) a" in result.excluded["b"][0]


@pytest.mark.unit
def test_a_bad_queue_in_nb_parm_excludes_its_stream_only():
    snapshot = ControlSnapshot(
        streams=(Stream("s_bad"), Stream("s_good")),
        groups=(ProcessGroup("g_bad", "s_bad"), ProcessGroup("g_good", "s_good")),
        processes=(Process("p_bad", "g_bad", "demo/sales_orders.ipynb", nb_parm="queue=gpu big!"),
                   Process("p_good", "g_good", "demo/sales_orders.ipynb",
                           nb_parm='{"queue": "gpu.big"}')))
    result = validate(snapshot, settings.notebooks_dir())
    assert [str(p) for p in result.problems] == [
        "cntl_cfg_prcs[p_bad]: nb_parm queue 'gpu big!' is not a queue name. Fix: use letters, "
        "digits, '_', '.', '-' (at most 100 characters)"]
    assert set(result.excluded) == {"s_bad"}
