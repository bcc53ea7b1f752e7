"""Credentials and permissions against an S3 endpoint that enforces IAM (a moto server with
authentication on): each failure names endpoint, bucket and what to check, writes nothing
under the result key, and never shows the secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import boto3
import pytest

from tests.support.pg import prepare
from tests.support.project import project_env, run
from tests.support.s3 import compose_env, free_port

pytestmark = pytest.mark.e2e
BUCKET = "authlake"


@pytest.fixture(scope="module")
def iam_s3():
    """moto with IAM enforced after 4 set-up calls: a user `app` that may only read."""
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        admin = {"endpoint_url": url, "region_name": "us-east-1",
                 "aws_access_key_id": "admin", "aws_secret_access_key": "admin"}
        iam = boto3.client("iam", **admin)
        for _ in range(100):
            try:
                iam.create_user(UserName="app")  # set-up call 1
                break
            except Exception:  # noqa: BLE001 - server still starting
                time.sleep(0.1)
        key = iam.create_access_key(UserName="app")["AccessKey"]  # 2
        boto3.client("s3", **admin).create_bucket(Bucket=BUCKET)  # 3
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}
        iam.put_user_policy(UserName="app", PolicyName="read-only",
                            PolicyDocument=json.dumps(policy))  # 4
        yield url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("case, hint", [
    ("unknown key", "check AWS_ACCESS_KEY_ID"),
    ("wrong secret", "check AWS_SECRET_ACCESS_KEY"),
    ("no write permission", "grant s3:GetObject, s3:PutObject, s3:ListBucket"),
])
def test_s3_credential_failures_are_named(pg_url, tmp_path, iam_s3, case, hint):
    url, key_id, secret = iam_s3
    key, sec = {"unknown key": ("AKIAUNKNOWN", "planted-secret-1"),
                "wrong secret": (key_id, "planted-secret-2"),
                "no write permission": (key_id, secret)}[case]
    prepare(pg_url, "001_demo_sales.sql")
    extra = compose_env(url, BUCKET, secret=sec)
    extra["AWS_ACCESS_KEY_ID"] = key
    env = project_env(pg_url, tmp_path, **extra)
    proc = run(["dagster", "asset", "materialize", "-m", "llm_assets.definitions",
                "--select", "demo_sales_customers"], env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"s3://{BUCKET}" in output and f"at endpoint {url}" in output, output[-3000:]
    assert hint in output, output[-3000:]
    assert sec not in output
    reader = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id=key_id, aws_secret_access_key=secret)
    keys = [o["Key"] for o in reader.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not [k for k in keys if "/io/" in k or k.startswith("io/")], keys
