"""Bad source tables through the real demo notebook (promo_reco/ingest_table.ipynb, run by
dagstermill from `llm-assets run`): the user lands a file with `llm-assets datalake put`, the
process fails with a message naming the file and the fix, in the CLI output and in
CNTL_CFG_LOG (status 99), and the result of the last good run stays where it was.

Before, the table path gave pandas' own error without the file (`'utf-8' codec can't decode
byte 0xe9 in position 3`) and read a file of any size into memory.  Empty and malformed
tables: tests/test_source_files.py."""

from __future__ import annotations

import pytest

from llm_assets.core.log_rows import FAILED, SUCCESS
from tests.log.conftest import log_rows
from tests.support.pg import execute, prepare
from tests.support.project import project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('bad_src');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm) VALUES ('bad_src_g', 'bad_src');
INSERT INTO cntl_af.cntl_cfg_sys_file (sys_nm, file_type, dlm, chunk_size, overlap)
VALUES ('bad_src_csv', 'csv', ',', 1000, 0);
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, sys_file, nb_path_nm, nb_parm) VALUES
    ('bad_src_customers', 'bad_src_g', 'bad_src_csv', 'promo_reco/ingest_table.ipynb',
     'file=customers.csv|key=customer_id');
"""
KEY = "raw/bad_src/customers.csv"
GOOD = "customer_id,name,city\nC1,Ana,Lisbon\nC2,Zoe,Paris\n"


def _land_and_run(env: dict, tmp_path, data: bytes, **extra: str):
    source = tmp_path / "customers.csv"
    source.write_bytes(data)
    run(["llm-assets", "datalake", "put", str(source), KEY], env, check=True)
    proc = run(["llm-assets", "run", "bad_src"], {**env, **extra})
    return proc, proc.stdout + proc.stderr


def _result_files(home) -> dict[str, bytes]:
    """What the IO manager stored for the process (the value dependents load)."""
    root = home / "datalake"
    files = {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}
    return {name: p.read_bytes() for name, p in files.items()
            if name.startswith("io/") and "bad_src_customers" in name}


def test_bad_source_tables_are_named_and_the_last_good_result_is_kept(pg_url, tmp_path):
    prepare(pg_url)
    execute(pg_url, ROWS)
    home = tmp_path / "home"
    env = project_env(pg_url, home)

    proc, output = _land_and_run(env, tmp_path, GOOD.encode())
    assert proc.returncode == 0, output[-3000:]
    kept = _result_files(home)
    assert kept, sorted(str(p) for p in (home / "datalake").rglob("*"))

    cases = [
        # a Latin-1 export (é as byte 0xe9 in line 3)
        ((GOOD + "C3,Andr\u00e9,Lyon\n").encode("latin-1"), {},
         [f"document '{KEY}' is not UTF-8 text: byte 0xe9 at offset", "(line 4)",
          "save the file as UTF-8"]),
        # above the configured size limit: refused from its size, before reading
        (GOOD.encode() * 50, {"LLM_ASSETS_MAX_SOURCE_MB": "0.001"},
         [f"table {KEY} is 2,450 bytes, above the 1,048 bytes limit for one source file "
          "(LLM_ASSETS_MAX_SOURCE_MB)", "split it into smaller files"]),
    ]
    for data, extra, texts in cases:
        proc, output = _land_and_run(env, tmp_path, data, **extra)
        assert proc.returncode != 0, output[-3000:]
        failed = [r for r in log_rows(pg_url).values() if r["status"] == FAILED]
        latest = max(failed, key=lambda r: r["start_dt"])
        for text in texts:
            assert text in output, (text, output[-3000:])
            assert text in latest["message"], (text, latest["message"])
        assert _result_files(home) == kept  # the last good result is untouched

    statuses = sorted(r["status"] for r in log_rows(pg_url).values())
    assert statuses == sorted([SUCCESS] + [FAILED] * len(cases))
