"""Coming from the original framework, end to end, as a user would with the CLI: import its
control rows, validate (the notebooks the repo lacks are named), add its notebooks unedited,
run the stream with either notebook engine; the notebooks see their row's values."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import nbformat
import pytest

from llm_assets.core.log_rows import SUCCESS
from tests.log.conftest import log_rows
from tests.migration.conftest import LEGACY_NOTEBOOKS, counts, row_versions
from tests.support.project import project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROCESSES = {"Load_Orders", "Load_Customers", "Daily_Report"}


def printed(executed) -> dict:
    """The JSON line an original-framework notebook printed (its `print(json.dumps` cell)."""
    notebook = nbformat.read(executed, as_version=4)
    cell = next(c for c in notebook.cells if "print(json.dumps" in c.source)
    text = "".join(o.get("text", "") for o in cell.outputs)
    return json.loads(text.strip().splitlines()[-1])


def stored_notebook(home, process: str):
    found = list((home / "datalake" / "runs" / "Sales_Daily" / process).rglob("*.ipynb"))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("engine", ["dagstermill", "papermill"])
def test_import_validate_add_notebooks_run(legacy_url, tmp_path, engine):
    notebooks = tmp_path / "notebooks"
    (notebooks / "sales").mkdir(parents=True)
    shutil.copy(LEGACY_NOTEBOOKS / "sales" / "Load_Orders.ipynb", notebooks / "sales")
    env = project_env(legacy_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=str(notebooks),
                      LLM_ASSETS_NOTEBOOK_ENGINE=engine)

    first = run(["llm-assets", "db", "import-legacy"], env)
    assert first.returncode == 1, first.stdout + first.stderr  # the bad rows are rejected
    assert "imported in one transaction; 13 row(s) rejected, the rest imported" in first.stdout
    assert "cntl_cfg_prcs       cntl.cntl_cfg_prcs            4" in first.stdout
    imported = counts(legacy_url)
    assert imported == {"cntl_cfg_strem": 1, "cntl_cfg_prcs_grp": 4, "cntl_cfg_sys_file": 2,
                        "cntl_cfg_prcs": 4, "cntl_cfg_prcs_depn": 2, "cntl_cfg_schedule": 1,
                        "cntl_cfg_log": 4}

    # validate names every notebook the (active) rows point at that the repo lacks
    check = run(["llm-assets", "validate"], env)
    assert check.returncode == 1, check.stdout + check.stderr
    missing = {line.split("notebook '")[1].split("'")[0]
               for line in check.stdout.splitlines() if "does not exist under" in line}
    assert missing == {"sales/load_customers.ipynb", "sales/Daily_Report.ipynb"}
    assert "cntl_cfg_prcs[Load_Customers]: notebook 'sales/load_customers.ipynb' does not " \
           f"exist under {notebooks}. Fix: create the notebook or correct nb_path_nm" \
           in check.stdout

    # the original notebooks, unedited
    shutil.copytree(LEGACY_NOTEBOOKS / "sales", notebooks / "sales", dirs_exist_ok=True)
    assert run(["llm-assets", "validate"], env).returncode == 0
    started = datetime.now(UTC).date().isoformat()
    proc = run(["llm-assets", "run", "Sales_Daily"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = {p: r for (run_id, p), r in log_rows(legacy_url).items()
            if not run_id.startswith("imported:")}
    assert set(runs) == PROCESSES
    assert {r["status"] for r in runs.values()} == {SUCCESS}
    data_dt = runs["Load_Orders"]["data_dt"].isoformat()
    assert data_dt >= started

    # each notebook got its row's values; names set only in its parameters cell kept theirs
    orders = printed(stored_notebook(tmp_path, "Load_Orders"))
    assert orders == {"nb_parm": "orders.csv|2024|north", "parts": ["orders.csv", "2024", "north"],
                      "date_run": data_dt, "embed_model": "nomic-embed-text",
                      "gen_model": "default-gen",  # '' in the row: NULL, the default stays
                      "collection": "Sales_Docs", "file_type": "csv", "dlm": ",",
                      "threshold": 0.25, "limit": 1.0}
    customers = printed(stored_notebook(tmp_path, "Load_Customers"))
    assert customers == {"nb_parm": "customers.csv", "source_file": "customers.csv",
                         "date_run": data_dt, "x": 1, "y": 2}
    report = printed(stored_notebook(tmp_path, "Daily_Report"))
    assert report == {"nb_parm": "top=5|region=all", "top": 5, "date_run": data_dt,
                      "embed_model": "default-embed", "gen_model": "llama3",
                      "collection": "Sales_Docs"}

    # a second import leaves every cntl_af count (and row) unchanged
    before = row_versions(legacy_url)
    again = run(["llm-assets", "db", "import-legacy"], env)
    assert again.returncode == 1  # the same bad rows, still rejected
    assert counts(legacy_url) == {**imported, "cntl_cfg_log": 4 + len(PROCESSES)}
    assert row_versions(legacy_url) == before
