"""Live reload as a user of `make dev` sees it: under `dagster dev` (webserver + daemon), a new
process row and its dependency reach the asset graph within a tick of the reload sensor, with
no process restarted; the browser then shows the new node."""

from __future__ import annotations

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import project_env
from tests.support.webserver import dagster_ui
from tests.ui.browser import browser_page, open_asset_graph, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

INTERVAL = 5  # LLM_ASSETS_RELOAD_INTERVAL for this test; the default is 15 s


def test_reload_sensor_brings_a_new_process_into_the_ui(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    env = project_env(pg_url, tmp_path, LLM_ASSETS_RELOAD_INTERVAL=str(INTERVAL))
    with dagster_ui(env, daemon=True) as server:
        pid = server.proc.pid
        wait_until(lambda: "Sensor llm_assets_control_reload skipped: control tables unchanged"
                   in server.log_tail(200_000), 60, "a first tick of the reload sensor")

        execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm)"
                        " VALUES ('demo_sales_forecast', 'demo_sales_report', 2,"
                        " 'demo/sales_summary.ipynb')")
        execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) VALUES"
                        " ('demo_sales_forecast', 'demo_sales_summary')")
        graph = wait_until(lambda: (g := server.asset_graph()).get("demo_sales_forecast") and g,
                           90, "the reload sensor to bring demo_sales_forecast into the graph")
        node = graph["demo_sales_forecast"]
        assert node["groupName"] == "demo_sales_report"
        assert ["demo_sales_summary"] in [k["path"] for k in node["dependencyKeys"]]
        assert "Sensor llm_assets_control_reload skipped: control tables changed" in \
            server.log_tail(200_000)

        with browser_page() as page:
            open_asset_graph(page, server.url, {
                "demo_sales_report": ["demo_sales_summary", "demo_sales_forecast"]})

        server.assert_alive()
        assert server.proc.pid == pid
