"""At 10,000 processes (the synthetic snapshot of bench/synthetic.py) a run of one small stream
on the celery executor: the run worker (`llm-assets run`) reads the control tables once, as
the code location's initialization, and builds only its stream; the Celery steps read no
control table and build only their stream (as their logs say)."""

from __future__ import annotations

import subprocess
import sys

import psycopg2.extras
import pytest

from bench.synthetic import insert_sql, synthetic_snapshot
from llm_assets.core.log_rows import SUCCESS
from llm_assets.store import connection
from llm_assets.store.snapshot import load_snapshot
from tests.distributed.conftest import WHERE, add_stream
from tests.log.conftest import log_rows
from tests.support.pg import control_table_reads

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_WITH_LOGS = ("import logging, sys; logging.basicConfig(level=logging.INFO, "
                 "format='%(name)s %(message)s'); from llm_assets.cli.main import main; "
                 "main(sys.argv[1:])")


def test_run_worker_and_celery_steps_at_10000_processes(cluster, pg_url):
    with connection.connect(pg_url) as conn, conn.cursor() as cur:
        for statement, rows in insert_sql(synthetic_snapshot(10_000, notebook=WHERE)):
            psycopg2.extras.execute_values(cur, statement, rows, page_size=2000)
    add_stream(pg_url, "scale", [("scale_a", 1, None, None), ("scale_b", 1, None, None)])
    worker = cluster.start("big", "--concurrency", "2")

    before = control_table_reads(pg_url)
    load_snapshot(pg_url)  # what one read of the control tables costs, in scans
    one_read = control_table_reads(pg_url) - before
    before += one_read
    proc = subprocess.run([sys.executable, "-c", RUN_WITH_LOGS, "run", "scale"],
                          env=cluster.env, cwd=cluster.home, capture_output=True, text=True,
                          timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    reads = control_table_reads(pg_url) - before
    # the run worker's one read (the code location's initialization); the worker: none
    assert reads == one_read, (reads, one_read)

    assert {p: r["status"] for (_, p), r in log_rows(pg_url).items()} == {
        "scale_a": SUCCESS, "scale_b": SUCCESS}
    # the run worker kept and built the state of its stream only
    assert "kept the control state of 2 of 10002 processes (scope: streams scale)" in output
    assert "built 2 of 2 processes (scope: streams scale)" in output
    assert "built 10002" not in output
    # each Celery step built its stream from the task's reconstruction metadata
    log = worker.log_text()
    scoped = log.count("llm_assets: built 2 of 2 processes (scope: streams scale)")
    assert scoped >= 2 and log.count("llm_assets: built ") == scoped, log[-4000:]
    assert "reading the control tables" not in log
