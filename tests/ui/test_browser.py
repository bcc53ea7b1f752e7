"""The Dagster UI in a real browser (headless Chromium): the asset graph shows the process
groups of the demo rows, "Materialize all" launches a run that succeeds (the daemon of
`dagster dev` dequeues it), a stream of two wide priority tiers shows as two tiers around its
tier gate, and screenshots of the graphs are kept as test artifacts (test-artifacts/ui/)."""

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
TIERS_SCREENSHOT = ROOT / "test-artifacts" / "ui" / "asset_graph_wide_tiers.png"
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


WIDE = "ui_wide"
WIDE_GATE = f"{WIDE}__tier_1_2"


def _wide_rows(width: int = 50) -> str:
    """A stream of two priority tiers of `width` processes each, no dependency rows."""
    values = ", ".join(f"('{WIDE}_t{t}_p{i:02d}', '{WIDE}_g', {t}, 'bench/empty.ipynb')"
                       for t in (1, 2) for i in range(width))
    return (f"INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('{WIDE}');\n"
            "INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) "
            f"VALUES ('{WIDE}_g', '{WIDE}', 1);\n"
            "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm) "
            f"VALUES {values};")


def test_two_wide_tiers_show_as_tiers_around_one_gate(pg_url, tmp_path):
    """A 2 x 50 stream: 100 edges through the tier gate instead of 2,500, and the graph draws
    the first tier, the gate and the second tier one after the other."""
    prepare(pg_url)
    execute(pg_url, _wide_rows())
    first = [f"{WIDE}_t1_p{i:02d}" for i in range(50)]
    second = [f"{WIDE}_t2_p{i:02d}" for i in range(50)]
    with dagster_ui(project_env(pg_url, tmp_path)) as server, \
            browser_page(height=2400) as page:
        graph = server.asset_graph()
        deps = {key: {"/".join(d["path"]) for d in node["dependencyKeys"]}
                for key, node in graph.items() if node["groupName"] == f"{WIDE}_g"}
        assert set(deps) == {*first, *second, WIDE_GATE}
        assert deps[WIDE_GATE] == set(first)
        assert all(deps[p] == {WIDE_GATE} for p in second)
        assert not any(deps[p] for p in first)
        assert sum(len(d) for d in deps.values()) == 100  # the direct tier edges were 2,500

        open_asset_graph(page, server.url, {f"{WIDE}_g": [WIDE_GATE]})
        asset_node(page, WIDE_GATE).wait_for()
        # a column of 50 is taller than the page even at the smallest zoom, and the UI draws
        # only the nodes in view: zoom out until a good part of both tiers is drawn
        zoom_out = page.locator('button:has([aria-label="zoom_out"])')

        def drawn(names: list[str]) -> list[str]:
            return [n for n in names if asset_node(page, n).count()]

        wait_until(lambda: (len(drawn(first)) >= 10 and len(drawn(second)) >= 10)
                   or zoom_out.click() or False, 60, "both tiers to be drawn around the gate")

        def centre(name: str) -> tuple[float, float]:
            box = asset_node(page, name).bounding_box()
            assert box is not None, name
            return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

        gate = centre(WIDE_GATE)
        tier1, tier2 = [centre(n) for n in drawn(first)], [centre(n) for n in drawn(second)]
        # the graph runs left to right: the first tier in one column, then the gate, then the
        # second tier in the next column
        assert max(x for x, _ in tier1) < gate[0] < min(x for x, _ in tier2), (
            gate, tier1[:3], tier2[:3])
        assert max(x for x, _ in tier1) - min(x for x, _ in tier1) < 1  # one column each
        assert max(x for x, _ in tier2) - min(x for x, _ in tier2) < 1
        TIERS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(TIERS_SCREENSHOT))
    assert TIERS_SCREENSHOT.stat().st_size > 10_000


def test_a_missing_chromium_fails_with_a_clear_message():
    with pytest.raises(pytest.fail.Exception, match="Chromium is not installed"):
        chromium_path(["/nonexistent/chromium", None])
