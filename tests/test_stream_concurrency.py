"""One run per stream at a time, through the real run queue: `dagster dev` (webserver + daemon)
with the project's dagster.yaml (QueuedRunCoordinator, tag_concurrency_limits on the stream
tag), runs launched from the UI's GraphQL API.

While a run of stream `conc_a` waits at its gate, a second run of `conc_a` stays QUEUED and a
run of another stream starts and finishes; once the gate opens, the second `conc_a` run starts
only after the first one ended, so two runs of a stream never write to its collections and
exports at the same time.  The same holds when both runs are queued before the daemon starts
(`dagster-webserver`, then `dagster-daemon run`): its first pass launches only one of them.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.support.pg import execute, prepare
from tests.support.project import BIN, ROOT, project_env
from tests.support.webserver import _stop, dagster_ui

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('conc_a'), ('conc_b');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm) VALUES
    ('conc_a_g', 'conc_a'), ('conc_b_g', 'conc_b');
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm) VALUES
    ('conc_gate', 'conc_a_g', 'faults/gate.ipynb', %(gate)s),
    ('conc_quick', 'conc_b_g', 'log/ok.ipynb', NULL);
"""

LAUNCH = """mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } }
} }"""

RUN = """query Run($runId: ID!) { runOrError(runId: $runId) { ... on Run { status startTime
  endTime tags { key value } } } }"""


def _launch(server, stream: str) -> str:
    params = {"selector": {"repositoryLocationName": "llm_assets",
                           "repositoryName": "__repository__", "jobName": stream},
              "runConfigData": {}}
    answer = server.graphql(LAUNCH, {"params": params})["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


def _run(server, run_id: str) -> dict:
    return server.graphql(RUN, {"runId": run_id})["runOrError"]


def _wait(server, run_id: str, statuses: set[str], timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _run(server, run_id)
        if info["status"] in statuses:
            return info
        server.assert_alive()
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} not in {statuses} after {timeout}s: {info}\n"
                         f"{server.log_tail()}")


def _setup(pg_url, tmp_path, monkeypatch):
    gate = tmp_path / "gate"
    gate.mkdir()
    prepare(pg_url)
    execute(pg_url, ROWS, {"gate": f"gate_dir={gate}"})
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path,
                      LLM_ASSETS_NOTEBOOKS_DIR=str(ROOT / "tests" / "fixtures" / "notebooks"))
    # the project's instance settings (queue, limits), with Dagster's default SQLite storage
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    instance.pop("storage")
    assert instance["concurrency"]["runs"]["tag_concurrency_limits"][0]["key"] == \
        "llm_assets/stream"
    (tmp_path / "dagster" / "dagster.yaml").write_text(yaml.safe_dump(instance))
    return gate, env


def test_two_runs_of_a_stream_never_overlap(pg_url, tmp_path, monkeypatch):
    gate, env = _setup(pg_url, tmp_path, monkeypatch)
    with dagster_ui(env, daemon=True) as server:
        first = _launch(server, "conc_a")
        _wait(server, first, {"STARTED"})
        deadline = time.monotonic() + 180
        while not (gate / "conc_gate.pid").exists():  # its notebook waits at the gate
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.5)
        second = _launch(server, "conc_a")
        other = _launch(server, "conc_b")
        done = _wait(server, other, {"SUCCESS", "FAILURE"})
        assert done["status"] == "SUCCESS"  # another stream runs meanwhile
        assert {"key": "llm_assets/stream", "value": "conc_a"} in _run(server, second)["tags"]
        assert _run(server, second)["status"] == "QUEUED"  # held back by the stream limit
        assert _run(server, first)["status"] == "STARTED"

        (gate / "conc_gate.go").touch()
        first_info = _wait(server, first, {"SUCCESS", "FAILURE"})
        second_info = _wait(server, second, {"SUCCESS", "FAILURE"})
    assert first_info["status"] == second_info["status"] == "SUCCESS"
    assert second_info["startTime"] >= first_info["endTime"]  # one after the other


@contextmanager
def _daemon(env: dict, server) -> Iterator[Path]:
    """`dagster-daemon run` (the run queue, schedules, sensors) for the served workspace."""
    log = Path(env["DAGSTER_HOME"]) / "daemon.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
            env={**env, "LLM_ASSETS_WEBSERVER_URL": server.graphql_url}, cwd=env["LLM_ASSETS_HOME"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield log
    finally:
        _stop(proc)


def test_two_runs_of_a_stream_launched_together_run_one_after_the_other(pg_url, tmp_path,
                                                                       monkeypatch):
    """Both runs wait in the queue before the daemon starts (the webserver queues them, no
    daemon runs yet), so the daemon's first pass over the queue must apply the stream limit
    to runs it is launching itself, not only to runs already in progress."""
    gate, env = _setup(pg_url, tmp_path, monkeypatch)
    with dagster_ui(env) as server:
        runs = [_launch(server, "conc_a"), _launch(server, "conc_a")]
        other = _launch(server, "conc_b")
        assert {_run(server, r)["status"] for r in [*runs, other]} == {"QUEUED"}
        with _daemon(env, server) as daemon_log:
            deadline = time.monotonic() + 180
            while not (gate / "conc_gate.pid").exists():  # one conc_a run waits at the gate
                assert time.monotonic() < deadline, daemon_log.read_text()[-4000:]
                time.sleep(0.5)
            assert _wait(server, other, {"SUCCESS", "FAILURE"})["status"] == "SUCCESS"
            statuses = sorted(_run(server, run_id)["status"] for run_id in runs)
            assert statuses == ["QUEUED", "STARTED"], statuses  # never both started

            (gate / "conc_gate.go").touch()
            done = [_wait(server, run_id, {"SUCCESS", "FAILURE"}) for run_id in runs]
        other_info = _run(server, other)
    assert [d["status"] for d in done] == ["SUCCESS", "SUCCESS"]
    first, second = sorted(done, key=lambda d: d["startTime"])
    assert second["startTime"] >= first["endTime"]  # one after the other
    # b overlapped a (each run worker is its own process: either may report STARTED first)
    assert other_info["startTime"] <= first["endTime"]
    assert first["startTime"] <= other_info["endTime"]
