"""Priority-tier gates in a real run: a stream of three wide tiers (3 script processes each, no
dependency rows) gets two gates; from the run's event timestamps no step of tier k starts
before the last step of tier k-1 ended; the run worker passed the gates (no step process
launched for them); the log table, and `llm-assets log`, hold a row per process and none for
a gate."""

from __future__ import annotations

import dagster as dg
import pytest

from tests.log.conftest import log_rows
from tests.support.pg import execute, prepare
from tests.support.project import project_env, project_instance, run

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


def _events(env: dict, run_id: str) -> dict[str, dict[str, float]]:
    """step key -> {event type: first timestamp}."""
    steps: dict[str, dict[str, float]] = {}
    with project_instance(env) as instance:
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


def test_a_tagged_step_is_passed_by_the_run_worker_and_the_others_run_in_step_processes(
        tmp_path, monkeypatch):
    """llm_assets.compat.pass_tagged_steps on plain Dagster assets with Dagster's own
    multiprocess executor: the tagged Nothing asset is materialized (data version "passed")
    without its compute running and without a step process, after its upstream and before
    its downstream; a tagged step with a real output value still runs."""
    import importlib

    from llm_assets.compat import pass_tagged_steps

    (tmp_path / "passed_location.py").write_text(
        "import os, pathlib\n"
        "import dagster as dg\n"
        "HERE = pathlib.Path(__file__).parent\n"
        "@dg.asset\ndef before():\n    return os.getpid()\n"
        "@dg.asset(deps=[before], op_tags={'test/passed': '1'}, dagster_type=dg.Nothing)\n"
        "def gate():\n    (HERE / 'gate_ran').write_text('the gate compute ran')\n"
        "@dg.asset(deps=[gate])\ndef after():\n    return os.getpid()\n"
        "@dg.asset(op_tags={'test/passed': '1'})\ndef valued(after):\n    return after\n"
        "job = dg.define_asset_job('a_job', executor_def=dg.multiprocess_executor)\n"
        "defs = dg.Definitions(assets=[before, gate, after, valued], jobs=[job])\n"
        "def a_job():\n    return defs.resolve_job_def('a_job')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the working directory step processes import the job from
    pass_tagged_steps("test/passed")
    job = dg.reconstructable(importlib.import_module("passed_location").a_job)
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        with dg.execute_job(job, instance=instance) as result:
            assert result.success
            run_id = result.run_id
        events: dict[str, dict[str, float]] = {}
        for record in instance.get_records_for_run(run_id).records:
            entry = record.event_log_entry
            if entry.dagster_event is not None and entry.step_key:
                events.setdefault(entry.step_key, {}).setdefault(
                    entry.dagster_event.event_type_value, entry.timestamp)
        gate = instance.get_latest_materialization_event(dg.AssetKey("gate"))
        assert gate is not None and gate.run_id == run_id
        assert gate.asset_materialization.tags["dagster/data_version"] == "passed"
    assert not (tmp_path / "gate_ran").exists()  # passed, not executed
    assert "STEP_WORKER_STARTING" not in events["gate"]  # no step process
    assert {"STEP_START", "STEP_OUTPUT", "ASSET_MATERIALIZATION", "STEP_SUCCESS"} <= set(
        events["gate"])
    assert events["before"]["STEP_SUCCESS"] <= events["gate"]["STEP_START"]
    assert events["gate"]["STEP_SUCCESS"] <= events["after"]["STEP_WORKER_STARTING"]
    # a value cannot be made up: the tagged asset with an output ran in a step process
    assert "STEP_WORKER_STARTING" in events["valued"]
