"""Executed notebooks one click away in the Dagster UI (headless Chromium), local profile:
from the asset page of a materialized process and from the failure of a failed process, the
`executed_notebook` link opens Dagster's notebook viewer showing the executed cells, outputs
and the traceback included."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env, run
from tests.support.webserver import dagster_ui
from tests.ui.browser import browser_page

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = ROOT / "tests" / "fixtures" / "notebooks"
VIEWER_LINK = 'a[href^="/notebook?path="]'


@pytest.fixture
def project_home():
    """A home under the project, as the default ./.llm_assets is: Dagster's notebook viewer
    serves files under the code location's working directory (the project root)."""
    parent = ROOT / "test-artifacts"
    parent.mkdir(exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="notebook-links-", dir=parent))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _open_link(page, link) -> object:
    """Click `link` (it opens a new tab, as the UI's links do) and return the new page."""
    link.scroll_into_view_if_needed()
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    viewer.wait_for_load_state()
    return viewer


def _cells(viewer) -> list[str]:
    """The text of the notebook cells nbconvert rendered (the viewer's HTML)."""
    cells = viewer.locator(".jp-Cell")
    cells.first.wait_for()
    return cells.all_inner_texts()


def test_executed_notebook_opens_from_asset_page_and_failure(pg_url, project_home):
    prepare(pg_url, "tests/fixtures/log_streams.sql")
    env = project_env(pg_url, project_home, LLM_ASSETS_NOTEBOOKS_DIR=str(NOTEBOOKS))
    proc = run(["llm-assets", "run", "log_fail"], env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]  # log_boom fails
    rows = dict(execute(pg_url, "SELECT prcs_nm, run_id FROM cntl_af.cntl_cfg_log"))
    run_id = rows["log_boom"]
    assert rows["log_ok"] == run_id

    with dagster_ui(env) as server, browser_page() as page:
        # 1. the asset page of the materialized process: its latest materialization's link
        page.goto(f"{server.url}/assets/log_ok")
        link = page.locator(VIEWER_LINK).first
        link.wait_for()
        assert f"log_ok/{run_id}/log_ok.ipynb" in link.get_attribute("href")
        viewer = _open_link(page, link)
        assert viewer.url.startswith(server.url + "/notebook?")
        cells = _cells(viewer)
        assert any("nb.report(source_row=5, target_row=4)" in c for c in cells), cells
        assert any("Log fixture: succeeds" in c for c in cells), cells
        viewer.close()

        # 2. the failed run: the step failure's link shows the cells up to the error
        page.goto(f"{server.url}/runs/{run_id}")
        page.get_by_text("STEP_FAILURE").first.wait_for()
        # log_boom failed: its only link is the one in its STEP_FAILURE event's metadata
        link = page.locator(f'{VIEWER_LINK}[href*="/log_boom/{run_id}/"]').first
        link.wait_for()
        assert link.get_attribute("href").endswith("/log_boom.ipynb&repoLocName=llm_assets")
        viewer = _open_link(page, link)
        cells = _cells(viewer)
        failing = [c for c in cells if 'raise ValueError("log fixture' in c]
        assert failing, cells
        assert "ValueError" in failing[0] and "3 rows fail the amount check" in failing[0]
        # the executed notebook holds the traceback output, not just the source
        assert viewer.locator(".jp-OutputArea-output").filter(has_text="ValueError").count()
