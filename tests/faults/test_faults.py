"""Fault injection with real processes on localhost, during real runs (`llm-assets run`):

- a notebook kernel SIGKILLed mid-cell;
- the S3 endpoint (a moto server subprocess) stopped during a materialization and started
  again, with and without Dagster retries;
- the LLM server (Ollama API) answering 500s, always 500, or slower than the client timeout;
- the embedded Postgres (control tables and Dagster storage) restarted while a run executes.

Each test checks what the user is promised: retries recover; otherwise the process is status
99 in CNTL_CFG_LOG with a message naming the process, notebook and service, the executed
notebook is kept, and every outcome reaches the log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from llm_assets.control.log import FAILED, SUCCESS
from tests.log.conftest import log_rows
from tests.support.pg import execute, prepare
from tests.support.project import BIN, ROOT, project_env
from tests.support.s3 import compose_env, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIXTURES = str(ROOT / "tests" / "fixtures" / "notebooks")

ROWS = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('faults');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES
    ('faults_first', 'faults', 1), ('faults_then', 'faults', 2);
"""


def _rows(url: str, processes: list[tuple], gate: Path) -> None:
    """One stream `faults`: (name, notebook, tier, gen_model) processes."""
    prepare(url)
    execute(url, ROWS)
    for name, notebook, tier, model in processes:
        group = "faults_first" if tier == 1 else "faults_then"
        execute(url, "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm,"
                     " gen_model) VALUES (%s, %s, %s, %s, %s)",
                (name, group, notebook, f"gate_dir={gate}", model))


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _start_run(env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "llm-assets"), "run", "faults"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        raise AssertionError(f"the run hung:\n{output[-4000:]}") from None
    return output


def _log(url: str) -> dict[str, dict]:
    return {process: row for (_, process), row in log_rows(url).items()}


@pytest.fixture
def gate(tmp_path) -> Path:
    path = tmp_path / "gate"
    path.mkdir()
    return path


# --- the notebook kernel killed mid-cell -------------------------------------------------

def test_kernel_killed_mid_cell_fails_the_step_keeps_the_notebook(pg_url, tmp_path, gate,
                                                                    monkeypatch):
    _rows(pg_url, [("kill_me", "faults/gate.ipynb", 1, None)], gate)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES)
    proc = _start_run(env)
    pid_file = _wait_for(lambda: (gate / "kill_me.pid").exists() and gate / "kill_me.pid",
                         120, "the kernel's pid")
    kernel = int(_wait_for(pid_file.read_text, 10, "the pid"))
    os.kill(kernel, signal.SIGKILL)  # mid-cell: the notebook is waiting at its gate
    output = _finish(proc)
    assert proc.returncode != 0, output[-3000:]

    row = _log(pg_url)["kill_me"]
    assert row["status"] == FAILED and row["end_dt"] is not None
    message = row["message"]
    assert "notebook notebooks/faults/gate.ipynb of process kill_me" in message, message
    assert "kernel died" in message, message
    kept = (tmp_path / "datalake" / "runs" / "faults" / "kill_me" / row["run_id"]
            / "kill_me.ipynb")
    assert kept.exists(), message
    assert b"gate_dir" in kept.read_bytes()  # the partly executed notebook, with its cells
    assert str(kept.resolve().as_uri()) in message


# --- the S3 endpoint stopped and started again --------------------------------------------

class _Moto:
    """moto's S3 server as a separate process on a fixed port (stoppable, restartable)."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                      "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            try:
                urllib.request.urlopen(self.url, timeout=1)  # noqa: S310 - localhost test server
            except OSError:
                return False
            return True

        _wait_for(up, 30, f"moto at {self.url}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def objects(self, bucket: str) -> set[str]:
        s3 = boto3.client("s3", endpoint_url=self.url, aws_access_key_id="testing",
                          aws_secret_access_key="x", region_name="us-east-1")
        return {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in page.get("Contents", [])}


@pytest.fixture
def moto():
    server = _Moto(free_port())
    server.start()
    yield server
    server.stop()


def _s3_env(pg_url, tmp_path, moto, bucket, **extra) -> dict:
    return project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                       AWS_MAX_ATTEMPTS="1", **compose_env(moto.url, bucket), **extra)


def test_s3_down_mid_materialization_recovers_with_retries(pg_url, tmp_path, gate, moto,
                                                           monkeypatch):
    _rows(pg_url, [("s3_gate", "faults/gate.ipynb", 1, None)], gate)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    bucket = f"faults-{uuid.uuid4().hex[:8]}"
    env = _s3_env(pg_url, tmp_path, moto, bucket, LLM_ASSETS_MAX_RETRIES="3",
                  LLM_ASSETS_RETRY_DELAY="5")
    proc = _start_run(env)
    _wait_for(lambda: (gate / "s3_gate.pid").exists(), 120, "the notebook to start")
    moto.stop()  # the endpoint goes away while the notebook runs
    (gate / "s3_gate.go").touch()
    kept_root = tmp_path / "kept-notebooks"
    # the first attempt cannot store its notebook: kept on this machine, step up for retry
    _wait_for(lambda: any(kept_root.rglob("s3_gate.ipynb")), 120, "the kept notebook")
    moto.start()  # back (empty: moto keeps nothing in memory across restarts)
    output = _finish(proc)
    assert proc.returncode == 0, output[-4000:]
    # the first attempt: the error named the endpoint, the notebook was kept, a retry followed
    assert f"data lake: could not check bucket s3://{bucket} at endpoint {moto.url}" in output
    assert "STEP_UP_FOR_RETRY" in output and "STEP_RESTARTED" in output

    row = _log(pg_url)["s3_gate"]
    assert row["status"] == SUCCESS and row["message"] is None
    objects = moto.objects(bucket)
    assert "llm_assets/io/s3_gate" in objects
    assert f"llm_assets/runs/faults/s3_gate/{row['run_id']}/s3_gate.ipynb" in objects


def test_s3_down_without_retries_is_status_99_and_keeps_the_notebook(pg_url, tmp_path, gate,
                                                                     moto, monkeypatch):
    _rows(pg_url, [("s3_gate", "faults/gate.ipynb", 1, None),
                   ("s3_after", "faults/gate.ipynb", 2, None)], gate)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    bucket = f"faults-{uuid.uuid4().hex[:8]}"
    env = _s3_env(pg_url, tmp_path, moto, bucket)
    proc = _start_run(env)
    _wait_for(lambda: (gate / "s3_gate.pid").exists(), 120, "the notebook to start")
    moto.stop()
    (gate / "s3_gate.go").touch()
    output = _finish(proc)
    assert proc.returncode != 0

    rows = _log(pg_url)
    failed, after = rows["s3_gate"], rows["s3_after"]
    assert failed["status"] == FAILED
    message = failed["message"]
    assert f"s3://{bucket} at endpoint {moto.url}" in message, message
    assert "LLM_ASSETS_S3_ENDPOINT" in message  # what to check
    kept = list((tmp_path / "kept-notebooks").rglob("s3_gate.ipynb"))
    assert len(kept) == 1 and str(kept[0]) in message
    assert b"attempt_pid" in kept[0].read_bytes()  # the fully executed notebook
    assert (after["status"], after["message"]) == (FAILED, "not run: upstream failed")
    assert "test-secret-key" not in output + message


# --- the LLM server: 500s, always 500, too slow ------------------------------------------

def test_llm_500s_recover_while_persistent_500_and_timeout_fail_clearly(pg_url, tmp_path,
                                                                         gate, s3_endpoint,
                                                                         monkeypatch):
    from tests.support.ollama_server import OllamaTestServer

    server = OllamaTestServer(slow_seconds=6).start()
    try:
        server.fail_times = 2  # the first two chat requests answer HTTP 500
        _rows(pg_url, [("llm_flaky", "faults/llm_call.ipynb", 1, "llama3.2:1b"),
                       ("llm_broken", "faults/llm_call.ipynb", 2, "broken"),
                       ("llm_slow", "faults/llm_call.ipynb", 2, "slow")], gate)
        monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
        bucket = f"faults-{uuid.uuid4().hex[:8]}"
        env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                          OLLAMA_HOST=server.url, LLM_ASSETS_LLM_TIMEOUT="2",
                          LLM_ASSETS_LLM_RETRIES="2", **compose_env(s3_endpoint, bucket))
        output = _finish(_start_run(env))
        chats = [body.get("model") for path, body in server.requests if path == "/api/chat"]
    finally:
        server.stop()
    rows = _log(pg_url)
    assert rows["llm_flaky"]["status"] == SUCCESS, rows["llm_flaky"]["message"]
    assert chats.count("llama3.2:1b") == 3  # two 500s, then the answer

    broken = rows["llm_broken"]
    assert broken["status"] == FAILED
    assert f"Ollama at {server.url}" in broken["message"] and "'broken'" in broken["message"]
    assert "HTTP 500" in broken["message"], broken["message"]
    assert chats.count("broken") == 3  # retried twice, then failed

    slow = rows["llm_slow"]
    assert slow["status"] == FAILED
    assert f"Ollama at {server.url} did not answer" in slow["message"], slow["message"]
    assert "within 2.0s" in slow["message"]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing",
                      aws_secret_access_key="x", region_name="us-east-1")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    for process in ("llm_broken", "llm_slow"):  # the failed notebooks are kept and linked
        key = f"llm_assets/runs/faults/{process}/{rows[process]['run_id']}/{process}.ipynb"
        assert key in keys, (process, sorted(keys))
        assert f"/{bucket}/{key}" in rows[process]["message"]  # presigned link
    assert "test-secret-key" not in output


# --- Postgres restarted while a run executes ---------------------------------------------

def test_postgres_restarted_during_a_run(tmp_path, gate):
    """The local profile on its own embedded Postgres (control tables AND Dagster's run and
    event storage): restarted while a notebook runs; the run finishes and is logged."""
    home = tmp_path / "home"
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("LLM_ASSETS_", "DAGSTER_"))}
    base.update(LLM_ASSETS_HOME=str(home), LLM_ASSETS_PROFILE="local",
                LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES, PYTHONUNBUFFERED="1")

    def cli(*args, check=True):
        proc = subprocess.run([str(BIN / "llm-assets"), *args], env=base, cwd=ROOT,
                              capture_output=True, text=True, timeout=300, check=False)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    cli("up")
    try:
        env = dict(base)
        for line in cli("env").stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value.strip("'\"")
        url = env["LLM_ASSETS_DATABASE_URL"]
        cli("db", "upgrade")
        _rows(url, [("pg_gate", "faults/gate.ipynb", 1, None),
                    ("pg_after", "faults/gate.ipynb", 2, None)], gate)
        (gate / "pg_after.go").touch()
        proc = subprocess.Popen([str(BIN / "llm-assets"), "run", "faults"], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert "postgres:" in (home / "dagster" / "dagster.yaml").read_text()  # Dagster's too
        _wait_for(lambda: (gate / "pg_gate.pid").exists(), 120, "the notebook to start")
        postmaster = home / "postgres" / "data" / "postmaster.pid"
        before = postmaster.read_text().split()[0]
        cli("down")
        cli("up")  # same port, same data
        assert postmaster.read_text().split()[0] != before  # a new server process
        (gate / "pg_gate.go").touch()
        output = _finish(proc)
        assert proc.returncode == 0, output[-4000:]
        rows = _log(url)
        assert {p: r["status"] for p, r in rows.items()} == {"pg_gate": SUCCESS,
                                                             "pg_after": SUCCESS}
        assert len({r["run_id"] for r in rows.values()}) == 1
    finally:
        cli("down", check=False)
