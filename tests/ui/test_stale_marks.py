"""Stale processes in the Dagster UI (GraphQL of a real dagster-webserver): after a notebook
edit, and after a control-row edit, and a reload, the UI marks exactly the edited process and
its downstream as changed ("unsynced", what "Materialize unsynced" selects); rematerializing
exactly those leaves nothing unsynced; undoing an edit undoes its marks."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env, run
from tests.support.webserver import dagster_ui

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]

STALE = """
{ assetNodes { assetKey { path } groupName staleStatus
    staleCauses { key { path } reason category } } }
"""
PROCESSES = {"demo_sales_orders", "demo_sales_customers", "demo_sales_summary"}


def _unsynced(server) -> dict[str, list[str]]:
    """The processes the UI marks unsynced (stale or missing), with their causes."""
    marks = {}
    for node in server.graphql(STALE)["assetNodes"]:
        name = "/".join(node["assetKey"]["path"])
        if name in PROCESSES and node["staleStatus"] != "FRESH":
            marks[name] = [f"{node['staleStatus']}: {c['reason']}" for c in node["staleCauses"]]
    return marks


def _reload(server, env) -> None:
    proc = run(["llm-assets", "reload", "--url", server.graphql_url], env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _materialize(env, assets: set[str]) -> None:
    proc = run(["dagster", "asset", "materialize", "-m", "llm_assets.definitions", "--select",
                ",".join(sorted(assets))], env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def _edit_notebook(path) -> None:
    """A change to the notebook's content only (a comment in its first code cell)."""
    notebook = json.loads(path.read_text())
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    cell["source"] = ["# edited by the stale-marks test\n", *cell["source"]]
    path.write_text(json.dumps(notebook, indent=1))


def test_edits_mark_exactly_the_process_and_its_downstream(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks" / "demo", notebooks / "demo")
    env = project_env(pg_url, tmp_path / "home", LLM_ASSETS_NOTEBOOKS_DIR=str(notebooks))
    proc = run(["llm-assets", "run", "demo_sales"], env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]

    with dagster_ui(env) as server:
        # the code server's versions are those the run's step processes recorded
        assert _unsynced(server) == {}

        # 1. a notebook edit: orders, and summary downstream of it; not customers
        original = (notebooks / "demo" / "sales_orders.ipynb").read_text()
        _edit_notebook(notebooks / "demo" / "sales_orders.ipynb")
        assert _unsynced(server) == {}  # nothing changes before the location is reloaded
        _reload(server, env)
        marks = _unsynced(server)
        assert set(marks) == {"demo_sales_orders", "demo_sales_summary"}, marks
        assert marks["demo_sales_orders"] == ["STALE: has a new code version"], marks

        # undoing the edit undoes the marks
        (notebooks / "demo" / "sales_orders.ipynb").write_text(original)
        _reload(server, env)
        assert _unsynced(server) == {}

        # 2. a control-row edit: customers' nb_parm; summary downstream of it
        execute(pg_url, "UPDATE cntl_af.cntl_cfg_prcs SET nb_parm = 'note=edited' "
                        "WHERE prcs_nm = 'demo_sales_customers'")
        _reload(server, env)
        marks = _unsynced(server)
        assert set(marks) == {"demo_sales_customers", "demo_sales_summary"}, marks

        # rerunning exactly the marked processes brings everything in sync
        _materialize(env, set(marks))
        assert _unsynced(server) == {}
