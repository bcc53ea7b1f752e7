"""Planted secrets appear nowhere: not in CLI output, Dagster's event log, run tags or run
config, materialization metadata, compute logs, CNTL_CFG_LOG, the executed notebooks and HTML
in the data lake, nor in what the Dagster UI serves (GraphQL of a real webserver).

The secrets are set the way a user sets them, as environment variables: the S3 secret key
(compose profile, against a moto S3 server), a password inside LLM_ASSETS_DATABASE_URL (the
embedded Postgres trusts localhost, so any password connects), the app-role password of the
migrations, and the Weaviate API key.  A stream with a failing process is run, so failure
messages are covered too.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.log.conftest import log_rows
from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env, run
from tests.support.s3 import compose_env
from tests.support.webserver import dagster_ui

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIXTURES = str(ROOT / "tests" / "fixtures" / "notebooks")

UI_QUERIES = {
    "runs": """{ runsOrError { ... on Runs { results { runId status jobName runConfigYaml
                 tags { key value } } } } }""",
    "assets": """{ assetNodes { assetKey { path } description opName
                   metadataEntries { label description __typename
                     ... on TextMetadataEntry { text } ... on UrlMetadataEntry { url }
                     ... on PathMetadataEntry { path } } } }""",
    "resources": """{ allTopLevelResourceDetailsOrError(repositorySelector: {
                        repositoryLocationName: "llm_assets", repositoryName: "__repository__"})
                      { __typename ... on ResourceDetailsList { results { name description
                        configuredValues { key value type } } } } }""",
}

LOGS_FOR_RUN = """query Logs($runId: ID!) { logsForRun(runId: $runId) { __typename
  ... on EventConnection { events { __typename ... on MessageEvent { message }
    ... on ExecutionStepFailureEvent { error { message stack } failureMetadata {
      metadataEntries { label ... on TextMetadataEntry { text } ... on UrlMetadataEntry { url }
      ... on PathMetadataEntry { path } } } }
    ... on MaterializationEvent { metadataEntries { label ... on UrlMetadataEntry { url }
      ... on TextMetadataEntry { text } ... on PathMetadataEntry { path } } } } } } }"""


def _files_holding(root, secrets: dict[str, str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{name} in {path}" for name, value in secrets.items()
                      if value.encode() in data]
    return found


def _texts_holding(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    return [f"{name} in {where}" for where, text in texts.items()
            for name, value in secrets.items() if value in text]


def test_planted_secrets_appear_nowhere(pg_url, tmp_path, s3_endpoint, monkeypatch):
    tag = uuid.uuid4().hex[:10]
    secrets = {"S3 secret key": f"s3-SECRET-{tag}", "database password": f"db-SECRET-{tag}",
               "app role password": f"app-SECRET-{tag}",
               "Weaviate API key": f"wv-SECRET-{tag}"}
    prepare(pg_url, "tests/fixtures/log_streams.sql")
    url = pg_url.replace("postgres@", f"postgres:{secrets['database password']}@", 1)
    assert url != pg_url
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    bucket = f"secrets-{tag}"
    env = project_env(url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                      LLM_ASSETS_APP_PASSWORD=secrets["app role password"],
                      WEAVIATE_API_KEY=secrets["Weaviate API key"],
                      **compose_env(s3_endpoint, bucket, secret=secrets["S3 secret key"]))

    outputs = {}
    for args in (["llm-assets", "db", "upgrade"], ["llm-assets", "validate"],
                 ["llm-assets", "run", "log_fail"], ["llm-assets", "log", "--failed"],
                 ["dagster", "asset", "materialize", "-m", "llm_assets.definitions",
                  "--select", "log_ok"]):
        proc = run(args, env)
        outputs[" ".join(args)] = proc.stdout + proc.stderr
    # the failing stream really ran, failed and was logged (the leak surface is exercised)
    rows = {p: r for (_, p), r in log_rows(pg_url).items()}
    assert rows["log_ok"]["status"] == SUCCESS and rows["log_boom"]["status"] == FAILED
    assert "log fixture: 3 rows fail the amount check" in rows["log_boom"]["message"]
    # the app role password was applied: it is a secret that reached Postgres
    assert execute(pg_url, "SELECT rolpassword IS NOT NULL FROM pg_authid "
                           "WHERE rolname = 'llm_assets_app'") == [(True,)]

    texts = dict(outputs)
    texts["cntl_cfg_log"] = json.dumps(execute(pg_url, "SELECT * FROM cntl_af.cntl_cfg_log"),
                                       default=str)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing",
                      aws_secret_access_key="x", region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.endswith("log_boom.ipynb") for k in keys)  # the failed notebook was kept
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        texts[f"s3://{bucket}/{key}"] = body.decode("latin-1")

    with dagster_ui(env) as server:
        ui = {name: json.dumps(server.graphql(query)) for name, query in UI_QUERIES.items()}
        runs = json.loads(ui["runs"])["runsOrError"]["results"]
        assert len(runs) == 2
        for run_info in runs:
            ui[f"logsForRun {run_info['runId']}"] = json.dumps(
                server.graphql(LOGS_FOR_RUN, {"runId": run_info["runId"]}))
    resources = json.loads(ui["resources"])["allTopLevelResourceDetailsOrError"]["results"]
    assert {"datalake", "io_manager", "llm", "vectorstore"} <= {r["name"] for r in resources}
    assert "log fixture: 3 rows fail the amount check" in "".join(ui.values())  # events seen
    texts.update({f"UI {name}": text for name, text in ui.items()})

    leaks = _texts_holding(texts, secrets) + _files_holding(tmp_path, secrets)
    assert not leaks, leaks
