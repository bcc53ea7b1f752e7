"""Bad input gets a clear error naming the row, file or setting, and nothing is lost."""

from __future__ import annotations

import dagster as dg
import psycopg2
import pytest

from llm_assets.core import settings
from llm_assets.core.errors import ConfigError
from llm_assets.core.models import ControlSnapshot, Process, ProcessGroup, Stream
from llm_assets.core.validate import validate
from llm_assets.runtime.runner import notebook_path
from tests.support.pg import execute, prepare


def _one(process: Process) -> ControlSnapshot:
    return ControlSnapshot(streams=(Stream("s"),), groups=(ProcessGroup("g", "s"),),
                           processes=(process,))


@pytest.mark.unit
def test_unicode_process_name_is_reported_not_crashing():
    result = validate(_one(Process("données_é", "g", "demo/sales_orders.ipynb")),
                      settings.notebooks_dir())
    assert any("données_é" in str(p) and "not a valid Dagster asset name" in str(p)
               for p in result.problems)
    assert "s" in result.excluded


@pytest.mark.unit
def test_notebook_deleted_after_load_fails_the_step_with_path_and_fix(tmp_path):
    with pytest.raises(dg.Failure, match=r"cntl_cfg_prcs\[p\]: notebook 'gone.ipynb' does not "
                                         r"exist under .*: create the notebook or correct "
                                         r"nb_path_nm, then reload the code location"):
        notebook_path(Process("p", "g", "gone.ipynb"), tmp_path)


@pytest.mark.unit
@pytest.mark.parametrize("path, why", [("../escape.ipynb", "escapes notebooks/: keep notebooks "
                                                           "inside the project's notebooks/"),
                                       ("/abs/path.ipynb", "is absolute: write it relative to "
                                                           "notebooks/")])
def test_notebook_outside_notebooks_dir_is_refused_at_run_time(tmp_path, path, why):
    with pytest.raises(dg.Failure, match=f"cntl_cfg_prcs\\[p\\]: nb_path_nm '{path}' {why}"):
        notebook_path(Process("p", "g", path), tmp_path)


@pytest.mark.unit
def test_unknown_profile_names_the_variable(monkeypatch):
    monkeypatch.setenv("LLM_ASSETS_PROFILE", "prod")
    with pytest.raises(ConfigError, match="LLM_ASSETS_PROFILE='prod' is not a profile"):
        settings.profile()


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
    from llm_assets.store.snapshot import load_snapshot

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
    result = validate(snapshot, settings.notebooks_dir())
    assert any("it's \"quoted\"" in str(p) for p in result.problems)  # reported, not executed


@pytest.mark.unit
@pytest.mark.parametrize("reply, text", [
    ('{"customer_id": 3, "promotions": [{"promo_id": "P1", "rea', "reply is not JSON"),
    ("Sure! Here are the promotions you asked for.", "reply is not JSON"),
    ('{"customer_id": "three"}', "reply does not match Pick"),
])
def test_truncated_or_invalid_llm_output_is_named(reply, text):
    from pydantic import BaseModel

    from llm_assets.backends.llm import InvalidModelOutput, parse_reply

    class Pick(BaseModel):
        customer_id: int
        promotions: list[dict] = []

    with pytest.raises(InvalidModelOutput, match=text):
        parse_reply(reply, Pick)


@pytest.mark.unit
def test_model_name_typo_in_the_local_map_names_the_aliases(monkeypatch):
    from llm_assets.backends.model_map import resolve_local

    monkeypatch.setenv("LLM_ASSETS_LOCAL_MODEL_MAP", '{"llama3.2:1b": "smolm2"}')
    with pytest.raises(ConfigError, match=r"local model 'smolm2': smolm2 does not exist; fix "
                                          r"LLM_ASSETS_LOCAL_MODEL_MAP \(aliases: minilm, "
                                          r"smollm2, gemma3, or a path\)"):
        resolve_local("llama3.2:1b", "gen")
    monkeypatch.setenv("LLM_ASSETS_LOCAL_MODEL_MAP", "{'llama3.2:1b': 'smollm2'}")
    with pytest.raises(ConfigError, match="LLM_ASSETS_LOCAL_MODEL_MAP is not valid JSON"):
        resolve_local("llama3.2:1b", "gen")


@pytest.mark.e2e
def test_missing_secret_env_var_is_named_and_nothing_is_written(pg_url, tmp_path, s3_endpoint):
    from tests.support.project import project_env, run
    from tests.support.s3 import compose_env

    prepare(pg_url, "001_demo_sales.sql")
    env = project_env(pg_url, tmp_path, **compose_env(s3_endpoint, "missing-secret"))
    del env["AWS_SECRET_ACCESS_KEY"]
    proc = run(["dagster", "asset", "materialize", "-m", "llm_assets.definitions",
                "--select", "demo_sales_orders"], env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'environment variable "AWS_SECRET_ACCESS_KEY" which is not set' in output, \
        output[-3000:]
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing",
                      aws_secret_access_key="x", region_name="us-east-1")
    assert "missing-secret" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


@pytest.mark.unit
def test_llm_limits_that_are_not_numbers_are_named(monkeypatch):
    from llm_assets.backends.profile import resources_for_profile

    monkeypatch.setenv("LLM_ASSETS_LLM_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="LLM_ASSETS_LLM_TIMEOUT='soon' is not a number >= 0: "
                                          "set it to a number or unset it"):
        resources_for_profile("compose")
    monkeypatch.setenv("LLM_ASSETS_LLM_TIMEOUT", "7.5")
    monkeypatch.setenv("LLM_ASSETS_LLM_RETRIES", "4")
    llm = resources_for_profile("compose")["llm"]
    assert (llm.timeout_seconds, llm.retries) == (7.5, 4)
