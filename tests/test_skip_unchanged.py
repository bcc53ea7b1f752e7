"""Unchanged processes are not run again (llm_assets.runtime.memo), on real runs of the
demo_sales stream: a process whose notebook, rows and input data are those of its last
materialization hands that result on (same data version, the same value downstream, a log
row saying so, no new executed notebook); an edit of its notebook, or
LLM_ASSETS_SKIP_UNCHANGED=0, runs it again.  Processes without upstream always run."""

from __future__ import annotations

import json
import pickle
import shutil

import dagster as dg
import pytest

from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]

SUMMARY = "demo_sales_summary"
CHECKED = "demo_sales_checked"  # a script process declaring a check, after the summary
SCRIPT = """
from llm_assets import nb

CHECKS = [{"name": "rows_present", "description": "the summary has rows"}]
params = nb.params({"process": "demo_sales_checked"})
rows = len(globals()["demo_sales_summary"])
nb.check("rows_present", passed=rows > 0, rows=rows)
nb.report(source_row=rows, target_row=rows)
nb.result({"rows": rows})
"""


def _run(env, pg_url) -> tuple[str, dict[str, str | None]]:
    proc = run(["llm-assets", "run", "demo_sales"], env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    run_id = proc.stdout.split(" run ")[1].split()[0]
    rows = execute(pg_url, "SELECT prcs_nm, status, message FROM cntl_af.cntl_cfg_log "
                           "WHERE run_id = %s", (run_id,))
    assert {status for _, status, _ in rows} == {0}, rows
    return run_id, {name: message for name, _, message in rows}


def _check_runs(env, asset: str, check: str) -> list[tuple[str, bool, dict]]:
    """(run id, passed, metadata) of every evaluation of `check`, oldest first."""
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        out = []
        for run in reversed(instance.get_runs()):
            for record in instance.get_records_for_run(
                    run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
                data = record.event_log_entry.dagster_event.event_specific_data
                if data.asset_key == dg.AssetKey(asset) and data.check_name == check:
                    out.append((run.run_id, data.passed,
                                {k: v.value for k, v in data.metadata.items()}))
        return out


def _materialization(env, asset: str):
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        entry = instance.get_latest_materialization_event(dg.AssetKey(asset))
        return entry.run_id, entry.tags["dagster/data_version"], {
            k: v.value for k, v in entry.asset_materialization.metadata.items()}


def test_unchanged_process_is_not_run_again(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm) "
                    "VALUES (%s, 'demo_sales_report', 2, 'demo/checked.py')", (CHECKED,))
    execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) "
                    "VALUES (%s, %s)", (CHECKED, SUMMARY))
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks" / "demo", notebooks / "demo")
    (notebooks / "demo" / "checked.py").write_text(SCRIPT)
    home = tmp_path / "home"
    env = project_env(pg_url, home, LLM_ASSETS_NOTEBOOKS_DIR=str(notebooks))
    runs = home / "datalake" / "runs" / "demo_sales"
    io_value = home / "datalake" / "io" / SUMMARY

    first, messages = _run(env, pg_url)
    assert set(messages.values()) == {None}  # everything ran
    _, version, _ = _materialization(env, SUMMARY)
    value = pickle.loads(io_value.read_bytes())

    # 1. nothing changed: the roots run (they read the outside world), the summary does not
    second, messages = _run(env, pg_url)
    assert messages["demo_sales_orders"] is None and messages["demo_sales_customers"] is None
    assert messages[SUMMARY].startswith(f"unchanged since run {first}: "), messages
    assert messages[CHECKED].startswith(f"unchanged since run {first}: "), messages
    # its check's outcome is carried over, saying from which run
    checks = _check_runs(env, CHECKED, "rows_present")
    assert [(r, p) for r, p, _ in checks] == [(first, True), (second, True)], checks
    assert checks[1][2]["unchanged_since_run"] == first and checks[1][2]["rows"] == 3
    assert (runs / "demo_sales_orders" / second).is_dir()
    assert not (runs / SUMMARY / second).exists()  # no kernel, no executed notebook
    run_id, again, metadata = _materialization(env, SUMMARY)
    assert (run_id, again) == (second, version)
    assert metadata["unchanged_since_run"] == first
    assert f"{SUMMARY}/{first}/" in metadata["executed_notebook"]  # the run that computed it
    assert pickle.loads(io_value.read_bytes()).equals(value)

    # 2. its notebook edited: it runs again (and yields the same content: same version)
    path = notebooks / "demo" / "sales_summary.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"].append({"cell_type": "markdown", "id": "note", "metadata": {},
                              "source": ["edited"]})
    path.write_text(json.dumps(notebook))
    third, messages = _run(env, pg_url)
    assert messages[SUMMARY] is None and (runs / SUMMARY / third).is_dir()
    assert _materialization(env, SUMMARY)[1] == version

    # 3. unchanged again, but skipping switched off
    fourth, messages = _run({**env, "LLM_ASSETS_SKIP_UNCHANGED": "0"}, pg_url)
    assert messages[SUMMARY] is None and (runs / SUMMARY / fourth).is_dir()
