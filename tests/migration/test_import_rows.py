"""`llm-assets db import-legacy` row by row, on a real Postgres holding the original schema
(tests/fixtures/legacy/): what each row becomes, each rejected case, re-imports, dry runs,
--strict, --from another database, and that the original schema is never written."""

from __future__ import annotations

from datetime import datetime

import psycopg2
import pytest

from llm_assets.core.errors import ConfigError
from llm_assets.store import migrations
from llm_assets.store.legacy import import_legacy
from llm_assets.store.legacy_rules import SPECS
from tests.migration.conftest import counts, load_legacy, row_versions
from tests.support.pg import execute
from tests.support.project import project_env, run

pytestmark = pytest.mark.integration

EMPTY = dict.fromkeys((s.table for s in SPECS), 0)

# (case, table, key, reason, fix): one per row of tests/fixtures/legacy/bad_rows.sql
REJECTED = [
    ("dependency_on_missing_process", "cntl_cfg_prcs_depn", "Daily_Report -> Load_Refunds",
     "references unknown process 'Load_Refunds'",
     "insert it into cntl.cntl_cfg_prcs or correct dpnd_prcs_nm in cntl.cntl_cfg_prcs_depn"),
    ("dependency_on_rejected_process", "cntl_cfg_prcs_depn", "Daily_Report -> Load_Promos",
     "references process 'Load_Promos', which is rejected (see cntl_cfg_prcs[Load_Promos])",
     "fix that row first, then import again"),
    ("dependency_differs_only_in_case", "cntl_cfg_prcs_depn", "Daily_Report -> load_orders",
     "references process 'load_orders', which exists only as 'Load_Orders': names are "
     "case-sensitive in llm_assets (they are Dagster keys)",
     "write 'Load_Orders' in cntl.cntl_cfg_prcs_depn.dpnd_prcs_nm"),
    ("self_dependency", "cntl_cfg_prcs_depn", "Load_Orders -> Load_Orders",
     "a process cannot depend on itself", "delete the row from cntl.cntl_cfg_prcs_depn"),
    ("unknown_group", "cntl_cfg_prcs", "Load_Stock",
     "references unknown process group 'Sales_Stock'",
     "insert it into cntl.cntl_cfg_prcs_grp or correct prcs_grp in cntl.cntl_cfg_prcs"),
    ("unknown_sys_file", "cntl_cfg_prcs", "Load_Returns",
     "references unknown sys file 'Returns_XLS'",
     "insert it into cntl.cntl_sys_fle or correct sys_file in cntl.cntl_cfg_prcs"),
    ("bad_flag", "cntl_cfg_prcs", "Load_Promos",
     "act_f 'Y' is not a flag (cntl_af accepts 1, active, or 0, inactive)",
     "set act_f to 1 or 0 in cntl.cntl_cfg_prcs"),
    ("priority_below_1", "cntl_cfg_prcs_grp", "Sales_Zero", "prir 0 is below 1",
     "set prir to 1 or more in cntl.cntl_cfg_prcs_grp"),
    ("group_of_unknown_stream", "cntl_cfg_prcs_grp", "Stock_Load",
     "references unknown stream 'Stock_Daily'",
     "insert it into cntl.cntl_cfg_strem or correct strem_nm in cntl.cntl_cfg_prcs_grp"),
    ("overlap_not_below_chunk_size", "cntl_cfg_sys_file", "Notes_TXT",
     "overlap 200 is not below chunk_size 100",
     "set overlap below chunk_size in cntl.cntl_sys_fle"),
    ("bad_cron_field", "cntl_cfg_schedule", "Sales_Daily '75 6 * * *'",
     "bad cron field minutes '75'",
     "correct it in cntl.cntl_cfg_schedule (e.g. minutes=0 hours=6: every day at 06:00)"),
    ("schedule_of_unknown_stream", "cntl_cfg_schedule", "Stock_Daily '0 7 * * 1-5'",
     "references unknown stream 'Stock_Daily'",
     "insert it into cntl.cntl_cfg_strem or correct strem_nm in cntl.cntl_cfg_schedule"),
    ("unknown_log_status", "cntl_cfg_log",
     "Load_Orders data_dt 2024-05-03 started 2024-05-03 06:00:00+00:00",
     "status '7' is not one of 0 (success), 1 (running), 99 (failed)",
     "correct status in cntl.cntl_cfg_log or delete the row"),
]


@pytest.fixture(scope="module")
def dry_plan(pg_server):
    """One dry run over the fixture rows, shared by the per-case tests."""
    admin = pg_server.url.rsplit("/", 1)[0]
    conn = psycopg2.connect(f"{admin}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "t_migration_rejects" WITH (FORCE)')
        cur.execute('CREATE DATABASE "t_migration_rejects"')
    url = f"{admin}/t_migration_rejects"
    try:
        migrations.upgrade(url)
        load_legacy(url, "rows.sql", "bad_rows.sql")
        yield import_legacy("cntl", target_url=url, dry_run=True).plan
    finally:
        with conn.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "t_migration_rejects" WITH (FORCE)')
        conn.close()


@pytest.mark.parametrize(("table", "key", "reason", "fix"), [c[1:] for c in REJECTED],
                         ids=[c[0] for c in REJECTED])
def test_rejected_row_names_table_key_reason_and_fix(dry_plan, table, key, reason, fix):
    found = [c for c in dry_plan.rejected if (c.table, c.key) == (table, key)]
    assert len(found) == 1, [str(c) for c in dry_plan.rejected]
    assert (found[0].detail, found[0].fix) == (reason, fix)
    assert str(found[0]) == f"{table}[{key}]: {reason}. Fix: {fix}"


def test_only_the_bad_rows_are_rejected(dry_plan):
    assert sorted((c.table, c.key) for c in dry_plan.rejected) == \
        sorted((c[1], c[2]) for c in REJECTED)


def test_rows_become_cntl_af_rows(legacy_url):
    result = import_legacy("cntl", target_url=legacy_url)
    assert result.written and len(result.plan.rejected) == len(REJECTED)
    procs = {r[0]: r[1:] for r in execute(
        legacy_url, "SELECT prcs_nm, prcs_grp, sys_file, embed_model, gen_model, collection, "
                    "nb_parm, act_f, upt_dt FROM cntl_af.cntl_cfg_prcs")}
    # '' in an optional reference (and in the optional model/collection columns) is NULL
    assert procs["Load_Customers"][1:6] == (None, None, None, None, "customers.csv")
    assert procs["Load_Orders"][1:5] == ("Orders_CSV", "nomic-embed-text", None, "Sales_Docs")
    assert procs["Archive_Sales"][6] == 1 and procs["Archive_Sales"][5] == ""  # nb_parm kept
    assert procs["Load_Orders"][7] == datetime.fromisoformat("2024-03-01 08:00:00+00:00")
    groups = dict(execute(legacy_url, "SELECT prcs_grp, (prir, act_f)::text "
                                      "FROM cntl_af.cntl_cfg_prcs_grp"))
    assert groups == {"Sales_Load": "(1,1)", "Sales_Ref": "(1,1)", "Sales_Report": "(2,1)",
                      "Sales_Archive": "(3,0)"}  # same priority twice; the inactive group kept
    assert execute(legacy_url, "SELECT dlm FROM cntl_af.cntl_cfg_sys_file "
                               "WHERE sys_nm = 'Policy_PDF'") == [(None,)]
    # NULL day_week is '*'; the row inserted twice in the keyless table is one row
    assert execute(legacy_url, "SELECT strem_nm, minutes, hours, day_month, months, day_week "
                               "FROM cntl_af.cntl_cfg_schedule") == \
        [("Sales_Daily", "0", "6", "*", "*", "*")]
    assert result.plan.table("cntl_cfg_schedule").merged == 1
    # history copied, marked as imported, one stable run id per original row
    log = execute(legacy_url, "SELECT run_id, prcs_nm, data_dt::text, status, end_dt IS NULL "
                              "FROM cntl_af.cntl_cfg_log ORDER BY start_dt")
    assert [r[1:] for r in log] == [("Old_Extract", "2024-04-30", 0, False),
                                    ("Load_Orders", "2024-05-01", 0, False),
                                    ("Daily_Report", "2024-05-01", 99, False),
                                    ("Load_Orders", "2024-05-02", 1, True)]
    assert all(r[0].startswith("imported:") for r in log) and len({r[0] for r in log}) == 4


def test_second_import_changes_nothing_and_legacy_changes_are_updated(legacy_url):
    import_legacy("cntl", target_url=legacy_url)
    before, imported = row_versions(legacy_url), counts(legacy_url)
    second = import_legacy("cntl", target_url=legacy_url).plan
    assert [t.count(a) for t in second.tables for a in ("insert", "update", "delete")] == \
        [0] * 21
    assert row_versions(legacy_url) == before and counts(legacy_url) == imported

    execute(legacy_url, """
        UPDATE cntl.cntl_cfg_prcs SET nb_parm = 'orders.csv|2024|south',
               upt_dt = '2024-06-01 09:00:00' WHERE prcs_nm = 'Load_Orders';
        UPDATE cntl.cntl_cfg_log SET status = 0, end_dt = '2024-05-02 06:01:00',
               message = 'success', target_row = 990
         WHERE prcs_nm = 'Load_Orders' AND data_dt = '2024-05-02';
        UPDATE cntl.cntl_cfg_schedule SET minutes = '30', hours = '5' WHERE minutes = '0';
        INSERT INTO cntl.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, sys_file, nb_path_nm, nb_parm,
                                        act_f, upt_dt)
        VALUES ('Load_Regions', 'Sales_Ref', 2, '', 'sales/regions.ipynb', '', '1',
                '2024-06-01 09:00:00');""")
    third = import_legacy("cntl", target_url=legacy_url).plan
    changes = sorted((c.action, c.table, c.key) for t in third.tables for c in t.changes
                     if c.action != "reject")
    assert changes == [
        ("delete", "cntl_cfg_schedule", "Sales_Daily '0 6 * * *'"),
        ("insert", "cntl_cfg_prcs", "Load_Regions"),
        ("insert", "cntl_cfg_schedule", "Sales_Daily '30 5 * * *'"),
        ("update", "cntl_cfg_log",
         "Load_Orders data_dt 2024-05-02 started 2024-05-02 06:00:04+00:00"),
        ("update", "cntl_cfg_prcs", "Load_Orders")]
    update = next(c for c in third.table("cntl_cfg_prcs").changes if c.action == "update")
    assert update.detail == ("nb_parm 'orders.csv|2024|north' -> 'orders.csv|2024|south'; "
                             "upt_dt 2024-03-01 08:00:00+00:00 -> 2024-06-01 09:00:00+00:00")
    assert counts(legacy_url) == {**imported, "cntl_cfg_prcs": imported["cntl_cfg_prcs"] + 1}
    assert execute(legacy_url, "SELECT status, target_row FROM cntl_af.cntl_cfg_log "
                               "WHERE data_dt = '2024-05-02'") == [(0, 990)]
    assert execute(legacy_url, "SELECT minutes, hours FROM cntl_af.cntl_cfg_schedule") == \
        [("30", "5")]


def test_dry_run_writes_nothing(legacy_url, tmp_path):
    env = project_env(legacy_url, tmp_path)
    before = row_versions(legacy_url)
    proc = run(["llm-assets", "db", "import-legacy", "--dry-run"], env)
    assert proc.returncode == 1  # rows would be rejected
    assert "(dry run: nothing is written)" in proc.stdout
    assert "  insert cntl_cfg_prcs[Load_Orders]" in proc.stdout
    assert "  cntl_cfg_prcs[Load_Promos]: act_f 'Y' is not a flag" in proc.stdout
    assert proc.stdout.rstrip().endswith("dry run: nothing written")
    assert counts(legacy_url) == EMPTY and row_versions(legacy_url) == before
    summary = proc.stdout.split("\nsummary\n")[1].splitlines()
    planned = {line.split()[0]: int(line.split()[2]) for line in summary[1:8]}
    import_legacy("cntl", target_url=legacy_url)
    assert counts(legacy_url) == planned  # the plan was what the import then wrote


def test_strict_writes_nothing_when_a_row_is_rejected(legacy_url, tmp_path):
    env = project_env(legacy_url, tmp_path)
    proc = run(["llm-assets", "db", "import-legacy", "--strict"], env)
    assert proc.returncode == 1
    assert f"--strict: {len(REJECTED)} row(s) rejected, nothing written" in proc.stdout
    assert counts(legacy_url) == EMPTY


def test_strict_import_of_clean_rows_writes_them(pg_url, tmp_path):
    migrations.upgrade(pg_url)
    load_legacy(pg_url, "rows.sql")
    proc = run(["llm-assets", "db", "import-legacy", "--strict"], project_env(pg_url, tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert counts(pg_url)["cntl_cfg_prcs"] == 4


def test_original_schema_is_only_read(legacy_url):
    legacy_before = row_versions(legacy_url, "cntl")
    import_legacy("cntl", target_url=legacy_url)
    import_legacy("cntl", target_url=legacy_url)
    assert row_versions(legacy_url, "cntl") == legacy_before


def test_import_from_another_database(pg_url, pg_server, tmp_path):
    source = pg_url + "_legacy"
    admin = psycopg2.connect(pg_server.url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    name = source.rsplit("/", 1)[1]
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        load_legacy(source, "rows.sql")
        migrations.upgrade(pg_url)
        proc = run(["llm-assets", "db", "import-legacy", "--from", source],
                   project_env(pg_url, tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert counts(pg_url)["cntl_cfg_prcs"] == 4
        assert execute(pg_url, "SELECT to_regnamespace('cntl')") == [(None,)]
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_names_dagster_refuses_are_reported_not_renamed(legacy_url, tmp_path):
    execute(legacy_url, """
        INSERT INTO cntl.cntl_cfg_strem (strem_nm, act_f) VALUES ('Sales-Weekly', '1');
        INSERT INTO cntl.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir, act_f)
            VALUES ('Weekly.Load', 'Sales-Weekly', 1, '1');
        INSERT INTO cntl.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm, act_f)
            VALUES ('LOAD_ORDERS', 'Weekly.Load', 1, 'sales/Load_Orders.ipynb', '1');""")
    warnings = {str(w) for w in import_legacy("cntl", target_url=legacy_url).plan.warnings}
    assert warnings == {
        "cntl_cfg_strem[Sales-Weekly]: imported, but has characters other than letters, "
        "digits and _: not a valid Dagster job name, so `llm-assets validate` excludes its "
        "stream while it is active. Fix: rename it (e.g. 'Sales_Weekly') in "
        "cntl.cntl_cfg_strem and everywhere it is referenced, then import again",
        "cntl_cfg_prcs_grp[Weekly.Load]: imported, but has characters other than letters, "
        "digits and _: not a valid Dagster group name, so `llm-assets validate` excludes its "
        "stream while it is active. Fix: rename it (e.g. 'Weekly_Load') in "
        "cntl.cntl_cfg_prcs_grp and everywhere it is referenced, then import again",
        "cntl_cfg_prcs[LOAD_ORDERS / Load_Orders]: imported, but the names differ only in "
        "case: Dagster keys and notebook paths must not collide by case. Fix: rename all but "
        "one in cntl.cntl_cfg_prcs"}
    assert execute(legacy_url, "SELECT strem_nm FROM cntl_af.cntl_cfg_prcs_grp "
                               "WHERE prcs_grp = 'Weekly.Load'") == [("Sales-Weekly",)]
    check = run(["llm-assets", "validate"], project_env(legacy_url, tmp_path))
    assert "cntl_cfg_strem[Sales-Weekly]: stream name is not a valid Dagster job name" \
        in check.stdout


def test_wrong_schema_and_unmigrated_target_are_named(pg_url, tmp_path):
    env = project_env(pg_url, tmp_path)
    load_legacy(pg_url, "rows.sql")
    proc = run(["llm-assets", "db", "import-legacy"], env)
    assert proc.returncode == 2
    assert "the control schema cntl_af is not there yet: run `llm-assets db upgrade` first" \
        in proc.stderr
    migrations.upgrade(pg_url)
    execute(pg_url, "ALTER TABLE cntl.cntl_sys_fle RENAME TO cntl_cfg_sys_file; "
                    "ALTER TABLE cntl.cntl_cfg_log DROP COLUMN status")
    with pytest.raises(ConfigError, match=r"schema 'cntl', is not the original framework's "
                       r"control schema: missing table cntl.cntl_sys_fle, column "
                       r"cntl.cntl_cfg_log.status. Check --schema and --from"):
        import_legacy("cntl", target_url=pg_url)
    proc = run(["llm-assets", "db", "import-legacy", "--schema", "airflow_cntl"], env)
    assert proc.returncode == 2 and "has no schema 'airflow_cntl' with tables" in proc.stderr
    assert counts(pg_url) == EMPTY
