"""Steps on real Celery workers (`llm-assets worker`) over the embedded Redis: parallel steps
spread over workers, model steps on queue `llm`, and SIGTERM as a warm shutdown."""

from __future__ import annotations

import signal
import time

import pytest

from llm_assets.core.log_rows import SUCCESS
from tests.distributed.conftest import add_stream, where
from tests.log.conftest import log_rows
from tests.support.project import run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rows(url: str) -> dict[str, dict]:
    return {process: row for (_, process), row in log_rows(url).items()}


def test_four_one_tier_notebooks_run_in_parallel_on_two_workers(cluster, pg_url):
    names = [f"fan_{i}" for i in range(4)]
    add_stream(pg_url, "fan", [(n, 1, "wait=3", None) for n in names])
    first = cluster.start("w1", "--concurrency", "1")
    second = cluster.start("w2", "--concurrency", "1")

    proc = run(["llm-assets", "run", "fan"], cluster.env, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:] + first.log_text()[-3000:]

    rows = _rows(pg_url)
    assert {n: r["status"] for n, r in rows.items()} == {n: SUCCESS for n in names}
    seen = {n: where(cluster.home, n) for n in names}
    # each notebook's kernel is a child of a step process forked by one of the two workers
    assert {s["worker"] for s in seen.values()} == {first.pid, second.pid}, seen
    assert {s["worker_name"].split("@")[0] for s in seen.values()} == {"w1", "w2"}
    assert len({s["step"] for s in seen.values()}) == 4  # one process per step
    # in parallel: some notebook waited while another one, on the other worker, did too
    overlapping = [(a, b) for a in names for b in names if a < b
                   and seen[a]["worker"] != seen[b]["worker"]
                   and seen[a]["started"] < seen[b]["ended"]
                   and seen[b]["started"] < seen[a]["ended"]]
    assert overlapping, seen


def test_model_step_runs_only_on_the_llm_queue_worker(cluster, pg_url):
    add_stream(pg_url, "mixed", [("mixed_model", 1, None, "smollm2"),
                                 ("mixed_plain", 1, None, None)])
    llm = cluster.start("gpu", "--queue", "llm", "--concurrency", "1")
    plain = cluster.start("cpu", "--concurrency", "1")

    proc = run(["llm-assets", "run", "mixed"], cluster.env, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

    assert where(cluster.home, "mixed_model")["worker"] == llm.pid
    assert where(cluster.home, "mixed_plain")["worker"] == plain.pid
    assert "mixed_model" in llm.log_text() and "mixed_model" not in plain.log_text()


def test_sigterm_lets_the_running_step_finish_then_exits(cluster, pg_url, tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    add_stream(pg_url, "drain", [("drain_step", 1, f"gate_dir={gate}", None)])
    worker = cluster.start("drainer", "--concurrency", "1")
    import subprocess

    from tests.support.project import BIN

    runner = subprocess.Popen([str(BIN / "llm-assets"), "run", "drain"], env=cluster.env,
                              cwd=cluster.home, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (gate / "drain_step.pid").exists():
        assert time.monotonic() < deadline and runner.poll() is None, worker.log_text()[-3000:]
        time.sleep(0.1)
    worker.proc.send_signal(signal.SIGTERM)  # warm shutdown while the step waits at its gate
    time.sleep(2)
    assert worker.proc.poll() is None  # still finishing its step
    (gate / "drain_step.go").touch()
    output, _ = runner.communicate(timeout=300)
    assert runner.returncode == 0, output[-3000:]
    assert worker.proc.wait(timeout=60) == 0
    assert _rows(pg_url)["drain_step"]["status"] == SUCCESS
