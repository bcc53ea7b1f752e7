"""The asset graph as the Dagster UI serves it (GraphQL of a real dagster-webserver on the demo
rows), and live reload: a new process row shows up after `llm-assets reload` or one tick of
the reload sensor, with the same webserver process still running."""

from __future__ import annotations

import dagster as dg
import pytest

from llm_assets.core.names import STATUS_GROUP
from llm_assets.defs.reload import reload_sensors
from llm_assets.store.fingerprint import database_fingerprint
from llm_assets.store.snapshot import load_snapshot
from tests.support.pg import execute, prepare
from tests.support.project import project_env, run
from tests.support.webserver import dagster_ui, free_port

pytestmark = pytest.mark.e2e



def _deps(node: dict) -> set[str]:
    return {"/".join(k["path"]) for k in node["dependencyKeys"]}


def _insert_process(url: str, name: str, depends_on: str) -> None:
    execute(url, "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm) "
                 "VALUES (%s, 'demo_sales_report', 2, 'demo/sales_summary.ipynb')", (name,))
    execute(url, "INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) "
                 "VALUES (%s, %s)", (name, depends_on))


def test_asset_groups_are_the_process_groups(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    process_groups = dict(execute(
        pg_url, "SELECT prcs_nm, prcs_grp FROM cntl_af.cntl_cfg_prcs WHERE act_f = 1"))
    with dagster_ui(project_env(pg_url, tmp_path)) as server:
        graph = server.asset_graph()
    processes = {k: v for k, v in graph.items() if v["groupName"] != STATUS_GROUP}
    assert {k: v["groupName"] for k, v in processes.items()} == process_groups
    assert set(process_groups.values()) == {"demo_sales_prep", "demo_sales_report"}
    assert _deps(processes["demo_sales_summary"]) == {"demo_sales_orders",
                                                     "demo_sales_customers"}
    assert _deps(processes["demo_sales_orders"]) == set()
    assert all(n["isMaterializable"] and "demo_sales" in n["jobNames"]
               for n in processes.values())
    assert "llm_assets_control_tables" in graph  # the always-visible status node


def test_new_process_row_appears_without_restarting_the_webserver(pg_url, tmp_path,
                                                                   monkeypatch):
    prepare(pg_url, "001_demo_sales.sql")
    env = project_env(pg_url, tmp_path)
    loaded = load_snapshot(pg_url)  # what the webserver's code location is built from
    with dagster_ui(env) as server:
        pid = server.proc.pid
        assert "demo_sales_extra" not in server.asset_graph()

        # 1. on demand: `llm-assets reload`
        _insert_process(pg_url, "demo_sales_extra", "demo_sales_orders")
        proc = run(["llm-assets", "reload", "--url", server.graphql_url], env, timeout=180)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "reloaded code location llm_assets" in proc.stdout
        assert "4 process asset(s)" in proc.stdout, proc.stdout
        assert database_fingerprint(pg_url).value in proc.stdout
        graph = server.asset_graph()
        assert graph["demo_sales_extra"]["groupName"] == "demo_sales_report"
        assert _deps(graph["demo_sales_extra"]) >= {"demo_sales_orders"}

        # 2. one tick of the reload sensor, evaluated against the running webserver
        monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
        monkeypatch.setenv("LLM_ASSETS_WEBSERVER_URL", server.url)
        sensor = reload_sensors(load_snapshot(pg_url))[0]
        unchanged = sensor(dg.build_sensor_context())
        assert "unchanged" in unchanged.skip_message, unchanged.skip_message

        _insert_process(pg_url, "demo_sales_more", "demo_sales_extra")
        sensor = reload_sensors(loaded)[0]
        tick = sensor(dg.build_sensor_context())
        assert "reloaded code location llm_assets" in tick.skip_message, tick.skip_message
        assert "5 process asset(s)" in tick.skip_message, tick.skip_message
        graph = server.asset_graph()
        assert _deps(graph["demo_sales_more"]) >= {"demo_sales_extra"}

        server.assert_alive()
        assert server.proc.pid == pid


def test_reload_names_the_url_when_the_webserver_is_unreachable(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    url = f"http://127.0.0.1:{free_port()}/graphql"
    proc = run(["llm-assets", "reload", "--url", url], project_env(pg_url, tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"cannot reach the Dagster webserver at {url}" in proc.stderr, proc.stderr
