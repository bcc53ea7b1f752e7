"""Fixtures of the distributed tests: the embedded Redis that `llm-assets up` starts (one per
session), real `llm-assets worker` processes, and streams of the fixture notebook
`tests/fixtures/notebooks/distributed/where.ipynb` (it records the processes it ran in)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import BIN, ROOT, project_env

FIXTURES = str(ROOT / "tests" / "fixtures" / "notebooks")
WHERE = "distributed/where.ipynb"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The embedded Redis of `llm-assets up` (local profile, celery executor), in its own home."""
    home = Path(tempfile.mkdtemp(prefix="llm-assets-redis-"))
    env = {**os.environ, "LLM_ASSETS_HOME": str(home), "LLM_ASSETS_EXECUTOR": "celery",
           "LLM_ASSETS_PROFILE": "local"}
    env.pop("LLM_ASSETS_CELERY_BROKER", None)
    from llm_assets.cli import services

    old = {k: os.environ.get(k) for k in ("LLM_ASSETS_HOME",)}
    os.environ["LLM_ASSETS_HOME"] = str(home)
    try:
        # a port the OS hands out, remembered as this home's: parallel test workers each
        # start their own Redis without racing for the first free port
        from llm_assets.defs.broker import redis_dir

        redis_dir().mkdir(parents=True, exist_ok=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            (redis_dir() / "state.json").write_text(json.dumps({"port": sock.getsockname()[1]}))
        status = services.redis_up()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert status.running and status.url, status
    yield status.url
    subprocess.run(["kill", "-TERM", str(status.pid)], check=False)


def flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushall()


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    env: dict
    home: Path
    workers: list[Worker] = field(default_factory=list)

    def start(self, name: str, *args: str, timeout: float = 90) -> Worker:
        log = self.home / f"worker-{name}.log"
        handle = log.open("w")
        proc = subprocess.Popen([str(BIN / "llm-assets"), "worker", "--name", f"{name}@%h",
                                 "--loglevel", "INFO", *args], env=self.env, cwd=self.home,
                                stdout=handle, stderr=subprocess.STDOUT)
        worker = Worker(name, proc, log)
        self.workers.append(worker)
        deadline = time.monotonic() + timeout
        while "ready." not in worker.log_text():
            assert proc.poll() is None, f"worker {name} exited:\n{worker.log_text()[-3000:]}"
            assert time.monotonic() < deadline, f"worker {name} not ready:\n{worker.log_text()}"
            time.sleep(0.2)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()


@pytest.fixture
def cluster(pg_url, tmp_path, redis_url) -> Iterator[Cluster]:
    """A project on the celery executor (embedded Postgres and Redis); start workers with
    `cluster.start(name, *args)`; they are stopped (SIGTERM) at the end."""
    flush(redis_url)
    prepare(pg_url)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                      LLM_ASSETS_EXECUTOR="celery", LLM_ASSETS_CELERY_BROKER=redis_url,
                      LLM_ASSETS_WORKER_LOST_AFTER="8", LLM_ASSETS_WORKER_BEAT="1")
    env.pop("LLM_ASSETS_CELERY_BACKEND", None)
    cluster = Cluster(env, tmp_path)
    yield cluster
    cluster.stop()


def add_stream(url: str, stream: str, processes: list[tuple], tiers: int = 1) -> None:
    """A stream of (name, tier, nb_parm, gen_model) processes running the `where` notebook."""
    execute(url, "INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES (%s)", (stream,))
    for tier in range(1, tiers + 1):
        execute(url, "INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) "
                     "VALUES (%s, %s, %s)", (f"{stream}_t{tier}", stream, tier))
    for name, tier, nb_parm, model in processes:
        execute(url, "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm,"
                     " gen_model) VALUES (%s, %s, %s, %s, %s)",
                (name, f"{stream}_t{tier}", WHERE, nb_parm, model))


def where(home: Path, process: str) -> dict:
    """What the `where` notebook of `process` recorded (its result in the data lake)."""
    return pickle.loads((home / "datalake" / "io" / process).read_bytes())
