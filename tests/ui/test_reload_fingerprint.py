"""The rows fingerprint that drives live reload: Postgres (one query) and Python (from the
snapshot the definitions were built from) agree, and it moves exactly when the graph can."""

from __future__ import annotations

import pytest

from llm_assets.core.fingerprint import snapshot_fingerprint
from llm_assets.store.fingerprint import database_fingerprint
from llm_assets.store.snapshot import load_snapshot
from tests.support.pg import execute, prepare

pytestmark = pytest.mark.e2e

NEW_PROCESS = ("INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm, nb_parm)"
               " VALUES ('demo_sales_extra', 'demo_sales_report', 1, 'demo/sales_summary.ipynb',"
               " 'note=Zürich|x=ä')")


def _agree(url: str) -> str:
    in_db = database_fingerprint(url)
    in_snapshot = snapshot_fingerprint(load_snapshot(url))
    assert in_db == in_snapshot, (in_db, in_snapshot)
    return in_db.value


def test_fingerprint_of_database_equals_fingerprint_of_snapshot(pg_url):
    prepare(pg_url)
    empty = _agree(pg_url)  # empty tables
    prepare(pg_url, "001_demo_sales.sql")
    demo = _agree(pg_url)
    assert demo != empty
    assert database_fingerprint(pg_url).counts["processes"] == 3
    # byte order, not the database collation: 'Zeta' < 'alpha' < 'demo_sales_…' < 'ä'
    for name in ("Zeta", "alpha", "ärger"):
        execute(pg_url, NEW_PROCESS.replace("demo_sales_extra", name))
    assert _agree(pg_url) != demo


@pytest.mark.parametrize("change", [
    NEW_PROCESS,
    "DELETE FROM cntl_af.cntl_cfg_prcs_depn WHERE dpnd_prcs_nm = 'demo_sales_customers'",
    "UPDATE cntl_af.cntl_cfg_prcs SET prir = 2 WHERE prcs_nm = 'demo_sales_customers'",
    "UPDATE cntl_af.cntl_cfg_prcs_grp SET act_f = 0 WHERE prcs_grp = 'demo_sales_report'",
    "UPDATE cntl_af.cntl_cfg_prcs_depn SET act_f = 0 WHERE dpnd_prcs_nm = 'demo_sales_orders'",
    "UPDATE cntl_af.cntl_cfg_prcs SET nb_parm = NULL WHERE prcs_nm = 'demo_sales_orders'",
    "UPDATE cntl_af.cntl_cfg_schedule SET hours = '7'",
])
def test_fingerprint_changes_with_the_rows(pg_url, change):
    prepare(pg_url, "001_demo_sales.sql")
    before = _agree(pg_url)
    execute(pg_url, change)
    after = _agree(pg_url)
    assert after != before, change


def test_fingerprint_ignores_upt_dt(pg_url):
    """Re-running the upsert seed only touches upt_dt: no reload for that."""
    prepare(pg_url, "001_demo_sales.sql")
    before = _agree(pg_url)
    prepare(pg_url, "001_demo_sales.sql")
    execute(pg_url, "UPDATE cntl_af.cntl_cfg_prcs SET upt_dt = now() + interval '1 day'")
    assert _agree(pg_url) == before
