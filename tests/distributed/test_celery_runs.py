"""Steps on real Celery workers (`llm-assets worker`) over the embedded Redis, with one set of
workers (two on the default queue, one on `llm`, all `--concurrency 1`):

- the four one-tier notebooks of a stream run in parallel, on both default-queue workers;
- in a stream with a model process and a plain one, the model step runs only on the `llm`
  worker;
- SIGTERM is a warm shutdown: an idle worker exits at once, a busy one finishes its step
  (recorded as a success) and then exits 0.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from llm_assets.core.log_rows import SUCCESS
from tests.distributed.conftest import add_stream, where
from tests.log.conftest import log_rows
from tests.support.project import BIN, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rows(url: str) -> dict[str, dict]:
    return {process: row for (_, process), row in log_rows(url).items()}


def test_parallel_steps_llm_queue_and_warm_shutdown(cluster, pg_url, tmp_path):
    fan = [f"fan_{i}" for i in range(4)]
    add_stream(pg_url, "fan", [(n, 1, "wait=3", None) for n in fan])
    add_stream(pg_url, "mixed", [("mixed_model", 1, None, "smollm2"),
                                 ("mixed_plain", 1, None, None)])
    gate = tmp_path / "gate"
    gate.mkdir()
    add_stream(pg_url, "drain", [("drain_step", 1, f"gate_dir={gate}", None)])
    first = cluster.start("w1", "--concurrency", "1")
    second = cluster.start("w2", "--concurrency", "1")
    llm = cluster.start("gpu", "--queue", "llm", "--concurrency", "1")

    # four one-tier notebooks on two workers
    proc = run(["llm-assets", "run", "fan"], cluster.env, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:] + first.log_text()[-3000:]
    assert {n: r["status"] for n, r in _rows(pg_url).items()} == {n: SUCCESS for n in fan}
    seen = {n: where(cluster.home, n) for n in fan}
    # each kernel is a child of a step process forked by one of the two default workers
    assert {s["worker"] for s in seen.values()} == {first.pid, second.pid}, seen
    assert {s["worker_name"].split("@")[0] for s in seen.values()} == {"w1", "w2"}
    assert len({s["step"] for s in seen.values()}) == 4  # one process per step
    # in parallel: two notebooks on different workers waited at the same time
    assert any(seen[a]["worker"] != seen[b]["worker"] and seen[a]["started"] < seen[b]["ended"]
               and seen[b]["started"] < seen[a]["ended"] for a in fan for b in fan if a < b), seen

    # a model step and a plain step: the model step only on the `llm` worker
    proc = run(["llm-assets", "run", "mixed"], cluster.env, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert where(cluster.home, "mixed_model")["worker"] == llm.pid
    assert where(cluster.home, "mixed_plain")["worker"] in {first.pid, second.pid}
    assert "mixed_model" in llm.log_text()
    assert "mixed_model" not in first.log_text() + second.log_text()

    # SIGTERM: an idle worker exits at once; a busy one finishes its step first
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(timeout=60) == 0
    runner = subprocess.Popen([str(BIN / "llm-assets"), "run", "drain"], env=cluster.env,
                              cwd=cluster.home, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (gate / "drain_step.pid").exists():
        assert time.monotonic() < deadline and runner.poll() is None, first.log_text()[-3000:]
        time.sleep(0.1)
    first.proc.send_signal(signal.SIGTERM)  # while its step waits at the gate
    time.sleep(3)
    assert first.proc.poll() is None  # still finishing the step
    (gate / "drain_step.go").touch()
    output, _ = runner.communicate(timeout=300)
    assert runner.returncode == 0, output[-3000:]
    assert first.proc.wait(timeout=60) == 0
    assert _rows(pg_url)["drain_step"]["status"] == SUCCESS
