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
import random
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.log.conftest import log_rows
from tests.support.pg import execute, prepare
from tests.support.project import BIN, ROOT, project_env, wait_for
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


def _start_run(env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "llm-assets"), "run", "faults"], env=env,
                            cwd=env["LLM_ASSETS_HOME"],
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
    """The CNTL_CFG_LOG rows by process: every process exactly once, all of one run."""
    rows = log_rows(url)  # fails on a duplicate (run_id, process)
    by_process = {process: row for (_, process), row in rows.items()}
    assert len(by_process) == len(rows), f"a process logged under two runs: {sorted(rows)}"
    assert len({run_id for run_id, _ in rows}) <= 1, sorted(rows)
    return by_process


@pytest.fixture
def gate(tmp_path) -> Path:
    path = tmp_path / "gate"
    path.mkdir()
    return path


# --- the notebook kernel killed mid-cell -------------------------------------------------

@pytest.mark.parametrize("engine", ["dagstermill", "papermill"])
def test_kernel_killed_mid_cell_fails_the_step_keeps_the_notebook(pg_url, tmp_path, gate,
                                                                    monkeypatch, engine):
    import nbformat

    _rows(pg_url, [("kill_me", "faults/gate.ipynb", 1, None)], gate)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                      LLM_ASSETS_NOTEBOOK_ENGINE=engine)
    proc = _start_run(env)
    pid_file = wait_for(lambda: (gate / "kill_me.pid").exists() and gate / "kill_me.pid",
                         120, "the kernel's pid")
    kernel = int(wait_for(pid_file.read_text, 10, "the pid"))
    os.kill(kernel, signal.SIGKILL)  # mid-cell: the notebook is waiting at its gate
    output = _finish(proc)
    assert proc.returncode != 0, output[-3000:]

    rows = _log(pg_url)
    assert set(rows) == {"kill_me"}
    row = rows["kill_me"]
    assert row["status"] == FAILED and row["end_dt"] is not None
    message = row["message"]
    assert "notebook notebooks/faults/gate.ipynb of process kill_me" in message, message
    assert "kernel died" in message, message
    kept = (tmp_path / "datalake" / "runs" / "faults" / "kill_me" / row["run_id"]
            / "kill_me.ipynb")
    assert kept.exists(), message
    assert str(kept.resolve().as_uri()) in message
    # the partly executed notebook of this run: its injected parameters name the run, the
    # cells before the killed one ran, the killed cell never finished, none after it ran
    executed = nbformat.reads(kept.read_text(), as_version=4)
    assert row["run_id"] in kept.read_text()
    code = [c for c in executed.cells if c.cell_type == "code"]
    killed = next(i for i, c in enumerate(code) if ".pid" in c.source)
    assert all(c.execution_count is not None for c in code[:killed]), code[:killed]
    assert not any(o.get("output_type") == "execute_result" for o in code[killed].outputs)
    assert all(c.execution_count is None for c in code[killed + 1:])


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

        wait_for(up, 30, f"moto at {self.url}")

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
    wait_for(lambda: (gate / "s3_gate.pid").exists(), 120, "the notebook to start")
    moto.stop()  # the endpoint goes away while the notebook runs
    (gate / "s3_gate.go").touch()
    kept_root = tmp_path / "kept-notebooks"
    # the first attempt cannot store its notebook: kept on this machine, step up for retry
    wait_for(lambda: any(kept_root.rglob("s3_gate.ipynb")), 120, "the kept notebook")
    moto.start()  # back (empty: moto keeps nothing in memory across restarts)
    output = _finish(proc)
    assert proc.returncode == 0, output[-4000:]
    # the first attempt: the error named the endpoint, the notebook was kept, a retry followed
    assert f"data lake: could not check bucket s3://{bucket} at endpoint {moto.url}" in output

    rows = _log(pg_url)
    assert set(rows) == {"s3_gate"}
    row = rows["s3_gate"]
    assert row["status"] == SUCCESS and row["message"] is None
    # the retry as Dagster recorded it (the run's event log, not its console output: lines
    # written by forked step processes may not all reach the captured stdout)
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        kinds = [r.event_log_entry.dagster_event.event_type for r in instance.get_records_for_run(
            row["run_id"], of_type={dg.DagsterEventType.STEP_UP_FOR_RETRY,
                                    dg.DagsterEventType.STEP_RESTARTED,
                                    dg.DagsterEventType.STEP_SUCCESS}).records]
    assert kinds[0] == dg.DagsterEventType.STEP_UP_FOR_RETRY, kinds
    assert kinds[-1] == dg.DagsterEventType.STEP_SUCCESS and kinds.count(kinds[-1]) == 1, kinds
    assert dg.DagsterEventType.STEP_RESTARTED in kinds, kinds
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
    wait_for(lambda: (gate / "s3_gate.pid").exists(), 120, "the notebook to start")
    moto.stop()
    (gate / "s3_gate.go").touch()
    output = _finish(proc)
    assert proc.returncode != 0

    rows = _log(pg_url)
    assert set(rows) == {"s3_gate", "s3_after"}
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
    assert set(rows) == {"llm_flaky", "llm_broken", "llm_slow"}
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
        # the message links the notebook's HTML rendering (presigned)
        assert f"/{bucket}/{key.removesuffix('.ipynb')}.html" in rows[process]["message"]
    assert "test-secret-key" not in output


# --- Postgres restarted while a run executes (and while the log mirror ticks) -------------

def _restartable_port() -> int:
    """A free port below the kernel's ephemeral range and outside the embedded servers' scan
    range (54329-54528): while this server is down for its restart, no other embedded server
    started on this machine (other test sessions scan from 54329) and no outgoing connection
    can take its port, so it comes back where its clients expect it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for candidate in random.Random().sample(range(20000, min(low, 32768)), 500):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    raise AssertionError("no free port in 20000-32767 for the restartable Postgres")


class _OwnPostgres:
    """The local profile on its own embedded Postgres (own LLM_ASSETS_HOME, so the session's
    server is untouched): control tables AND Dagster's run and event storage."""

    def __init__(self, home: Path):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)  # the CLI runs from it (not the repo root)
        self.base = {k: v for k, v in os.environ.items()
                     if not k.startswith(("LLM_ASSETS_", "DAGSTER_"))}
        self.base.update(LLM_ASSETS_HOME=str(home), LLM_ASSETS_PROFILE="local",
                         LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES, PYTHONUNBUFFERED="1",
                         LLM_ASSETS_PG_PORT=str(_restartable_port()))
        self.env: dict[str, str] = {}

    def cli(self, *args, check=True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(BIN / "llm-assets"), *args], env=self.base,
                              cwd=self.base["LLM_ASSETS_HOME"],
                              capture_output=True, text=True, timeout=300, check=False)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def start(self) -> None:
        self.cli("up")
        self.env = dict(self.base)
        for line in self.cli("env").stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            self.env[key] = value.strip("'\"")
        self.cli("db", "upgrade")

    @property
    def url(self) -> str:
        return self.env["LLM_ASSETS_DATABASE_URL"]

    def postmaster_pid(self) -> str:
        return (self.home / "postgres" / "data" / "postmaster.pid").read_text().split()[0]

    def restart(self) -> None:
        """`llm-assets down` + `llm-assets up`: pg_ctl stop -m fast (every session is
        terminated), then the same data directory on the same port."""
        before = self.postmaster_pid()
        self.cli("down")
        self.cli("up")
        assert self.postmaster_pid() != before  # a new server process


@pytest.fixture
def own_postgres(tmp_path):
    server = _OwnPostgres(tmp_path / "home")
    server.start()
    yield server
    server.cli("down", check=False)


def test_postgres_restarted_during_a_run(own_postgres, gate):
    """Restarted while a notebook runs; the run finishes and `llm-assets run` logs it."""
    pg = own_postgres
    _rows(pg.url, [("pg_gate", "faults/gate.ipynb", 1, None),
                   ("pg_after", "faults/gate.ipynb", 2, None)], gate)
    (gate / "pg_after.go").touch()
    proc = subprocess.Popen([str(BIN / "llm-assets"), "run", "faults"], env=pg.env,
                            cwd=pg.env["LLM_ASSETS_HOME"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert "postgres:" in (pg.home / "dagster" / "dagster.yaml").read_text()  # Dagster's too
    wait_for(lambda: (gate / "pg_gate.pid").exists(), 120, "the notebook to start")
    pg.restart()
    (gate / "pg_gate.go").touch()
    output = _finish(proc)
    assert proc.returncode == 0, output[-4000:]
    rows = log_rows(pg.url)  # keyed (run_id, process); fails on a duplicate
    assert {p: r["status"] for (_, p), r in rows.items()} == {"pg_gate": SUCCESS,
                                                              "pg_after": SUCCESS}
    assert len({run_id for run_id, _ in rows}) == 1


def test_postgres_down_past_dagsters_retries_fails_the_step_clearly(own_postgres, gate):
    """Postgres stays down while the notebook finishes, until Dagster's own connection
    retries in the step give up (the step cannot record its events): the step fails with a
    message naming Dagster's storage database and what to do, the executed notebook is kept
    and linked; once Postgres is back the failure is recorded and logged (status 99)."""
    import nbformat

    pg = own_postgres
    _rows(pg.url, [("pg_gate", "faults/gate.ipynb", 1, None),
                   ("pg_after", "faults/gate.ipynb", 2, None)], gate)
    (gate / "pg_after.go").touch()
    proc = _start_run(pg.env)
    wait_for(lambda: (gate / "pg_gate.pid").exists(), 120, "the notebook to start")
    pg.cli("down")
    (gate / "pg_gate.go").touch()  # the notebook finishes while Postgres is down
    runs = pg.home / "datalake" / "runs" / "faults" / "pg_gate"
    # the step gave up on the database (DagsterPostgresException) and kept its notebook
    kept = wait_for(lambda: next(runs.glob("*/pg_gate.ipynb"), None), 180,
                     "the step to give up and keep its notebook")
    pg.cli("up")
    output = _finish(proc)
    assert proc.returncode != 0, output[-4000:]

    rows = _log(pg.url)
    assert set(rows) == {"pg_gate", "pg_after"}
    failed = rows["pg_gate"]
    message = failed["message"]
    assert failed["status"] == FAILED, failed
    assert kept.parent.name == failed["run_id"]
    assert "notebook notebooks/faults/gate.ipynb of process pg_gate could not finish" in message
    port, name = pg.env["DAGSTER_PG_PORT"], pg.env["DAGSTER_PG_DB"]
    assert f"Dagster's storage, Postgres at 127.0.0.1:{port}/{name}" in message, message
    assert "`llm-assets up`" in message and "DagsterPostgresException" in message
    assert f"Executed notebook: {kept.resolve().as_uri()}" in message
    executed = nbformat.reads(kept.read_text(), as_version=4)  # it ran to the end
    assert all(c.execution_count is not None for c in executed.cells if c.cell_type == "code")
    after = rows["pg_after"]
    assert (after["status"], after["message"]) == (FAILED, "not run: upstream failed")


def _blocked_on_lock(url: str) -> bool:
    """True while some session waits for a lock in an upsert into cntl_cfg_log."""
    found = execute(url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                         " AND query ILIKE '%%cntl_cfg_log%%'")
    return found[0][0] > 0


def test_postgres_restarted_during_a_mirror_tick_and_a_run(own_postgres, gate, monkeypatch):
    """The run is launched by `dagster job execute` (only the log-mirror sensor writes log
    rows).  While its notebook runs, one sensor tick mirrors it as running; the next tick is
    caught mid-write (its upsert waits on a table lock the test holds) when Postgres is
    restarted: that tick fails naming the database and returns no cursor.  The run goes on
    and succeeds; the next tick, from the last committed cursor, writes every outcome, and
    a further tick changes nothing: each process exactly once, nothing lost."""
    import dagster as dg
    import psycopg2

    from llm_assets.core.errors import ServiceUnavailable
    from tests.log.conftest import tick

    pg = own_postgres
    _rows(pg.url, [("pg_gate", "faults/gate.ipynb", 1, None),
                   ("pg_after", "faults/gate.ipynb", 2, None)], gate)
    (gate / "pg_after.go").touch()
    for key, value in pg.env.items():  # this process opens the same instance as the run
        if key.startswith(("LLM_ASSETS_", "DAGSTER_")):
            monkeypatch.setenv(key, value)
    proc = subprocess.Popen([str(BIN / "dagster"), "job", "execute", "-m",
                             "llm_assets.definitions", "-j", "faults"], env=pg.env,
                            cwd=pg.env["LLM_ASSETS_HOME"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: (gate / "pg_gate.pid").exists(), 120, "the notebook to start")
        with dg.DagsterInstance.get() as instance:
            first = tick(instance)  # mid-run: pg_gate is running, pg_after not started
            rows = log_rows(pg.url)
            assert {p: r["status"] for (_, p), r in rows.items()} == {"pg_gate": 1}
            (run_id, _), = rows

            lock = psycopg2.connect(pg.url)
            try:
                with lock.cursor() as cur:  # held until the restart ends this session
                    cur.execute("LOCK TABLE cntl_af.cntl_cfg_log IN SHARE ROW EXCLUSIVE MODE")
                with ThreadPoolExecutor(1) as pool:
                    second = pool.submit(tick, instance, first.cursor)
                    wait_for(lambda: _blocked_on_lock(pg.url), 60, "the tick's write")
                    pg.restart()  # while the tick waits inside its write transaction
                    error = second.exception(timeout=120)
            finally:
                lock.close()
            assert isinstance(error, ServiceUnavailable), repr(error)
            assert pg.url.rsplit("@", 1)[1] in str(error)  # names the database
            assert run_id in str(error) and "Nothing was committed" in str(error)

            (gate / "pg_gate.go").touch()  # the run goes on after the restart
            output = _finish(proc)
            assert proc.returncode == 0, output[-4000:]
            third = tick(instance, first.cursor)  # the failed tick returned no cursor
            after_third = log_rows(pg.url)
            tick(instance, third.cursor)  # replaying from the new cursor adds nothing
            final = log_rows(pg.url)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert final == after_third
    assert set(final) == {(run_id, "pg_gate"), (run_id, "pg_after")}
    for row in final.values():
        assert row["status"] == SUCCESS and row["message"] is None, row
        assert row["start_dt"] < row["end_dt"]
        assert (row["source_row"], row["target_row"]) == (1, 1)
