"""The papermill-convention variables (llm_assets.core.params.NOTEBOOK_VARIABLES): one list,
bound after a notebook's `parameters` cell by both engines and in a script's globals, and
documented in the README."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import nbformat
import pytest

from llm_assets.core.params import NOTEBOOK_VARIABLES, PARAMETER_KEYS, notebook_variables
from llm_assets.runtime.engines import prepare_notebook
from tests.migration.conftest import LEGACY_NOTEBOOKS
from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env, run

PARAMS = {"stream": "Sales_Daily", "group": "Sales_Load", "process": "Load_Orders",
          "run_id": "r1", "data_dt": "2024-05-01", "nb_parm": "a|b", "nb_args": ["a", "b"],
          "nb_kwargs": {}, "embed_model": "nomic-embed-text", "gen_model": None,
          "collection": "Sales_Docs", "question": "Which?", "upstream": [], "profile": "local",
          "sys_file": {"sys_nm": "Orders_CSV", "file_type": "csv", "dlm": ",",
                       "chunk_size": 1000, "overlap": 0}}


@pytest.mark.unit
def test_every_variable_comes_from_the_parameters():
    assert set(PARAMS) == set(PARAMETER_KEYS)
    assert notebook_variables(PARAMS) == {
        "nb_parm": "a|b", "date_run": "2024-05-01", "data_dt": "2024-05-01",
        "embed_model": "nomic-embed-text", "gen_model": None, "collection": "Sales_Docs",
        "question": "Which?", "stream": "Sales_Daily", "group": "Sales_Load",
        "process": "Load_Orders", "run_id": "r1", "file_type": "csv", "dlm": ",",
        "chunk_size": 1000, "overlap": 0}
    without_file = notebook_variables(dict(PARAMS, sys_file=None))
    assert list(without_file) == list(NOTEBOOK_VARIABLES)
    assert [without_file[k] for k in ("file_type", "dlm", "chunk_size", "overlap")] == \
        [None] * 4


@pytest.mark.unit
def test_readme_table_lists_every_variable():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Papermill-convention variables")[1].split("\n### ")[0]
    documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert documented == list(NOTEBOOK_VARIABLES)
    assert "docs/migrating.md" in readme


@pytest.mark.unit
@pytest.mark.parametrize("engine", ["dagstermill", "papermill"])
def test_parameters_cell_is_kept_and_followed_by_the_values(tmp_path, engine):
    target = tmp_path / "prepared.ipynb"
    prepare_notebook(LEGACY_NOTEBOOKS / "sales" / "load_customers.ipynb", PARAMS,
                     tmp_path / "out", target, engine=engine)
    cells = nbformat.read(target, as_version=4).cells
    tags = [c.metadata.get("tags", []) for c in cells]
    defaults = next(i for i, c in enumerate(cells) if c.source.startswith("nb_parm = "))
    assert "x = 1" in cells[defaults].source  # the notebook's own cell, as written
    ours = tags.index(["llm-assets-parameters"])
    if engine == "dagstermill":  # its context cell replaces the empty `parameters` cell
        assert tags[defaults] == ["parameters-defaults"]
        assert (tags[defaults + 1], ours) == (["parameters"], defaults + 2)
        assert sum("parameters" in t for t in tags) == 1
    else:  # papermill runs the cell tagged `parameters`, then ours
        assert (tags[defaults], ours) == (["parameters"], defaults + 1)
    injected = cells[ours].source
    assert "\nnb_parm = 'a|b'\ndate_run = '2024-05-01'\n" in injected
    assert "\ngen_model = globals().get('gen_model')\n" in injected  # NULL keeps the default
    assert cells[ours + 1].source == "y = x + 1"


@pytest.mark.e2e
def test_script_process_gets_the_same_variables(pg_url, tmp_path):
    prepare(pg_url)
    execute(pg_url, """
        INSERT INTO cntl_af.cntl_cfg_strem (strem_nm, question) VALUES ('Scripts', 'Why?');
        INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm) VALUES ('Script_Grp',
                                                                          'Scripts');
        INSERT INTO cntl_af.cntl_cfg_sys_file (sys_nm, file_type, dlm, chunk_size, overlap)
            VALUES ('Orders_CSV', 'csv', ';', 500, 50);
        INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, sys_file, embed_model,
                                           collection, nb_path_nm, nb_parm)
            VALUES ('Seen', 'Script_Grp', 'Orders_CSV', 'nomic-embed-text', 'Docs',
                    'scripts/seen.py', 'x|y');""")
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=str(LEGACY_NOTEBOOKS))
    proc = run(["llm-assets", "run", "Scripts"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    seen = pickle.loads(Path(tmp_path / "datalake" / "io" / "Seen").read_bytes())
    run_id = proc.stdout.split("run ")[1].split()[0]
    assert seen == {"nb_parm": "x|y", "date_run": seen["data_dt"], "data_dt": seen["data_dt"],
                    "embed_model": "nomic-embed-text", "gen_model": None, "collection": "Docs",
                    "question": "Why?", "stream": "Scripts", "group": "Script_Grp",
                    "process": "Seen", "run_id": run_id, "file_type": "csv", "dlm": ";",
                    "chunk_size": 500, "overlap": 50}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", seen["data_dt"])


@pytest.mark.unit
def test_a_stale_injected_cell_from_an_earlier_papermill_run_is_dropped(tmp_path):
    """A notebook copied from the original framework's Log_output/ still holds the cell
    papermill injected in that run; its old values must not follow ours."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    source = tmp_path / "Load_Orders-out.ipynb"
    original = load_notebook_node(str(LEGACY_NOTEBOOKS / "sales" / "Load_Orders.ipynb"))
    # what `papermill ... -p nb_parm 'old|1999|run'` wrote into Log_output/
    nbformat.write(parameterize_notebook(original, {"nb_parm": "old|1999|run"}), source)
    assert "old|1999|run" in source.read_text()
    for engine in ("dagstermill", "papermill"):
        target = tmp_path / f"{engine}.ipynb"
        prepare_notebook(source, PARAMS, tmp_path / "out", target, engine=engine)
        cells = nbformat.read(target, as_version=4).cells
        assert not any("old|1999|run" in c.source for c in cells)
        assert sum("llm-assets-parameters" in c.metadata.get("tags", []) for c in cells) == 1
