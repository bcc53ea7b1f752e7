"""The least-privilege role: reads configuration, writes the log, nothing else."""

from __future__ import annotations

import psycopg2
import pytest

from llm_assets.store import migrations
from llm_assets.store.snapshot import load_snapshot
from tests.support.pg import execute, prepare

pytestmark = pytest.mark.e2e


def _app_url(pg_url: str, password: str) -> str:
    host_db = pg_url.split("@", 1)[1]
    return f"postgresql://llm_assets_app:{password}@{host_db}"


def test_app_role_reads_config_writes_log_and_nothing_else(pg_url, monkeypatch):
    password = "app-pw-'quoted\"; DROP TABLE x; --"
    monkeypatch.setenv("LLM_ASSETS_APP_PASSWORD", password)
    prepare(pg_url, "001_demo_sales.sql")
    # trust auth on the embedded server: what is checked here is the role's privileges
    url = _app_url(pg_url, "ignored")
    snapshot = load_snapshot(url)
    assert len(snapshot.processes) == 3
    execute(url, "INSERT INTO cntl_af.cntl_cfg_log (prcs_nm, status, run_id) VALUES "
                 "('demo_sales_orders', 1, 'r1') ON CONFLICT (run_id, prcs_nm) DO UPDATE "
                 "SET status = EXCLUDED.status")
    for forbidden in (
        "INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('x')",
        "UPDATE cntl_af.cntl_cfg_prcs SET act_f = 0",
        "DELETE FROM cntl_af.cntl_cfg_log",
        "DROP TABLE cntl_af.cntl_cfg_log",
        "CREATE TABLE cntl_af.evil (x int)",
    ):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            execute(url, forbidden)
    # the role can log in (password set from the environment, with quotes intact)
    rows = execute(pg_url, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'llm_assets_app'")
    assert rows == [(True,)]
    # and upgrade stays idempotent
    assert migrations.upgrade(pg_url) == []
