"""Script processes (`nb_path_nm` ending `.py`): run in the step process without a kernel,
same parameters, results, upstream values and log rows as notebooks; a failure names the
script, the line and the error."""

from __future__ import annotations

import pickle

import dagster as dg
import pytest

from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.log.conftest import log_rows
from tests.support.pg import execute, prepare
from tests.support.project import project_env, run

pytestmark = pytest.mark.e2e

ROWS = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('scripts'), ('scripts_fail');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES
    ('scripts_make', 'scripts', 1), ('scripts_use', 'scripts', 2),
    ('scripts_bad', 'scripts_fail', 1);
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm) VALUES
    ('script_orders', 'scripts_make', 'demo/sales_orders.py', 'rows=25|seed=4'),
    ('nb_after_script', 'scripts_use', 'demo/join_upstream.ipynb', NULL),
    ('script_fails', 'scripts_bad', 'demo/sales_orders.py', 'rows=5|fail_at_row=3');
INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) VALUES
    ('nb_after_script', 'script_orders');
"""


def test_script_process_feeds_a_notebook_and_logs_like_one(pg_url, tmp_path, monkeypatch):
    prepare(pg_url)
    execute(pg_url, ROWS)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path)
    proc = run(["llm-assets", "run", "scripts"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    orders = pickle.loads((tmp_path / "datalake" / "io" / "script_orders").read_bytes())
    assert len(orders) == 25 and list(orders.columns) == ["order_id", "customer_id", "amount"]
    joined = pickle.loads((tmp_path / "datalake" / "io" / "nb_after_script").read_bytes())
    assert joined == {"script_orders": 25}  # the script's result reached the notebook

    rows = {p: row for (_, p), row in log_rows(pg_url).items()}
    assert rows["script_orders"]["status"] == SUCCESS
    assert (rows["script_orders"]["source_row"], rows["script_orders"]["target_row"]) == (0, 25)
    assert rows["nb_after_script"]["status"] == SUCCESS
    # no kernel, so no executed notebook is stored for the script; the notebook's is
    runs = tmp_path / "datalake" / "runs" / "scripts"
    assert not (runs / "script_orders").exists()
    assert list((runs / "nb_after_script").glob("*/nb_after_script.ipynb"))


def test_failing_script_names_script_line_and_error(pg_url, tmp_path, monkeypatch):
    prepare(pg_url)
    execute(pg_url, ROWS)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path)
    proc = run(["llm-assets", "run", "scripts_fail"], env)
    assert proc.returncode != 0
    row = {p: r for (_, p), r in log_rows(pg_url).items()}["script_fails"]
    assert row["status"] == FAILED
    message = row["message"]
    assert "script notebooks/demo/sales_orders.py of process script_fails failed" in message
    assert "at line 15" in message and "ValueError: refusing row 3" in message, message
    assert not (tmp_path / "datalake" / "io" / "script_fails").exists()


def test_script_runs_by_hand_with_its_defaults(tmp_path):
    import subprocess
    import sys

    from tests.support.project import ROOT

    out = subprocess.run([sys.executable, "notebooks/demo/sales_orders.py"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "demo_sales_orders: 200 orders" in out.stdout


def test_two_streams_in_one_process_each_get_their_own_step_scope(pg_url, tmp_path,
                                                                   monkeypatch):
    """Step processes fork from a forkserver that preloads Dagster and llm_assets; Python keeps
    one forkserver per process, so a second run in the same process (here `llm-assets run`
    with two streams) must not inherit the first run's scope (it would not find its job)."""
    prepare(pg_url)
    execute(pg_url, ROWS.replace("'rows=5|fail_at_row=3'", "'rows=5'"))
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path)
    proc = run(["llm-assets", "run", "scripts_fail", "scripts"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {p: row["status"] for (_, p), row in log_rows(pg_url).items()}
    assert rows == {"script_fails": SUCCESS, "script_orders": SUCCESS,
                    "nb_after_script": SUCCESS}


def test_the_asset_graph_tells_scripts_from_notebooks(pg_url, tmp_path, monkeypatch):
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets.core.settings import notebooks_dir
    from llm_assets.core.state import ControlState
    from llm_assets.defs.build import build_definitions
    from llm_assets.store.snapshot import load_snapshot

    prepare(pg_url)
    execute(pg_url, ROWS)
    monkeypatch.setenv("LLM_ASSETS_HOME", str(tmp_path))
    graph = build_definitions(ControlState.build(load_snapshot(pg_url), notebooks_dir()),
                              resources=resources_for_profile("local")) \
        .get_repository_def().asset_graph
    script = graph.get(dg.AssetKey("script_orders"))
    notebook = graph.get(dg.AssetKey("nb_after_script"))
    assert script.kinds == {"python"} and notebook.kinds == {"ipynb"}
    assert "script notebooks/demo/sales_orders.py" in script.description
    assert "notebook notebooks/demo/join_upstream.ipynb" in notebook.description
    assert "script" in script.metadata and "notebook" in notebook.metadata
