"""The data lake in both profiles: a real S3 endpoint (moto server) and the filesystem.

Results pass between processes through the IO manager; executed notebooks and their HTML
land under runs/<stream>/<process>/<run_id>/; failures name endpoint and bucket."""

from __future__ import annotations

import pickle
import re
import uuid

import boto3
import pytest

from tests.support.pg import prepare
from tests.support.project import ROOT, project_env, run
from tests.support.s3 import compose_env, free_port

pytestmark = pytest.mark.e2e
PROCESSES = ("demo_sales_orders", "demo_sales_customers", "demo_sales_summary")


def _bucket_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                      aws_secret_access_key="x", region_name="us-east-1")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def _local_objects(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _run_id(output: str) -> str:
    return re.search(r" - ([0-9a-f]{8}-[0-9a-f-]{27}) - ", output).group(1)


@pytest.mark.parametrize("profile", ["local", "compose"])
def test_chain_passes_dataframes_and_stores_notebooks(pg_url, tmp_path, s3_endpoint, profile):
    prepare(pg_url, "001_demo_sales.sql")
    bucket = f"lake-{uuid.uuid4().hex[:8]}"  # does not exist yet: created on first write
    extra = compose_env(s3_endpoint, bucket) if profile == "compose" else {}
    env = project_env(pg_url, tmp_path, **extra)
    proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j",
                "demo_sales"], env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    run_id = _run_id(output)
    if profile == "compose":
        objects = {k.removeprefix("llm_assets/"): v
                   for k, v in _bucket_objects(s3_endpoint, bucket).items()}
    else:
        objects = _local_objects(tmp_path / "datalake")
    for name in PROCESSES:
        assert f"io/{name}" in objects
        prefix = f"runs/demo_sales/{name}/{run_id}/{name}"
        assert objects[f"{prefix}.ipynb"].startswith(b"{")
        assert b"<html" in objects[f"{prefix}.html"][:2000].lower()
    orders = pickle.loads(objects["io/demo_sales_orders"])
    customers = pickle.loads(objects["io/demo_sales_customers"])
    summary = pickle.loads(objects["io/demo_sales_summary"])
    expected = orders.merge(customers, on="customer_id").groupby("segment")["amount"].sum()
    assert dict(zip(summary["segment"], summary["revenue"].round(2), strict=True)) == \
        expected.round(2).to_dict()
    assert "test-secret-key" not in output


@pytest.mark.parametrize("profile", ["local", "compose"])
def test_cli_put_ls_get_round_trip(pg_url, tmp_path, s3_endpoint, profile):
    bucket = f"cli-{uuid.uuid4().hex[:8]}"
    extra = compose_env(s3_endpoint, bucket) if profile == "compose" else {}
    env = project_env(pg_url, tmp_path, **extra)
    source = tmp_path / "manual.txt"
    source.write_text("ünïcode source document\n")
    run(["llm-assets", "datalake", "put", str(source), "raw/doc_qa/manual.txt"], env,
        check=True)
    listing = run(["llm-assets", "datalake", "ls", "raw/"], env, check=True).stdout
    assert listing.split() == ["raw/doc_qa/manual.txt"]
    target = tmp_path / "back.txt"
    run(["llm-assets", "datalake", "get", "raw/doc_qa/manual.txt", str(target)], env,
        check=True)
    assert target.read_text() == source.read_text()
    missing = run(["llm-assets", "datalake", "get", "raw/nope.txt"], env)
    assert missing.returncode != 0 and "no object 'raw/nope.txt'" in missing.stderr


def test_wrong_endpoint_fails_naming_endpoint_and_bucket(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    dead = f"http://127.0.0.1:{free_port()}"
    env = project_env(pg_url, tmp_path, **compose_env(dead, "datalake", secret="planted-s3cret"))
    env["AWS_MAX_ATTEMPTS"] = "1"
    proc = run(["dagster", "asset", "materialize", "-m", "llm_assets.definitions",
                "--select", "demo_sales_customers"], env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"at endpoint {dead}" in output and "s3://datalake" in output, output[-3000:]
    assert "LLM_ASSETS_S3_ENDPOINT" in output  # what to check
    assert "planted-s3cret" not in output


def test_failing_notebook_keeps_executed_notebook_and_links_it(pg_url, tmp_path):
    prepare(pg_url, "tests/fixtures/log_streams.sql")
    env = project_env(pg_url, tmp_path,
                      LLM_ASSETS_NOTEBOOKS_DIR=str(ROOT / "tests" / "fixtures" / "notebooks"))
    proc = run(["dagster", "asset", "materialize", "-m", "llm_assets.definitions",
                "--select", "log_boom"], env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    run_id = _run_id(output)
    prefix = tmp_path / "datalake" / "runs" / "log_fail" / "log_boom" / run_id
    notebook = prefix / "log_boom.ipynb"
    assert notebook.exists() and (prefix / "log_boom.html").exists()
    assert b"ValueError" in notebook.read_bytes()  # the executed notebook holds the traceback
    assert "ValueError" in output and notebook.resolve().as_uri() in output


@pytest.mark.unit
@pytest.mark.parametrize("code, hint", [
    ("InvalidAccessKeyId", "check AWS_ACCESS_KEY_ID"),
    ("SignatureDoesNotMatch", "check AWS_SECRET_ACCESS_KEY"),
    ("AccessDenied", "grant s3:GetObject, s3:PutObject, s3:ListBucket"),
])
def test_credential_and_permission_errors_say_what_to_check(code, hint):
    """The message mapping for S3 error codes (moto's server here does not enforce IAM)."""
    from botocore.exceptions import ClientError

    from llm_assets.backends.s3_datalake import s3_error

    err = ClientError({"Error": {"Code": code, "Message": "denied"}}, "PutObject")
    message = str(s3_error("write", "io/x", err, "http://minio:9000", "datalake"))
    assert "s3://datalake/io/x at endpoint http://minio:9000" in message
    assert hint in message
