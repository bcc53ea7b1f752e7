"""The snapshot: lossless JSON, one query per table, parameters parsing."""

from __future__ import annotations

import pytest

from llm_assets.core.fingerprint import snapshot_fingerprint
from llm_assets.core.models import ControlSnapshot
from llm_assets.core.params import ParameterError, parse_nb_parm
from llm_assets.store.snapshot import load_snapshot
from tests.support.pg import control_table_reads, execute, prepare


@pytest.mark.integration
def test_snapshot_round_trips_and_reads_each_table_once(pg_url):
    prepare(pg_url, "001_demo_sales.sql", "tests/fixtures/defects.sql")
    # many more rows must not mean more queries
    execute(pg_url, """
        INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm)
        SELECT 'bulk_' || i, 'good_g1', 'demo/sales_orders.ipynb', 'q=''x''; DROP TABLE y'
        FROM generate_series(1, 300) i""")
    before = control_table_reads(pg_url)
    snapshot = load_snapshot(pg_url)
    after = control_table_reads(pg_url)
    assert after - before == 6
    assert len(snapshot.processes) == 3 + 22 + 300
    text = snapshot.to_json()
    again = ControlSnapshot.from_json(text)
    assert again == snapshot and again.to_json() == text
    assert snapshot_fingerprint(again) == snapshot_fingerprint(snapshot)
    assert snapshot.process_by_name["bulk_1"].nb_parm == "q='x'; DROP TABLE y"
    assert all(isinstance(p.upt_dt, str) for p in snapshot.processes)


@pytest.mark.unit
@pytest.mark.parametrize("raw, args, kwargs", [
    (None, [], {}),
    ("", [], {}),
    ("a|b|c", ["a", "b", "c"], {}),
    (" rows = 5 | fast ", ["rows = 5", "fast"], {"rows": "5"}),
    ('{"k": [1, 2], "name": "x|y"}', [], {"k": [1, 2], "name": "x|y"}),
    ("[1, \"two\"]", [1, "two"], {}),
])
def test_nb_parm_forms(raw, args, kwargs):
    parsed = parse_nb_parm(raw)
    assert parsed.args == args and parsed.kwargs == kwargs


@pytest.mark.unit
@pytest.mark.parametrize("raw", ['{"a": ', "[1, 2", '"just a string"'.join("{}")])
def test_malformed_json_nb_parm_is_an_error(raw):
    with pytest.raises(ParameterError):
        parse_nb_parm(raw)


@pytest.mark.integration
def test_rows_changed_while_the_snapshot_loads_give_a_consistent_view(pg_url, monkeypatch):
    """Someone deletes a process (with its dependency rows) and adds another between our read
    of cntl_cfg_prcs and our read of cntl_cfg_prcs_depn: the snapshot is the state before the
    edit, whole (one REPEATABLE READ transaction), and validates cleanly; the next load sees
    the state after, whole."""
    from llm_assets.core import settings
    from llm_assets.core.models import Process
    from llm_assets.core.validate import validate
    from llm_assets.store import snapshot as load

    prepare(pg_url)
    execute(pg_url, """
        INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('edit');
        INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm) VALUES ('edit_g', 'edit');
        INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) VALUES
            ('p_a', 'edit_g', 'demo/sales_orders.ipynb'),
            ('p_b', 'edit_g', 'demo/sales_customers.ipynb'),
            ('p_c', 'edit_g', 'demo/join_upstream.ipynb');
        INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) VALUES ('p_c', 'p_b');
    """)
    edits = []

    def concurrent_edit(*values):  # runs while our transaction is between two table reads
        if not edits:
            edits.append(execute(pg_url, """
                DELETE FROM cntl_af.cntl_cfg_prcs_depn WHERE dpnd_prcs_nm = 'p_b';
                DELETE FROM cntl_af.cntl_cfg_prcs WHERE prcs_nm = 'p_b';
                INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) VALUES
                    ('p_new', 'edit_g', 'demo/sales_customers.ipynb');
                INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm)
                    VALUES ('p_c', 'p_new');
                SELECT 1;"""))
        return Process(*values)

    queries = tuple((name, concurrent_edit if name == "processes" else row_type, sql)
                    for name, row_type, sql in load.QUERIES)
    monkeypatch.setattr(load, "QUERIES", queries)
    during = load_snapshot(pg_url)
    assert edits  # the edit was committed mid-load
    assert {p.prcs_nm for p in during.processes} == {"p_a", "p_b", "p_c"}
    assert {(d.prcs_nm, d.dpnd_prcs_nm) for d in during.dependencies} == {("p_c", "p_b")}
    assert validate(during, settings.notebooks_dir()).ok

    monkeypatch.undo()
    after = load_snapshot(pg_url)
    assert {p.prcs_nm for p in after.processes} == {"p_a", "p_c", "p_new"}
    assert {(d.prcs_nm, d.dpnd_prcs_nm) for d in after.dependencies} == {("p_c", "p_new")}
    assert validate(after, settings.notebooks_dir()).ok
