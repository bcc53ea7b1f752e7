"""A Celery worker SIGKILLed in the middle of a step, and a broker that is down when a run
starts: the step ends failed (or is retried), the run ends, the log rows say what happened."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.distributed.conftest import add_stream, where
from tests.log.conftest import log_rows
from tests.support.project import BIN, run, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


# retries=1 (the step retried on the surviving worker, the run succeeds; the `if retries`
# branch below) passed too when this was written; only the failing case is in the suite, to
# keep it short: set RETRIES = 1 to run the other one
RETRIES = 0


def test_worker_killed_mid_step(cluster, pg_url, tmp_path):
    retries = RETRIES
    gate = tmp_path / "gate"
    gate.mkdir()
    add_stream(pg_url, "doomed", [("doomed_victim", 1, f"gate_dir={gate}", None),
                                  ("doomed_other", 1, "wait=1", None),
                                  ("doomed_next", 2, None, None)], tiers=2)
    env = {**cluster.env, "LLM_ASSETS_MAX_RETRIES": str(retries), "LLM_ASSETS_RETRY_DELAY": "1"}
    cluster.env = env
    workers = [cluster.start("k1", "--concurrency", "1"), cluster.start("k2", "--concurrency", "1")]
    runner = subprocess.Popen([str(BIN / "llm-assets"), "run", "doomed"], env=env,
                              cwd=cluster.home, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    kernel = int(wait_for(lambda: (gate / "doomed_victim.pid").exists()
                       and (gate / "doomed_victim.pid").read_text(), 180, "the victim's kernel"))
    owner = _parent(_parent(kernel))
    victim = next(w for w in workers if w.pid == owner)
    survivor = next(w for w in workers if w.pid != owner)
    (gate / "doomed_victim.pid").unlink()
    os.kill(victim.pid, signal.SIGKILL)  # the whole worker: main process, its step process dies
    killed_at = time.monotonic()
    if retries:  # the retry runs on the surviving worker: let it through its gate
        wait_for(lambda: (gate / "doomed_victim.pid").exists(), 180, "the retry to start")
        (gate / "doomed_victim.go").touch()
    output, _ = runner.communicate(timeout=300)
    ended_after = time.monotonic() - killed_at

    rows = {p: r for (_, p), r in log_rows(pg_url).items()}
    assert rows["doomed_other"]["status"] == SUCCESS  # the other step's outcome is kept
    if retries:
        assert runner.returncode == 0, output[-3000:]
        assert rows["doomed_victim"]["status"] == SUCCESS
        assert where(cluster.home, "doomed_victim")["worker"] == survivor.pid
        assert rows["doomed_next"]["status"] == SUCCESS
    else:
        assert runner.returncode == 1, output[-3000:]
        row = rows["doomed_victim"]
        assert row["status"] == FAILED and row["end_dt"] is not None
        assert f"Celery worker {victim.name}@" in row["message"], row["message"]
        assert rows["doomed_next"]["status"] == FAILED  # not run: upstream failed
        assert "upstream" in rows["doomed_next"]["message"]
    assert ended_after < 120, ended_after  # bounded: LLM_ASSETS_WORKER_LOST_AFTER=8 here


def test_broker_down_fails_the_run_naming_the_broker(cluster, pg_url):
    add_stream(pg_url, "nobroker", [("nobroker_step", 1, None, None)])
    env = {**cluster.env, "LLM_ASSETS_CELERY_BROKER": "redis://:s3cret@127.0.0.1:9/0"}
    proc = run(["llm-assets", "run", "nobroker"], env, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    rows = {p: r for (_, p), r in log_rows(pg_url).items()}
    message = rows["nobroker_step"]["message"]
    assert rows["nobroker_step"]["status"] == FAILED
    assert "Celery broker redis://:***@127.0.0.1:9/0 is not reachable" in message, message
    assert "LLM_ASSETS_CELERY_BROKER" in message
    assert "s3cret" not in output + message
