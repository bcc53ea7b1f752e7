"""End to end on the embedded Postgres with the real `dagster` CLI: definitions validate,
materialize, tier order from event timestamps, explicit dependencies, zero control-table
queries outside code-location initialization, and reload after a row change."""

from __future__ import annotations

import pickle

import dagster as dg
import pytest

from tests.support.pg import control_table_reads, execute, prepare
from tests.support.project import project_env, project_instance, run

pytestmark = pytest.mark.e2e


def _step_times(env: dict, run_id: str) -> dict[str, tuple[float, float]]:
    with project_instance(env) as instance:
        records = instance.all_logs(run_id)
    starts, ends = {}, {}
    for record in records:
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            ends[event.step_key] = record.timestamp
    return {k: (starts[k], ends[k]) for k in starts if k in ends}


def _run_id(output: str) -> str:
    import re

    match = re.search(r" - ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) - ",
                      output)
    assert match, output[-2000:]
    return match.group(1)


def test_definitions_validate_and_asset_materialize(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    env = project_env(pg_url, tmp_path)
    proc = run(["dagster", "definitions", "validate", "-m", "llm_assets.definitions"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(["dagster", "asset", "materialize", "-m", "llm_assets.definitions",
                "--select", "demo_sales_orders,demo_sales_customers"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    io = tmp_path / "datalake" / "io"
    orders = pickle.loads((io / "demo_sales_orders").read_bytes())
    assert len(orders) == 500  # nb_parm rows=500 reached the notebook
    assert not (io / "demo_sales_summary").exists()


def test_tier_order_dependencies_and_zero_control_queries_in_a_run(pg_url, tmp_path):
    prepare(pg_url, "tests/fixtures/tiers.sql")
    env = project_env(pg_url, tmp_path)
    before = control_table_reads(pg_url)
    proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j", "tiers"], env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    after = control_table_reads(pg_url)
    # one snapshot load (code-location initialization) reads each of the 6 tables once;
    # run worker, 4 step processes and 4 notebook kernels read nothing
    assert after - before == 6, (before, after)

    times = _step_times(env, _run_id(output))
    assert set(times) == {"tier_a", "tier_b", "tier_c", "tier_d"}
    first_tier_end = max(times["tier_a"][1], times["tier_b"][1])
    assert times["tier_c"][0] >= first_tier_end  # priority order, no dependency row
    assert times["tier_d"][0] >= times["tier_c"][1]  # tier (2,2) after tier (2,1)
    rows = pickle.loads((tmp_path / "datalake" / "io" / "tier_d").read_bytes())
    assert rows == {"tier_a": 30, "tier_b": 40}  # explicit dependencies delivered values


def test_asset_graph_groups_are_process_groups(pg_url, tmp_path, monkeypatch):
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets.core.names import STATUS_GROUP
    from llm_assets.core.settings import notebooks_dir
    from llm_assets.core.state import ControlState
    from llm_assets.defs.build import build_definitions
    from llm_assets.store.snapshot import load_snapshot

    prepare(pg_url, "001_demo_sales.sql", "tests/fixtures/tiers.sql")
    monkeypatch.setenv("LLM_ASSETS_HOME", str(tmp_path))
    repo = build_definitions(ControlState.build(load_snapshot(pg_url), notebooks_dir()),
                             resources=resources_for_profile("local")) \
        .get_repository_def()
    groups = {}
    for node in repo.asset_graph.asset_nodes:
        groups.setdefault(node.group_name, set()).add(node.key.to_user_string())
    assert groups.pop(STATUS_GROUP) == {"llm_assets_control_tables"}
    assert groups == {
        "demo_sales_prep": {"demo_sales_orders", "demo_sales_customers"},
        "demo_sales_report": {"demo_sales_summary"},
        "tiers_first": {"tier_a", "tier_b"},
        "tiers_second": {"tier_c", "tier_d"},
    }
    summary = repo.asset_graph.get(dg.AssetKey("demo_sales_summary"))
    assert {k.to_user_string() for k in summary.parent_keys} == {
        "demo_sales_orders", "demo_sales_customers"}
    meta = summary.metadata
    assert meta["stream"] == "demo_sales" and meta["process_group"] == "demo_sales_report"
    jobs = {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")}
    assert jobs == {"demo_sales", "tiers"}
    assert [s.name for s in repo.schedule_defs] == ["demo_sales_schedule"]


def test_changed_row_shows_after_reload_without_restarting_postgres(pg_url, tmp_path):
    prepare(pg_url, "001_demo_sales.sql")
    env = project_env(pg_url, tmp_path)
    listing = run(["dagster", "asset", "list", "-m", "llm_assets.definitions"], env, check=True)
    assert "demo_sales_extra" not in listing.stdout
    execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm)"
                    " VALUES ('demo_sales_extra', 'demo_sales_report', 2, "
                    "'demo/sales_customers.ipynb')")
    listing = run(["dagster", "asset", "list", "-m", "llm_assets.definitions"], env, check=True)
    assert "demo_sales_extra" in listing.stdout


def test_cross_stream_dependency_in_scoped_step_and_kernel(pg_url, tmp_path):
    """Step processes build only their run's stream and kernels only their process: an
    upstream in another stream is still loaded through the IO manager by its key."""
    execute_sql = """
        INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('up_stream'), ('down_stream'),
            ('unrelated_stream');
        INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm) VALUES
            ('up_g', 'up_stream'), ('down_g', 'down_stream'), ('unrelated_g', 'unrelated_stream');
        INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm) VALUES
            ('up_orders', 'up_g', 'demo/sales_orders.ipynb', 'rows=12'),
            ('down_join', 'down_g', 'demo/join_upstream.ipynb', NULL),
            ('unrelated_process', 'unrelated_g', 'demo/sales_orders.ipynb', NULL);
        INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) VALUES
            ('down_join', 'up_orders');
    """
    prepare(pg_url)
    execute(pg_url, execute_sql)
    env = project_env(pg_url, tmp_path)
    for job in ("up_stream", "down_stream"):
        proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j", job], env)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    rows = pickle.loads((tmp_path / "datalake" / "io" / "down_join").read_bytes())
    assert rows == {"up_orders": 12}
    # dagstermill writes the run's load data into the notebook's parameters: the control
    # state rides there compressed, never as rows in clear text
    executed = next((tmp_path / "datalake" / "runs" / "down_stream" / "down_join").rglob(
        "down_join.ipynb")).read_text()
    assert "up_orders" in executed and "unrelated_process" not in executed
    assert "zlib+base64:" in executed
