"""Bad input gets a clear error naming the row, file or setting, and nothing is lost."""

from __future__ import annotations

import dagster as dg
import psycopg2
import pytest

from llm_assets import config
from llm_assets.control.models import ControlSnapshot, Process, ProcessGroup, Stream
from llm_assets.control.validate import validate
from llm_assets.errors import ConfigError
from llm_assets.runner import notebook_path
from tests.support.pg import execute, prepare


def _one(process: Process) -> ControlSnapshot:
    return ControlSnapshot(streams=(Stream("s"),), groups=(ProcessGroup("g", "s"),),
                           processes=(process,))


@pytest.mark.unit
def test_unicode_process_name_is_reported_not_crashing():
    result = validate(_one(Process("données_é", "g", "demo/sales_orders.ipynb")),
                      config.notebooks_dir())
    assert any("données_é" in str(p) and "not a valid Dagster asset name" in str(p)
               for p in result.problems)
    assert "s" in result.excluded


@pytest.mark.unit
def test_notebook_deleted_after_load_fails_the_step_with_path_and_fix(tmp_path):
    with pytest.raises(dg.Failure, match=r"does not exist: create it or correct "
                                         r"cntl_cfg_prcs.nb_path_nm"):
        notebook_path(Process("p", "g", "gone.ipynb"), tmp_path)


@pytest.mark.unit
@pytest.mark.parametrize("path", ["../escape.ipynb", "/abs/path.ipynb"])
def test_notebook_outside_notebooks_dir_is_refused_at_run_time(tmp_path, path):
    with pytest.raises(dg.Failure, match="notebooks must live under notebooks/"):
        notebook_path(Process("p", "g", path), tmp_path)


@pytest.mark.unit
def test_unknown_profile_names_the_variable(monkeypatch):
    monkeypatch.setenv("LLM_ASSETS_PROFILE", "prod")
    with pytest.raises(ConfigError, match="LLM_ASSETS_PROFILE='prod' is not a profile"):
        config.profile()


@pytest.mark.e2e
def test_name_longer_than_the_column_is_rejected_by_the_database(pg_url):
    prepare(pg_url, "001_demo_sales.sql")
    with pytest.raises(psycopg2.errors.StringDataRightTruncation):
        execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES (%s)",
                ("x" * 201,))
    assert execute(pg_url, "SELECT count(*) FROM cntl_af.cntl_cfg_strem")[0][0] == 1


@pytest.mark.e2e
def test_quotes_and_sql_in_names_and_params_are_data_not_code(pg_url):
    """Every statement is parameterized: hostile text round-trips and drops nothing."""
    from llm_assets.control.load import load_snapshot

    prepare(pg_url, "001_demo_sales.sql")
    hostile = "x'); DROP TABLE cntl_af.cntl_cfg_log; --"
    execute(pg_url, "UPDATE cntl_af.cntl_cfg_prcs SET nb_parm = %s WHERE prcs_nm = %s",
            (hostile, "demo_sales_orders"))
    execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_strem (strem_nm, question) VALUES (%s, %s)",
            ("it's \"quoted\"", hostile))
    snapshot = load_snapshot(pg_url)
    assert snapshot.process_by_name["demo_sales_orders"].nb_parm == hostile
    assert snapshot.stream_by_name["it's \"quoted\""].question == hostile
    assert execute(pg_url, "SELECT to_regclass('cntl_af.cntl_cfg_log')")[0][0] is not None
    result = validate(snapshot, config.notebooks_dir())
    assert any("it's \"quoted\"" in str(p) for p in result.problems)  # reported, not executed
