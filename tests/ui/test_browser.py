"""The Dagster UI in a real browser (headless Chromium): the asset graph shows the process
groups of the demo rows, "Materialize all" launches a run that succeeds (the daemon of
`dagster dev` dequeues it), and a screenshot of the graph is kept as a test artifact."""

from __future__ import annotations

import pytest

from llm_assets.core.names import STATUS_GROUP
from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env
from tests.support.webserver import dagster_ui
from tests.ui.browser import (
    asset_node,
    browser_page,
    chromium_path,
    group_node,
    open_asset_graph,
    sidebar_groups,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = ROOT / "test-artifacts" / "ui" / "asset_graph.png"
RUNS = """
{
  runsOrError {
    __typename
    ... on Runs { results { runId status } }
    ... on PythonError { message }
  }
}
"""
MATERIALIZATIONS = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }
"""


def _groups(url: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for process, group in execute(url, "SELECT prcs_nm, prcs_grp FROM cntl_af.cntl_cfg_prcs "
                                       "WHERE act_f = 1 ORDER BY prir, prcs_nm"):
        groups.setdefault(group, []).append(process)
    return groups


def _finished_run(server) -> dict | None:
    runs = server.graphql(RUNS)["runsOrError"]
    assert runs["__typename"] == "Runs", runs
    assert len(runs["results"]) <= 1, runs  # only the run launched from the UI
    if runs["results"] and runs["results"][0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
        return runs["results"][0]
    return None


def test_asset_graph_in_the_browser_and_materialize_all(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    groups = _groups(pg_url)
    assert set(groups) == {"demo_sales_prep", "demo_sales_report"}
    with dagster_ui(project_env(pg_url, tmp_path), daemon=True) as server, \
            browser_page() as page:
        page.goto(server.url + "/asset-groups")
        for group in groups:
            group_node(page, group).wait_for()
        assert sidebar_groups(page) == {*groups, STATUS_GROUP}

        open_asset_graph(page, server.url, groups)
        button = page.get_by_role("button", name="Materialize all")
        assert "(3)" in button.inner_text()  # the three process assets, not the status node
        button.click()

        run = wait_until(lambda: _finished_run(server), 300, "the run launched from the UI")
        assert run["status"] == "SUCCESS", f"{run}\n{server.log_tail()}"
        nodes = server.graphql(MATERIALIZATIONS)["assetNodes"]
        materialized = {"/".join(n["assetKey"]["path"]): n["assetMaterializations"]
                        for n in nodes}
        for assets in groups.values():
            for asset in assets:
                assert [m["runId"] for m in materialized[asset]] == [run["runId"]], asset

        # the log mirror sensor is on by default in `dagster dev`: no click, rows appear
        def logged():
            rows = execute(pg_url, "SELECT prcs_nm, status FROM cntl_af.cntl_cfg_log "
                                   "WHERE run_id = %s ORDER BY prcs_nm", (run["runId"],))
            return rows if len(rows) == 3 and all(s == 0 for _, s in rows) else None

        rows = wait_until(logged, 120, "the log mirror sensor to write the run's log rows")
        assert [p for p, _ in rows] == sorted(a for assets in groups.values() for a in assets)

        page.reload()
        for assets in groups.values():
            for asset in assets:
                asset_node(page, asset).wait_for()
        wait_until(lambda: page.get_by_text("Materialized", exact=True).count() >= 3, 60,
                   "the graph to show the three materializations")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert not page.get_by_text("Join the Dagster community").is_visible()
        page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_missing_chromium_fails_with_a_clear_message():
    with pytest.raises(pytest.fail.Exception, match="Chromium is not installed"):
        chromium_path(["/nonexistent/chromium", None])
