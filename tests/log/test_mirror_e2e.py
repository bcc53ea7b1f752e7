"""End to end on the embedded Postgres with real stream runs (real notebooks, real
`dagster` / `llm-assets` commands): success, failing notebook, cancellation, and a
Postgres outage in the middle of the mirror's ticks."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.log.conftest import log_rows, tick
from tests.support.pg import prepare
from tests.support.project import BIN, ROOT, project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIXTURE_NOTEBOOKS = str(ROOT / "tests" / "fixtures" / "notebooks")
DEMO = ("demo_sales_orders", "demo_sales_customers", "demo_sales_summary")


@pytest.fixture
def home_instance(tmp_path, monkeypatch):
    """The Dagster instance the subprocesses use (DAGSTER_HOME under tmp_path), opened here."""
    home = tmp_path / "dagster"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    def open_instance() -> dg.DagsterInstance:
        return dg.DagsterInstance.get()

    return open_instance


def _by_process(url: str, run_id: str | None = None) -> dict[str, dict]:
    return {p: row for (r, p), row in log_rows(url).items() if run_id in (None, r)}


def test_successful_stream_from_the_cli_then_the_sensor(pg_url, tmp_path, monkeypatch,
                                                        home_instance):
    prepare(pg_url, "001_demo_sales.sql")
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path)
    proc = run(["llm-assets", "run", "demo_sales"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_id = proc.stdout.split("run ")[1].split()[0]

    # written by `llm-assets run` itself (mirror_after_cli_run), no daemon involved
    rows = _by_process(pg_url)
    assert set(rows) == set(DEMO)
    for process, row in rows.items():
        assert row["run_id"] == run_id and row["status"] == SUCCESS, (process, row)
        assert row["start_dt"] < row["end_dt"] and row["message"] is None
    assert (rows["demo_sales_orders"]["source_row"], rows["demo_sales_orders"]["target_row"]) \
        == (0, 500)  # nb_parm rows=500
    assert rows["demo_sales_summary"]["source_row"] == 500
    assert rows["demo_sales_summary"]["target_row"] > 0
    # downstream started after both upstreams ended
    assert rows["demo_sales_summary"]["start_dt"] >= max(
        rows["demo_sales_orders"]["end_dt"], rows["demo_sales_customers"]["end_dt"])

    with home_instance() as instance:
        tick(instance)  # the daemon's sensor sees the same run: still one row per process
    assert log_rows(pg_url) == {(run_id, p): rows[p] for p in DEMO}

    table = run(["llm-assets", "log", "--stream", "demo_sales"], env, check=True).stdout
    assert all(p in table for p in DEMO) and table.count("0 success") == 3


def test_failing_notebook_is_status_99_with_its_exception(pg_url, tmp_path, monkeypatch,
                                                          home_instance):
    prepare(pg_url, "tests/fixtures/log_streams.sql")
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURE_NOTEBOOKS)
    proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j", "log_fail"],
               env)
    assert proc.returncode != 0  # the stream failed
    assert log_rows(pg_url) == {}  # launched by `dagster`: only the sensor writes rows

    with home_instance() as instance:
        tick(instance)
    rows = _by_process(pg_url)
    boom, ok, after = rows["log_boom"], rows["log_ok"], rows["log_after"]
    assert boom["status"] == FAILED and boom["start_dt"] < boom["end_dt"]
    assert "failed: ValueError: log fixture: 3 rows fail the amount check" in boom["message"]
    assert boom["message"].count("ValueError") == 1, boom["message"]  # named once
    assert "log/raise.ipynb" in boom["message"]  # which notebook
    assert (ok["status"], ok["source_row"], ok["target_row"]) == (SUCCESS, 5, 4)
    assert (after["status"], after["message"]) == (FAILED, "not run: upstream failed")

    failed = run(["llm-assets", "log", "--failed"], env, check=True).stdout
    assert "log_boom" in failed and "log_after" in failed and "log_ok" not in failed


def test_cancelled_run_is_status_99_for_every_process(pg_url, tmp_path, monkeypatch,
                                                      home_instance):
    prepare(pg_url, "tests/fixtures/log_streams.sql")
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURE_NOTEBOOKS)
    output = tmp_path / "dagster-job-execute.log"
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "job", "execute", "-m", "llm_assets.definitions", "-j",
         "log_slow"], env=env,
        cwd=env["LLM_ASSETS_HOME"], stdout=output.open("w"), stderr=subprocess.STDOUT)
    try:
        with home_instance() as instance:
            def sleeping_step_started():
                if proc.poll() is not None:  # ended before its sleeping step: say why
                    raise AssertionError(f"`dagster job execute -j log_slow` exited "
                                         f"{proc.returncode}:\n{output.read_text()[-4000:]}")
                for record in instance.get_run_records():
                    events = instance.get_records_for_run(
                        record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_START)
                    if any(r.event_log_entry.step_key == "log_sleep" for r in events.records):
                        return record.dagster_run
                return None

            from tests.log.synthetic import wait_until

            try:
                dagster_run = wait_until(sleeping_step_started, timeout=120, every=0.5)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nits output so far:\n"
                                     f"{output.read_text()[-4000:]}") from None
            # cancel while the kernel runs the 300 s cell (not while it still starts): the
            # step must interrupt the kernel, or dagstermill's teardown cell waits behind it
            wait_until(lambda: (tmp_path / "log_sleep.running").exists(), timeout=120)
            first = tick(instance)  # mid-run: the sleeping process is logged as running
            assert _by_process(pg_url)["log_sleep"]["status"] == 1
            # what `DefaultRunLauncher.terminate` does: mark canceling, interrupt the worker
            instance.report_run_canceling(dagster_run, message="terminated by the log e2e test")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=120) is not None  # well before the cell's 300 s
            final = instance.get_run_by_id(dagster_run.run_id)
            assert final.status == dg.DagsterRunStatus.CANCELED
            tick(instance, first.cursor)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    rows = _by_process(pg_url)
    sleeping, after = rows["log_sleep"], rows["log_after_sleep"]
    assert sleeping["status"] == FAILED and sleeping["end_dt"] is not None
    assert sleeping["message"].startswith("interrupted: run cancelled: ")
    assert "terminated by the log e2e test" in sleeping["message"]
    assert after["status"] == FAILED and after["start_dt"] is None
    assert after["message"].startswith("not run: run cancelled: terminated by the log e2e")


def test_postgres_stopped_during_a_tick_loses_nothing(tmp_path, monkeypatch, pg_server):
    """A second embedded server (own home): stopped with pg_ctl between runs and ticks."""
    from llm_assets.cli import services
    from llm_assets.core.errors import LlmAssetsError
    from llm_assets.store import migrations
    from tests.log.synthetic import materialize

    monkeypatch.setenv("LLM_ASSETS_HOME", str(tmp_path / "outage"))
    monkeypatch.delenv("LLM_ASSETS_DATABASE_URL", raising=False)
    monkeypatch.delenv("LLM_ASSETS_PG_PORT", raising=False)
    status = services.up()
    assert status.url != pg_server.url
    try:
        url = status.url
        migrations.upgrade(url)
        with dg.DagsterInstance.ephemeral() as instance:
            before = materialize(instance, ["ok"])
            start = tick(instance)  # mirrors `before`; this cursor is what the daemon holds
            outcomes = [materialize(instance, names)
                        for names in (["ok"], ["ok", "boom", "after_boom"], ["ok"])]
            services.down()  # pg_ctl stop -m fast
            assert not services.embedded_status().running
            # the embedded URL resolved at tick time: no server -> tick fails, names the home
            with pytest.raises(LlmAssetsError, match="not running"):
                tick(instance, start.cursor)
            # an explicit URL (compose/external): the connection fails, names the database
            monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", url)
            with pytest.raises(LlmAssetsError, match=url.rsplit("@", 1)[1]):
                tick(instance, start.cursor)
            monkeypatch.delenv("LLM_ASSETS_DATABASE_URL")
            services.up()  # restarted
            tick(instance, start.cursor)  # the failed ticks returned no cursor: same one
        rows = log_rows(url)
        expected = {(before.run_id, "ok")} | {(r.run_id, "ok") for r in outcomes} | {
            (outcomes[1].run_id, "boom"), (outcomes[1].run_id, "after_boom")}
        assert set(rows) == expected
        assert rows[(outcomes[1].run_id, "boom")]["status"] == FAILED
        assert rows[(outcomes[2].run_id, "ok")]["status"] == SUCCESS
    finally:
        services.down()
        assert Path(os.environ["LLM_ASSETS_HOME"]) == tmp_path / "outage"
