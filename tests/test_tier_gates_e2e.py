"""Priority-tier gates in a real run: a stream of three wide tiers (3 script processes each, no
dependency rows) gets two gates; from the run's event timestamps no step of tier k starts
before the last step of tier k-1 ended; the gates ran in the run worker (no step process
launched for them); the log table, and `llm-assets log`, hold a row per process and none for
a gate."""

from __future__ import annotations

import os
from contextlib import contextmanager

import dagster as dg
import pytest

from tests.log.conftest import log_rows
from tests.support.pg import execute, prepare
from tests.support.project import project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIERS, WIDTH = 3, 3
STREAM = "gates"
GATES = {f"{STREAM}__tier_1_2", f"{STREAM}__tier_1_3"}


def _rows() -> str:
    values = ", ".join(f"('gate_t{t}_p{i}', 'gates_g', {t}, 'bench/stamp.py')"
                       for t in range(1, TIERS + 1) for i in range(WIDTH))
    return (f"INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('{STREAM}');\n"
            "INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) "
            f"VALUES ('gates_g', '{STREAM}', 1);\n"
            "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm) "
            f"VALUES {values};")


@contextmanager
def _instance(env: dict):
    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if old is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = old


def _events(env: dict, run_id: str) -> dict[str, dict[str, float]]:
    """step key -> {event type: first timestamp}."""
    steps: dict[str, dict[str, float]] = {}
    with _instance(env) as instance:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is not None and event.step_key:
                steps.setdefault(event.step_key, {}).setdefault(event.event_type_value,
                                                                record.timestamp)
    return steps


def test_wide_tiers_run_in_order_through_gates_in_the_run_worker(pg_url, tmp_path):
    prepare(pg_url)
    execute(pg_url, _rows())
    env = project_env(pg_url, tmp_path)
    proc = run(["llm-assets", "run", STREAM], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_id = proc.stdout.split(" run ")[1].split()[0]

    steps = _events(env, run_id)
    processes = {f"gate_t{t}_p{i}" for t in range(1, TIERS + 1) for i in range(WIDTH)}
    assert set(steps) == processes | GATES
    assert all("STEP_SUCCESS" in events for events in steps.values()), steps
    for t in range(2, TIERS + 1):
        previous_end = max(steps[f"gate_t{t - 1}_p{i}"]["STEP_SUCCESS"] for i in range(WIDTH))
        gate = steps[f"{STREAM}__tier_1_{t}"]
        assert gate["STEP_START"] >= previous_end
        for i in range(WIDTH):
            assert steps[f"gate_t{t}_p{i}"]["STEP_START"] >= gate["STEP_SUCCESS"]
    # a process step is launched in a step process of its own; a gate is not
    assert all("STEP_WORKER_STARTING" in steps[p] for p in processes)
    assert not any("STEP_WORKER_STARTING" in steps[g] for g in GATES)

    rows = log_rows(pg_url)
    assert {name for rid, name in rows if rid == run_id} == processes
    assert all(row["status"] == 0 for row in rows.values())
    listing = run(["llm-assets", "log", "--stream", STREAM], env, check=True).stdout
    assert all(p in listing for p in processes) and "__tier_" not in listing


def test_a_tagged_step_runs_in_the_run_worker_and_the_others_in_step_processes(
        tmp_path, monkeypatch):
    """llm_assets.compat.run_tagged_steps_in_process on a plain Dagster job with Dagster's own
    multiprocess executor: the tagged step ran in the orchestrating process, its neighbours in
    step processes, and the order between them held."""
    import importlib

    from llm_assets.compat import run_tagged_steps_in_process

    (tmp_path / "in_process_location.py").write_text(
        "import os, time\n"
        "import dagster as dg\n"
        "@dg.op\ndef before():\n    return (os.getpid(), time.time())\n"
        "@dg.op(tags={'test/in_process': '1'})\n"
        "def gate(before):\n    return (os.getpid(), time.time())\n"
        "@dg.op\ndef after(gate):\n    return (os.getpid(), time.time())\n"
        "@dg.job(executor_def=dg.multiprocess_executor)\n"
        "def a_job():\n    after(gate(before()))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the working directory step processes import the job from
    run_tagged_steps_in_process("test/in_process")
    job = dg.reconstructable(importlib.import_module("in_process_location").a_job)
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        with dg.execute_job(job, instance=instance) as result:
            assert result.success
            pids = {node: result.output_for_node(node) for node in ("before", "gate", "after")}
    assert pids["gate"][0] == os.getpid()
    assert pids["before"][0] != os.getpid() and pids["after"][0] != os.getpid()
    assert pids["before"][1] <= pids["gate"][1] <= pids["after"][1]
