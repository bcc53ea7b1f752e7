"""The mirror over real in-process runs and synthetic runs in an ephemeral instance, writing
to a real Postgres: rows, statuses, messages, idempotency, cursor and throughput."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from llm_assets.core.errors import ServiceUnavailable
from llm_assets.core.log_rows import FAILED, RUNNING, SUCCESS, LogRow
from llm_assets.defs.log_mirror import MirrorCursor, mirror_tick
from llm_assets.store.log import write_rows
from tests.log.conftest import log_rows, tick
from tests.log.synthetic import (
    SYN_PROCESSES,
    finish_running,
    materialize,
    report,
    synthetic_job,
    synthetic_run,
)
from tests.support.pg import execute

pytestmark = pytest.mark.integration


def test_real_runs_become_one_row_per_run_and_process(instance, log_url):
    good = materialize(instance, ["ok", "untagged"])
    bad = materialize(instance, ["ok", "boom", "after_boom"],
                      tags={"dagster/scheduled_execution_time": "2024-03-05T06:00:00+00:00"})
    assert good.success and not bad.success

    result = tick(instance)
    rows = log_rows(log_url)
    assert set(rows) == {(good.run_id, "ok"), (bad.run_id, "ok"), (bad.run_id, "boom"),
                         (bad.run_id, "after_boom")}  # untagged asset: not a process
    ok = rows[(good.run_id, "ok")]
    assert ok["status"] == SUCCESS and ok["message"] is None
    assert (ok["source_row"], ok["target_row"]) == (10, 9)
    assert ok["start_dt"] <= ok["end_dt"]
    assert ok["data_dt"] == datetime.now(UTC).date()  # unscheduled: the run's date

    boom = rows[(bad.run_id, "boom")]
    assert boom["status"] == FAILED
    assert boom["message"] == "ValueError: boom: column 'amount' has 3 nulls"
    assert boom["start_dt"] <= boom["end_dt"]
    assert str(boom["data_dt"]) == "2024-03-05"  # the schedule's date
    after = rows[(bad.run_id, "after_boom")]
    assert (after["status"], after["message"]) == (FAILED, "not run: upstream failed")
    assert after["start_dt"] is None and after["end_dt"] is None
    assert rows[(bad.run_id, "ok")]["status"] == SUCCESS

    cursor = json.loads(result.cursor)
    assert cursor["open"] == []
    assert "mirrored 4 log row(s) of 2 run(s)" in result.skip_reason.skip_message


def test_mirroring_twice_leaves_one_row_per_run_and_process(instance, log_url):
    runs = [materialize(instance, ["ok", "boom", "after_boom"]) for _ in range(2)]
    tick(instance)
    first = log_rows(log_url)
    tick(instance)  # replayed tick from the start (cursor lost)
    from llm_assets.defs.log_mirror import mirror_after_cli_run

    for run in runs:
        mirror_after_cli_run(instance, run.run_id)  # and the CLI path over the same runs
    second = log_rows(log_url)
    assert len(second) == 6
    assert second == first  # same values, not even upt_dt changed: no-op updates skipped


def test_a_final_status_is_never_downgraded_to_running(log_url):
    now = datetime.now(UTC)
    final = LogRow("p", "r1", now.date(), now, now, FAILED, "ValueError: x", 5, 0)
    late = LogRow("p", "r1", now.date(), now, None, RUNNING, None, None, None)
    write_rows(log_url, [final])
    write_rows(log_url, [late])
    row = log_rows(log_url)[("r1", "p")]
    assert (row["status"], row["message"], row["source_row"]) == (FAILED, "ValueError: x", 5)
    # the same key twice in one batch: the final observation wins, one row
    write_rows(log_url, [LogRow("q", "r2", None, now, now, SUCCESS, None, 1, 1),
                         LogRow("q", "r2", None, now, None, RUNNING, None, None, None)])
    assert log_rows(log_url)[("r2", "q")]["status"] == SUCCESS


def test_cancelled_run_marks_started_and_unstarted_processes(instance, log_url):
    job = synthetic_job()
    run = synthetic_run(instance, job, outcome="running", finish=False)  # 1 done, 1 started
    instance.report_run_canceling(run, message="terminated from the UI by ana@example.com")
    instance.report_run_canceled(run, message="Run was cancelled before step 3 started")
    tick(instance)
    rows = {k[1]: v for k, v in log_rows(log_url).items()}
    first, second, third = (rows[p] for p in SYN_PROCESSES)
    assert first["status"] == SUCCESS
    assert second["status"] == FAILED and second["start_dt"] is not None
    assert second["message"].startswith("interrupted: run cancelled: terminated from the UI "
                                        "by ana@example.com")
    assert third["status"] == FAILED and third["start_dt"] is None
    assert third["message"].startswith("not run: run cancelled: terminated from the UI")
    assert "Run was cancelled before step 3 started" in third["message"]


def test_a_step_failing_after_the_cancel_request_was_interrupted_by_it(instance, log_url):
    """The interrupt of a cancelled run can surface in the step as any error (a cell timed
    out, a kernel died): its row names the cancellation, then the error."""
    from dagster._core.execution.plan.objects import StepFailureData

    from tests.log.synthetic import error_info, report

    job = synthetic_job()
    run = synthetic_run(instance, job, outcome="running", finish=False)  # step 2 started
    instance.report_run_canceling(run, message="terminated from the UI by ana@example.com")
    from dagster import DagsterEventType

    report(instance, run, DagsterEventType.STEP_FAILURE, SYN_PROCESSES[1],
           StepFailureData(error=error_info("CellTimeoutError", "A cell timed out"),
                           user_failure_data=None))
    instance.report_run_canceled(run, message="Run was cancelled")
    tick(instance)
    second = {k[1]: v for k, v in log_rows(log_url).items()}[SYN_PROCESSES[1]]
    assert second["status"] == FAILED
    assert second["message"].startswith("interrupted: run cancelled: terminated from the UI")
    assert "(last: " in second["message"] and "CellTimeoutError" in second["message"]


def test_running_run_shows_status_1_then_its_outcome(instance, log_url):
    job = synthetic_job()
    run = synthetic_run(instance, job, outcome="running", finish=False)
    first = tick(instance)
    assert json.loads(first.cursor)["open"] == [run.run_id]
    rows = {k[1]: v for k, v in log_rows(log_url).items()}
    assert rows["syn_1_extract"]["status"] == SUCCESS
    running = rows["syn_2_transform"]
    assert running["status"] == RUNNING and running["end_dt"] is None
    assert "syn_3_load" not in rows  # not started yet: no row

    finish_running(instance, run, job)
    second = tick(instance, first.cursor)
    assert json.loads(second.cursor)["open"] == []
    rows = {k[1]: v for k, v in log_rows(log_url).items()}
    assert {p: rows[p]["status"] for p in SYN_PROCESSES} == dict.fromkeys(SYN_PROCESSES, 0)
    assert rows["syn_2_transform"]["end_dt"] is not None


def test_retry_keeps_status_running_until_the_outcome(instance, log_url):
    from dagster import DagsterEventType as E
    from dagster._core.execution.plan.objects import StepRetryData, StepSuccessData

    from tests.log.synthetic import error_info

    job = synthetic_job(("solo",), stream="solo")
    run = instance.create_run_for_job(job_def=job)
    report(instance, run, E.RUN_START)
    report(instance, run, E.STEP_START, "solo")
    report(instance, run, E.STEP_UP_FOR_RETRY, "solo",
           StepRetryData(error=error_info("TimeoutError", "LLM did not answer")))
    tick(instance)
    row = next(iter(log_rows(log_url).values()))
    assert row["status"] == RUNNING
    assert row["message"] == "waiting for retry after TimeoutError: LLM did not answer"
    report(instance, run, E.STEP_RESTARTED, "solo")
    report(instance, run, E.STEP_SUCCESS, "solo", StepSuccessData(duration_ms=1.0))
    report(instance, run, E.RUN_SUCCESS)
    tick(instance)
    row = next(iter(log_rows(log_url).values()))
    assert (row["status"], row["message"]) == (SUCCESS, None)


def test_unreachable_database_fails_the_tick_and_keeps_the_cursor(instance, log_url,
                                                                  monkeypatch):
    job = synthetic_job()
    first = synthetic_run(instance, job)
    start = tick(instance)  # mirrors `first`
    runs = [synthetic_run(instance, job, outcome=o) for o in ("success", "failure")]
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nodb")
    with pytest.raises(ServiceUnavailable, match=r"127\.0\.0\.1:9/nodb"):
        tick(instance, start.cursor)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", log_url)
    tick(instance, start.cursor)  # the daemon retries with the cursor it had
    rows = log_rows(log_url)
    assert {run_id for run_id, _ in rows} == {first.run_id, *(r.run_id for r in runs)}
    assert len(rows) == 9


def test_one_tick_mirrors_hundreds_of_finished_runs(instance, log_url):
    job = synthetic_job()
    runs = [synthetic_run(instance, job, outcome="failure" if i % 10 == 0 else "success")
            for i in range(250)]
    result = mirror_tick(instance, MirrorCursor(), log_url, settle_s=0)
    assert result.runs == 250 and result.pages == 2
    rows = log_rows(log_url)
    assert len(rows) == 750
    assert sum(1 for r in rows.values() if r["status"] == FAILED) == 25 * 2
    # nothing left behind: the next tick from the returned cursor finds no run
    again = mirror_tick(instance, result.cursor, log_url, settle_s=0)
    assert again.runs == 0
    assert {r.run_id for r in runs} == {k[0] for k in rows}


def test_small_pages_over_several_ticks_lose_and_duplicate_nothing(instance, log_url):
    job = synthetic_job()
    runs = {synthetic_run(instance, job).run_id for _ in range(45)}
    cursor, ticks, seen = MirrorCursor(), 0, []
    while True:
        result = mirror_tick(instance, cursor, log_url, page_size=7, budget_s=0, settle_s=0)
        ticks += 1
        seen.extend(result.run_ids)
        cursor = result.cursor
        if result.runs == 0:
            break
    assert ticks == 8  # 7 pages of 7 (the last one short) + one empty tick
    assert sorted(seen) == sorted(runs)  # every run exactly once
    assert len(log_rows(log_url)) == 135


def test_cursor_never_passes_the_settle_window(instance, log_url):
    job = synthetic_job()
    run = synthetic_run(instance, job)
    result = mirror_tick(instance, MirrorCursor(), log_url, settle_s=3600)
    assert result.runs == 1 and result.cursor.after is None  # written, but re-read next tick
    assert len(log_rows(log_url)) == 3
    again = mirror_tick(instance, result.cursor, log_url, settle_s=3600)
    assert again.run_ids == [run.run_id]
    assert len(log_rows(log_url)) == 3


def test_log_cli_prints_filtered_table(instance, log_url):
    from click.testing import CliRunner

    from llm_assets.cli.main import main

    execute(log_url, "INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('syn');"
                     "INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm) "
                     "VALUES ('syn_g', 'syn');"
                     "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) "
                     "VALUES ('syn_1_extract', 'syn_g', 'x.ipynb')")
    job = synthetic_job()
    synthetic_run(instance, job, outcome="failure")
    tick(instance)
    runner = CliRunner()
    everything = runner.invoke(main, ["log"])
    assert everything.exit_code == 0, everything.output
    lines = everything.output.strip().splitlines()
    assert len(lines) == 2 + 3 and "KeyError" in everything.output  # header, rule, 3 rows
    failed = runner.invoke(main, ["log", "--failed"])
    assert "syn_1_extract" not in failed.output and failed.output.count("99 failed") == 2
    stream = runner.invoke(main, ["log", "--stream", "syn"])
    assert "syn_1_extract" in stream.output and "syn_3_load" not in stream.output
    one = runner.invoke(main, ["log", "--process", "syn_3_load", "--limit", "1"])
    assert "upstream failed" in one.output and "syn_2_transform" not in one.output
    none = runner.invoke(main, ["log", "--process", "nope"])
    assert "no log rows match" in none.output
