"""The papermill notebook engine (LLM_ASSETS_NOTEBOOK_ENGINE=papermill): the same parameters,
upstream values, results, stored notebooks and log rows as dagstermill, without rebuilding
the Dagster context in the kernel."""

from __future__ import annotations

import pickle

import pytest

from llm_assets.core.errors import ConfigError
from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.log.conftest import log_rows
from tests.support.pg import prepare
from tests.support.project import ROOT, project_env, run

pytestmark = pytest.mark.e2e


def test_papermill_engine_runs_a_chain_and_keeps_failures(pg_url, tmp_path, monkeypatch):
    prepare(pg_url, "001_demo_sales.sql", "tests/fixtures/log_streams.sql")
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOK_ENGINE="papermill")
    proc = run(["llm-assets", "run", "demo_sales"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    io = tmp_path / "datalake" / "io"
    orders = pickle.loads((io / "demo_sales_orders").read_bytes())
    customers = pickle.loads((io / "demo_sales_customers").read_bytes())
    summary = pickle.loads((io / "demo_sales_summary").read_bytes())
    assert len(orders) == 500  # nb_parm rows=500 reached the kernel
    expected = orders.merge(customers, on="customer_id").groupby("segment")["amount"].sum()
    assert dict(zip(summary["segment"], summary["revenue"].round(2), strict=True)) == \
        expected.round(2).to_dict()  # upstream values reached the downstream kernel
    rows = {p: r for (_, p), r in log_rows(pg_url).items()}
    assert {rows[p]["status"] for p in rows} == {SUCCESS}
    assert rows["demo_sales_orders"]["target_row"] == 500
    stored = list((tmp_path / "datalake" / "runs" / "demo_sales").rglob("*.ipynb"))
    assert len(stored) == 3 and all(b"__dm_" not in p.read_bytes() for p in stored)

    env["LLM_ASSETS_NOTEBOOKS_DIR"] = str(ROOT / "tests" / "fixtures" / "notebooks")
    proc = run(["llm-assets", "run", "log_fail"], env)
    assert proc.returncode != 0
    boom = {p: r for (_, p), r in log_rows(pg_url).items()}["log_boom"]
    assert boom["status"] == FAILED
    assert "log/raise.ipynb of process log_boom failed: ValueError: log fixture: 3 rows " \
           "fail the amount check" in boom["message"]
    kept = next((tmp_path / "datalake" / "runs" / "log_fail" / "log_boom").rglob("*.ipynb"))
    assert kept.resolve().as_uri() in boom["message"] and b"ValueError" in kept.read_bytes()


@pytest.mark.unit
def test_unknown_engine_is_named(monkeypatch):
    from llm_assets.core import settings

    monkeypatch.setenv("LLM_ASSETS_NOTEBOOK_ENGINE", "jupyter")
    with pytest.raises(ConfigError, match="LLM_ASSETS_NOTEBOOK_ENGINE='jupyter' is not an "
                                          "engine; use one of dagstermill, papermill"):
        settings.notebook_engine()
