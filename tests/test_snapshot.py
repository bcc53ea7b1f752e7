"""The snapshot: lossless JSON, one query per table, parameters parsing."""

from __future__ import annotations

import pytest

from llm_assets.control.load import load_snapshot
from llm_assets.control.models import ControlSnapshot
from llm_assets.control.params import ParameterError, parse_nb_parm
from tests.support.pg import control_table_reads, execute, prepare


@pytest.mark.e2e
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
    assert again.fingerprint == snapshot.fingerprint
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
