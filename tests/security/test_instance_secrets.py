"""Secrets of the deployed Dagster instance: the project's dagster.yaml as `make dev`, the
Dockerfile and the compose stack use it (Postgres run/event storage, its password from
DAGSTER_PG_PASSWORD, the queued run coordinator).

tests/security/test_secrets.py scans Dagster's default SQLite storage; here Dagster's runs,
tags and event log live in Postgres, so the scan reads every table of the database, and the
UI's instance configuration page (GraphQL `instance { info }`, dagster.yaml as the
webserver loaded it) is scanned too.  Planted: the Dagster storage password and a password
inside LLM_ASSETS_DATABASE_URL (the embedded Postgres trusts localhost, so any password
connects).  A stream with a failing process runs, so failure messages are covered.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pytest

from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.log.conftest import log_rows
from tests.security.test_secrets import LOGS_FOR_RUN, UI_QUERIES, _files_holding, _texts_holding
from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env, run
from tests.support.webserver import dagster_ui

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIXTURES = str(ROOT / "tests" / "fixtures" / "notebooks")
FAILURE = "log fixture: 3 rows fail the amount check"

TABLES = """SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_type = 'BASE TABLE'
              AND table_schema NOT IN ('pg_catalog', 'information_schema')"""


def _database_text(url: str) -> dict[str, str]:
    """Every row of every table of the database as text, by table."""
    return {f"table {schema}.{table}": "\n".join(
                row[0] for row in execute(url, f'SELECT t::text FROM "{schema}"."{table}" t'))
            for schema, table in execute(url, TABLES)}


def test_dagster_storage_password_and_postgres_event_log_hold_no_secret(pg_url, tmp_path,
                                                                         monkeypatch):
    tag = uuid.uuid4().hex[:10]
    secrets = {"Dagster storage password": f"dagpg-SECRET-{tag}",
               "database URL password": f"db-SECRET-{tag}"}
    prepare(pg_url, "tests/fixtures/log_streams.sql")
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    url = pg_url.replace("postgres@", f"postgres:{secrets['database URL password']}@", 1)
    assert url != pg_url
    parts = urlsplit(pg_url)
    env = project_env(url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                      DAGSTER_PG_HOST=parts.hostname, DAGSTER_PG_PORT=str(parts.port),
                      DAGSTER_PG_USER=parts.username,
                      DAGSTER_PG_PASSWORD=secrets["Dagster storage password"],
                      DAGSTER_PG_DB=parts.path.lstrip("/"))
    # the instance of the deployment: the project's dagster.yaml, as llm_assets.cli.services and
    # the Dockerfile copy it into DAGSTER_HOME
    instance_yaml = (ROOT / "deploy" / "dagster.yaml").read_text()
    (tmp_path / "dagster" / "dagster.yaml").write_text(instance_yaml)

    outputs = {}
    for args in (["llm-assets", "run", "log_fail"], ["llm-assets", "log", "--failed"],
                 ["dagster", "asset", "materialize", "-m", "llm_assets.definitions",
                  "--select", "log_ok"]):
        proc = run(args, env)
        outputs[" ".join(args)] = proc.stdout + proc.stderr
    rows = {p: r for (_, p), r in log_rows(pg_url).items()}
    assert rows["log_ok"]["status"] == SUCCESS and rows["log_boom"]["status"] == FAILED, outputs

    tables = _database_text(pg_url)
    # Dagster really stored its runs and events in this Postgres (the scan reads them)
    assert "public.event_logs" in " ".join(tables) and "public.runs" in " ".join(tables)
    assert FAILURE in tables["table public.event_logs"]
    assert len(execute(pg_url, "SELECT run_id FROM public.runs")) == 2

    with dagster_ui(env) as server:
        ui = {name: json.dumps(server.graphql(query)) for name, query in UI_QUERIES.items()}
        ui["instance"] = json.dumps(server.graphql("{ instance { info } }"))
        for run_info in json.loads(ui["runs"])["runsOrError"]["results"]:
            ui[f"logsForRun {run_info['runId']}"] = json.dumps(
                server.graphql(LOGS_FOR_RUN, {"runId": run_info["runId"]}))
    # the UI's configuration page is the deployed instance's (Postgres storage, stream limit)
    info = json.loads(ui["instance"])["instance"]["info"]
    assert "PostgresEventLogStorage" in info and "llm_assets/stream" in info, info
    assert FAILURE in "".join(ui.values())

    texts = {**outputs, **tables, **{f"UI {name}": text for name, text in ui.items()}}
    leaks = _texts_holding(texts, secrets) + _files_holding(tmp_path, secrets)
    assert not leaks, leaks
