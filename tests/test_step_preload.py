"""The forkserver of a run's step processes builds the run's job definition once
(llm_assets.defs.step_preload), and every step process forked from it uses that very object
instead of rebuilding its run's streams: a real `dagster job execute` of a two-tier stream of
script processes, each recording, from inside its step, what it was handed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.pg import execute, prepare
from tests.support.project import project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROBE = '''\
"""Records, from inside its step process, whether the job definition it runs with is the one
the step forkserver built."""
import json
import os

from llm_assets import nb
from llm_assets.defs import step_preload

params = nb.params({"process": "probe"})
with open(os.path.join(os.environ["LLM_ASSETS_HOME"], "probes.jsonl"), "a") as out:
    out.write(json.dumps({"process": params.process, "pid": os.getpid(),
                          "built_pid": step_preload.built_pid,
                          "prebuilt": context.job_def is step_preload.built}) + "\\n")
nb.report(source_row=0, target_row=0)
'''


def test_step_processes_use_the_definition_their_forkserver_built(pg_url, tmp_path):
    notebooks = tmp_path / "notebooks"
    (notebooks / "preload").mkdir(parents=True)
    (notebooks / "preload" / "probe.py").write_text(PROBE)
    prepare(pg_url)
    execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('preload');\n"
                    "INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES "
                    "('preload_g', 'preload', 1);\n"
                    "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm) "
                    "VALUES ('probe_1', 'preload_g', 1, 'preload/probe.py'), "
                    "('probe_2', 'preload_g', 2, 'preload/probe.py');")
    env = project_env(pg_url, tmp_path / "home", LLM_ASSETS_NOTEBOOKS_DIR=str(notebooks))
    proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j", "preload"],
               env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "could not build the run's definitions" not in proc.stderr
    probes = [json.loads(line) for line in
              (Path(env["LLM_ASSETS_HOME"]) / "probes.jsonl").read_text().splitlines()]
    assert sorted(p["process"] for p in probes) == ["probe_1", "probe_2"]
    for probe in probes:
        assert probe["built_pid"] is not None, probe  # the forkserver built it ...
        assert probe["pid"] != probe["built_pid"] != os.getpid(), probe  # ... not the step
        assert probe["prebuilt"], probe  # and the step ran with that very definition
