"""The project's run launcher under `dagster dev` with deploy/dagster.yaml: a run launched from
the UI gets its own run worker (`dagster api execute_run`, pid in a run tag) that builds only
its stream, and a terminated run's worker stops."""

from __future__ import annotations

import time

import pytest
import yaml

from llm_assets.defs.launcher import PID_TAG
from tests.distributed.conftest import FIXTURES, add_stream
from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env
from tests.support.webserver import dagster_ui
from tests.test_stream_concurrency import _launch, _wait

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TERMINATE = """mutation Terminate($runId: String!) { terminateRun(runId: $runId) {
  __typename ... on TerminateRunFailure { message } ... on PythonError { message } } }"""

# test instrumentation: every Python process of the test (webserver, daemon, code server, run
# workers, steps) logs llm_assets' INFO lines with its pid
SITECUSTOMIZE = """import logging, sys
handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("llm-assets-log pid=%(process)d %(message)s"))
logger = logging.getLogger("llm_assets")
logger.addHandler(handler)
logger.setLevel(logging.INFO)
"""


def test_run_worker_of_a_ui_run_builds_only_its_stream_and_stops_on_terminate(
        pg_url, tmp_path, monkeypatch):
    prepare(pg_url)
    add_stream(pg_url, "launch_a", [("launch_a1", 1, None, None), ("launch_a2", 1, None, None)])
    add_stream(pg_url, "launch_b", [("launch_b1", 1, None, None)])
    gate = tmp_path / "gate"
    gate.mkdir()
    execute(pg_url, "UPDATE cntl_af.cntl_cfg_prcs SET nb_parm = %s WHERE prcs_nm = 'launch_b1'",
            (f"gate_dir={gate}",))
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                      PYTHONPATH=f"{hooks}:{ROOT}")
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    instance.pop("storage")  # Dagster's default SQLite storage under the test's home
    assert instance["run_launcher"]["class"] == "ScopedRunLauncher"
    (tmp_path / "dagster" / "dagster.yaml").write_text(yaml.safe_dump(instance))

    with dagster_ui(env, daemon=True) as server:
        run_id = _launch(server, "launch_a")
        info = _wait(server, run_id, {"SUCCESS", "FAILURE", "CANCELED"})
        assert info["status"] == "SUCCESS", server.log_tail()
        tags = {t["key"]: t["value"] for t in info["tags"]}
        worker = int(tags[PID_TAG])

        gated = _launch(server, "launch_b")
        deadline = time.monotonic() + 180
        while not (gate / "launch_b1.pid").exists():
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.5)
        answer = server.graphql(TERMINATE, {"runId": gated})["terminateRun"]
        assert answer["__typename"] == "TerminateRunSuccess", answer
        assert _wait(server, gated, {"CANCELED", "FAILURE", "SUCCESS"})["status"] == "CANCELED"
        log = server.log.read_text(errors="replace")

    lines = [line for line in log.splitlines() if "llm-assets-log" in line and " built " in line]
    # the code server built the whole location; the run worker only the run's stream
    assert any("built 3 of 3 processes (scope: everything)" in line for line in lines), lines
    assert f"llm-assets-log pid={worker} llm_assets: built 2 of 3 processes (scope: streams " \
           "launch_a)" in log, lines
    assert not any(f"pid={worker} " in line and "everything" in line for line in lines), lines
