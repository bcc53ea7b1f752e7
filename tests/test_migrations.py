"""Versioned, idempotent migrations and the constraints they create (real Postgres)."""

from __future__ import annotations

import psycopg2
import pytest

from llm_assets.store import migrations
from tests.support.pg import execute, prepare

pytestmark = pytest.mark.e2e

TABLES = {"cntl_cfg_strem", "cntl_cfg_prcs_grp", "cntl_cfg_prcs", "cntl_cfg_sys_file",
          "cntl_cfg_prcs_depn", "cntl_cfg_schedule", "cntl_cfg_log"}


def test_upgrade_is_idempotent_and_recorded(pg_url):
    first = migrations.upgrade(pg_url)
    assert first and first[0] == "001"
    assert migrations.upgrade(pg_url) == []
    applied = [v for v, _, _ in migrations.applied(pg_url)]
    assert applied == first
    rows = execute(pg_url, "SELECT table_name FROM information_schema.tables "
                           "WHERE table_schema = 'cntl_af'")
    assert TABLES <= {r[0] for r in rows}


def test_changed_migration_is_refused_and_nothing_is_dropped(pg_url, tmp_path):
    from llm_assets.core import settings

    prepare(pg_url, "001_demo_sales.sql")
    copy = tmp_path / "migrations"
    copy.mkdir()
    for path in (settings.sql_dir() / "migrations").glob("*.sql"):
        (copy / path.name).write_text(path.read_text())
    (copy / "001_control_schema.sql").write_text("-- edited\n" + (
        settings.sql_dir() / "migrations" / "001_control_schema.sql").read_text())
    with pytest.raises(Exception, match="applied with different content"):
        migrations.upgrade(pg_url, copy)
    assert execute(pg_url, "SELECT count(*) FROM cntl_af.cntl_cfg_prcs")[0][0] == 3


@pytest.mark.parametrize("sql", [
    "INSERT INTO cntl_af.cntl_cfg_strem (strem_nm, act_f) VALUES ('s2', 2)",
    "INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) "
    "VALUES ('g2', 'demo_sales', 0)",
    "INSERT INTO cntl_af.cntl_cfg_sys_file (sys_nm, file_type, chunk_size) VALUES ('f', 'txt', 0)",
    "INSERT INTO cntl_af.cntl_cfg_sys_file (sys_nm, file_type, chunk_size, overlap) "
    "VALUES ('f', 'txt', 100, 100)",
    "INSERT INTO cntl_af.cntl_cfg_sys_file (sys_nm, file_type, chunk_size, overlap) "
    "VALUES ('f', 'txt', 100, -1)",
    "INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) "
    "VALUES ('demo_sales_orders', 'demo_sales_orders')",
    "INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) "
    "VALUES ('demo_sales_orders', 'no_such_process')",
    "INSERT INTO cntl_af.cntl_cfg_log (prcs_nm, status, run_id) VALUES ('p', 5, 'r')",
    "INSERT INTO cntl_af.cntl_cfg_log (prcs_nm, status, run_id) VALUES ('p', 0, 'r'), "
    "('p', 99, 'r')",
    "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) "
    "VALUES ('x', 'no_group', 'a.ipynb')",
])
def test_constraints_reject_impossible_rows(pg_url, sql):
    prepare(pg_url, "001_demo_sales.sql")
    with pytest.raises(psycopg2.IntegrityError):
        execute(pg_url, sql)


def test_seed_is_rerunnable(pg_url):
    prepare(pg_url, "001_demo_sales.sql", "001_demo_sales.sql")
    assert execute(pg_url, "SELECT count(*) FROM cntl_af.cntl_cfg_prcs")[0][0] == 3
