"""Executed notebooks one click away, compose profile (S3 data lake on a real S3 endpoint,
moto's server): the links use the public endpoint a browser reaches, open the HTML rendering
with its cells (as text/html), in the materialization's metadata and in the failure message;
with LLM_ASSETS_LINKS_URL, stable links through `llm-assets datalake serve-links` redirect
each click to a freshly signed URL, so they never expire."""

from __future__ import annotations

import html
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import BIN, ROOT, project_env, run
from tests.support.s3 import compose_env, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NOTEBOOKS = ROOT / "tests" / "fixtures" / "notebooks"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, follow: bool = True):
    opener = urllib.request.build_opener(*(() if follow else (NoRedirect,)))
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def _assert_public(url: str, public: str, key: str) -> None:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == public, url  # not the step's endpoint
    assert parts.path.endswith(key), url
    query = parse_qs(parts.query)
    assert "X-Amz-Signature" in query and query["X-Amz-Expires"] == ["604800"], url


def _assert_rendered_notebook(url: str, *texts: str) -> None:
    status, headers, body = _get(url)
    assert status == 200, (url, status, body[:500])
    assert headers["Content-Type"].startswith("text/html"), headers  # opens, not downloads
    assert 'class="jp-Cell' in body or "jp-Cell " in body, body[:500]
    shown = html.unescape(re.sub(r"<[^>]+>", "", body))  # the text a reader sees
    for text in texts:
        assert text in shown, text


def _materialization_metadata(home: Path, asset: str) -> dict:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        assert event is not None and event.asset_materialization is not None
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_compose_links_use_the_public_endpoint(pg_url, tmp_path, s3_endpoint):
    prepare(pg_url, "tests/fixtures/log_streams.sql")
    bucket = f"links-{uuid.uuid4().hex[:8]}"
    # the step reaches S3 at 127.0.0.1 (in compose: http://minio:9000), the browser at
    # localhost (in compose: http://localhost:9000): two names of the same server
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=str(NOTEBOOKS),
                      LLM_ASSETS_S3_PUBLIC_ENDPOINT=public,
                      **compose_env(s3_endpoint, bucket))
    proc = run(["llm-assets", "run", "log_fail"], env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]  # log_boom fails
    rows = {name: (run_id, message) for name, run_id, message in execute(
        pg_url, "SELECT prcs_nm, run_id, message FROM cntl_af.cntl_cfg_log")}
    run_id = rows["log_ok"][0]
    prefix = "llm_assets/runs/log_fail"

    # the materialization of the process that succeeded
    meta = _materialization_metadata(tmp_path, "log_ok")
    html_key = f"{prefix}/log_ok/{run_id}/log_ok.html"
    _assert_public(meta["executed_notebook"], public, html_key)
    _assert_rendered_notebook(meta["executed_notebook"], "nb.report(source_row=5, target_row=4)")
    _assert_public(meta["executed_notebook_ipynb"], public, html_key.replace(".html", ".ipynb"))

    # the failure message of the failed process (UI event and log row) links the same way
    message = rows["log_boom"][1]
    line = next(x for x in message.splitlines() if x.startswith("Executed notebook: "))
    link = line.removeprefix("Executed notebook: ")
    _assert_public(link, public, f"{prefix}/log_boom/{run_id}/log_boom.html")
    _assert_rendered_notebook(link, "ValueError", "3 rows fail the amount check")

    # stable links: the links server redirects each click to a URL signed at that moment
    port = free_port()
    server = subprocess.Popen([str(BIN / "llm-assets"), "datalake", "serve-links", "--port",
                               str(port)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = _get(base + "/runs/")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        key = f"runs/log_fail/log_ok/{run_id}/log_ok.html"
        status, headers, _ = _get(f"{base}/{key}", follow=False)
        assert status == 302, (status, headers)
        _assert_public(headers["Location"], public, f"llm_assets/{key}")
        signed = parse_qs(urlsplit(headers["Location"]).query)["X-Amz-Date"][0]
        age = datetime.now(UTC) - datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=UTC)
        assert age.total_seconds() < 60, signed  # signed now, not when the run stored it
        _assert_rendered_notebook(f"{base}/{key}", "nb.report(source_row=5, target_row=4)")
        assert _get(f"{base}/runs/log_fail/log_ok/{run_id}/missing.html")[0] == 404
        assert _get(f"{base}/io/log_ok")[0] == 404  # only runs/ and export/ are served

        # what a run stores with LLM_ASSETS_LINKS_URL set: the stable link
        from llm_assets.backends.s3_datalake import S3DataLake

        lake = S3DataLake(s3=_s3_resource(s3_endpoint), bucket=bucket, prefix="llm_assets",
                          public_endpoint=public, links_url=base + "/")
        assert lake.link(key) == f"{base}/{key}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _s3_resource(endpoint: str):
    from dagster_aws.s3 import S3Resource

    return S3Resource(endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="test-secret-key")
