"""`make dev` stops cleanly: a SIGTERM or a Ctrl-C (SIGINT) to its process group leaves no
process behind (make, `llm-assets dev`, `dagster dev`, its code servers, webserver, daemon,
and the run workers, step processes and notebook kernels of a run in progress) within a
bounded time, also when a second signal follows the first."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import BIN, ROOT, project_env
from tests.support.webserver import LOCATION, Webserver, free_port, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GRACE = 5         # DEV_GRACE: seconds dagster dev gets before the wrapper terminates it
STOP_WITHIN = 30  # seconds: grace + 5 s after SIGTERM + 5 s after SIGKILL, and slack

GATE_STREAM = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('dev_gate');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm) VALUES ('dev_gate_g', 'dev_gate');
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm) VALUES
    ('dev_gate_wait', 'dev_gate_g', 'faults/gate.ipynb', %(gate)s);
"""

LAUNCH = """mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/server_info", timeout=3):
            return True
    except OSError:
        return False


def _family(pid: int) -> list:
    import psutil

    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _alive(processes: list) -> list[str]:
    import psutil

    left = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{proc.pid} {' '.join(proc.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            continue
    return left


def _wait_for(what: str, predicate, make: subprocess.Popen, log: Path, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert make.poll() is None, f"make dev exited:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} not within {timeout} s:\n" \
                                            f"{log.read_text()[-3000:]}"
        time.sleep(0.5)


@pytest.mark.parametrize("first, second, with_run", [
    (signal.SIGTERM, None, False),
    (signal.SIGINT, None, True),             # Ctrl-C while a notebook runs
    (signal.SIGTERM, signal.SIGINT, True),   # as reported: TERM to the group, then INT
])
def test_make_dev_leaves_no_process_behind(pg_url, tmp_path, first, second, with_run):
    gate = tmp_path / "gate"
    gate.mkdir()
    prepare(pg_url)
    execute(pg_url, GATE_STREAM, {"gate": f"gate_dir={gate}"})
    env = project_env(pg_url, tmp_path,
                      LLM_ASSETS_NOTEBOOKS_DIR=str(ROOT / "tests" / "fixtures" / "notebooks"))
    port = free_port()
    # `-o services`: the database is the test's and nothing is installed (the venv is the one
    # running the tests); the recipe of `dev` runs as `make dev` runs it
    cmd = [shutil.which("make") or "make", "-o", "services", "dev", f"VENV={BIN.parent}",
           f"DEV_PORT={port}", f"DEV_GRACE={GRACE}"]
    log = tmp_path / "make-dev.log"
    with log.open("w") as out:
        make = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Webserver(f"http://127.0.0.1:{port}", make, log)
    family: list = []
    try:
        wait_ready(server, 240)  # the UI answers and the code location has loaded
        if with_run:
            params = {"selector": {"repositoryLocationName": LOCATION,
                                   "repositoryName": "__repository__", "jobName": "dev_gate"},
                      "runConfigData": {}}
            answer = server.graphql(LAUNCH, {"params": params})["launchRun"]
            assert answer["__typename"] == "LaunchRunSuccess", answer
            # the notebook's kernel writes its pid, then waits for a gate nobody opens
            _wait_for("the notebook kernel", (gate / "dev_gate_wait.pid").exists, make, log)
        family = _family(make.pid)
        names = " ".join(" ".join(p.cmdline()) for p in family)
        for part in ("llm-assets dev", "dagster dev", "dagster_webserver", "dagster._daemon",
                     "code-server", *(("ipykernel",) if with_run else ())):
            assert part in names, (part, names)

        os.killpg(make.pid, first)  # make's group: what the terminal or a supervisor signals
        if second is not None:
            time.sleep(1)
            dagster_dev = next(p for p in family if p.cmdline()[1:3] == [
                str(BIN / "dagster"), "dev"])
            dagster_dev.send_signal(second)
        stopped = time.monotonic()
        while _alive(family) and time.monotonic() - stopped < STOP_WITHIN:
            time.sleep(0.5)
        left = _alive(family)
        assert not left, f"still running {STOP_WITHIN} s after the signal: {left}\n" \
                         f"{log.read_text()[-3000:]}"
        make.wait(timeout=10)
        assert make.returncode != 0  # stopped by the signal, not a clean exit of its own
        assert not _serving(server.url)
    finally:  # whatever the outcome, nothing of this test stays running
        import psutil

        for proc in [*family, *(_family(make.pid) if make.poll() is None else [])][::-1]:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                continue
        make.wait(timeout=10)
