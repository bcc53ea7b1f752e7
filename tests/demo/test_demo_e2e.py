"""Both demo streams end to end on reduced data (LLM_ASSETS_DEMO_SCALE=small), run by
`llm-assets demo` as `make demo` runs them: real embedded Postgres + pgvector, real
notebooks, the shipped MiniLM and SmolLM2 models.

Checks the answer `llm-assets demo` prints (the seeded values, cited by chunks holding them),
the exports, the asset checks' outcomes, one log row per process with status 0, and that
re-ingesting leaves the collections' vector counts unchanged.
"""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest

from llm_assets_demo import metrics, quality
from tests.support.pg import execute, prepare
from tests.support.project import project_env, project_instance, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEEDS = ("002_demo_doc_qa.sql", "003_demo_promo_reco.sql")
STREAMS = ("doc_qa", "promo_reco")  # the active streams of SEEDS, in the order demo runs them


def _check_outcomes(env: dict) -> dict[tuple[str, str], bool]:
    """(asset, check) -> passed, from the ASSET_CHECK_EVALUATION events of every run."""
    with project_instance(env) as instance:
        out = {}
        for record in sorted((r for run in instance.get_runs()
                              for r in instance.all_logs(run.run_id)),
                             key=lambda r: r.timestamp):
            event = record.dagster_event
            if event is not None and event.event_type_value == "ASSET_CHECK_EVALUATION":
                data = event.event_specific_data
                out[(data.asset_key.to_user_string(), data.check_name)] = data.passed
        return out


def _vector_counts(pg_url: str) -> dict[str, int]:
    return {name: execute(pg_url, f"SELECT count(*) FROM vec.{name}")[0][0]
            for name in ("doc_qa_chunks", "promo_reco_promotions")}


# two streams run twice with real models: 10 minutes was not enough at load average 7 on the
# shared 2 cores (the first `llm-assets demo` alone took 9); the guard, not a speed goal
@pytest.mark.timeout(1800)
def test_both_streams_end_to_end_on_small_data(pg_url, tmp_path):
    prepare(pg_url, *SEEDS)
    # the small set (48 answerable questions, one PDF) has its own citation bar; the 0.95 of
    # the full set is measured by bench/measure_demo_quality.py (docs/benchmarks.md)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_DEMO_SCALE="small",
                      LLM_ASSETS_CHECK_DOC_QA_CITATION_PRECISION="0.9")
    module = "llm_assets.definitions"
    # the model answers the stream's question; the labelled questions behind the checks are
    # answered by the no-LLM baseline (nb_parm eval_answer_mode): the model on all 63 of
    # them took over 10 minutes on the shared 2 cores. The models on the labelled set:
    # bench/measure_demo_quality.py and tests/ai/test_local_models.py
    execute(pg_url, "UPDATE cntl_af.cntl_cfg_prcs SET nb_parm = nb_parm || "
                    "'|eval_answer_mode=extractive' WHERE prcs_nm = 'doc_qa_answer'")
    # what `make demo` runs after seeding: every active stream (here doc_qa, promo_reco), then
    # it prints the stream's question and its answer
    proc = run(["llm-assets", "demo"], env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert [line.split(":")[0] for line in proc.stdout.splitlines()
            if ": run " in line] == list(STREAMS), proc.stdout[-4000:]

    export = tmp_path / "datalake" / "export"
    answer = json.loads((export / "doc_qa" / "answer.json").read_text())
    assert answer["answer"] and answer["citations"], answer
    assert set(answer["answered_by"].split("+")) <= {"llm", "fallback"}, answer  # the model
    assert {"document", "chunk_id", "chunk_index"} <= set(answer["citations"][0])
    assert "## Sources" in (export / "doc_qa" / "answer.md").read_text()
    _stream_answer_is_right_and_cited(tmp_path / "datalake", answer)
    printed = proc.stdout.rsplit("\ndoc_qa: ", 1)[-1]  # the answer `llm-assets demo` shows
    assert printed.startswith(execute(pg_url, "SELECT question FROM cntl_af.cntl_cfg_strem "
                                              "WHERE strem_nm = 'doc_qa'")[0][0]), printed
    for part in answer["parts"]:
        assert f"> {part['answer']} [{part['sources'][0]}]" in printed, printed
    recs = json.loads((export / "promo_reco" / "recommendations.json").read_text())
    assert len({r["customer_id"] for r in recs}) == 40
    assert {r["ranked_by"] for r in recs} <= {"llm", "fallback", "retrieval"}
    assert sum(r["ranked_by"] != "retrieval" for r in recs) == 3 * 5  # bounded LLM work
    assert (export / "promo_reco" / "recommendations.csv").exists()
    assert "<svg" in (export / "promo_reco" / "report.html").read_text()

    outcomes = _check_outcomes(env)
    checked = {(a, c) for a, s in (("doc_qa_answer", "doc_qa"), ("promo_reco_rank", "promo_reco"))
               for c in quality.CHECKS[s]}
    assert set(outcomes) == checked, outcomes
    # the small model's validity and ranking vary with the machine; retrieval, vectors and
    # the grounded answers (accuracy, citations, not found) must hold
    assert all(v for (_, c), v in outcomes.items()
               if c not in ("llm_valid_share", "llm_beats_retrieval")), outcomes
    # one CNTL_CFG_LOG row per process with status 0 (written right after `llm-assets run`)
    rows = execute(pg_url, "SELECT prcs_nm, status FROM cntl_af.cntl_cfg_log")
    assert sorted(r[0] for r in rows) == sorted(
        r[0] for r in execute(pg_url, "SELECT prcs_nm FROM cntl_af.cntl_cfg_prcs "
                                      "WHERE prcs_nm LIKE 'doc_qa%' OR "
                                      "prcs_nm LIKE 'promo_reco%'"))
    assert {r[1] for r in rows} == {0}

    counts = _vector_counts(pg_url)
    assert counts == {"doc_qa_chunks": 44, "promo_reco_promotions": 48}
    proc = run(["dagster", "asset", "materialize", "-m", module, "--select",
                "doc_qa_ingest_pdf,doc_qa_ingest_txt,promo_reco_ingest_promotions"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _vector_counts(pg_url) == counts  # re-ingest replaces, never duplicates

    # the whole stream again: same vectors and export files, one new log row per process;
    # the stream's question answered without a model this time (nb_parm answer_mode), still
    # right
    exports_before = sorted(p.relative_to(export) for p in export.rglob("*"))
    logged_before = execute(pg_url, "SELECT run_id, prcs_nm FROM cntl_af.cntl_cfg_log")
    execute(pg_url, "UPDATE cntl_af.cntl_cfg_prcs SET nb_parm = nb_parm || "
                    "'|answer_mode=extractive' WHERE prcs_nm = 'doc_qa_answer'")
    proc = run(["llm-assets", "run", "doc_qa"], env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    baseline = json.loads((export / "doc_qa" / "answer.json").read_text())
    assert baseline["answered_by"] == "extractive", baseline
    _stream_answer_is_right_and_cited(tmp_path / "datalake", baseline)
    assert _vector_counts(pg_url) == counts
    assert sorted(p.relative_to(export) for p in export.rglob("*")) == exports_before
    logged = execute(pg_url, "SELECT run_id, prcs_nm, status FROM cntl_af.cntl_cfg_log")
    new = [r for r in logged if (r[0], r[1]) not in set(logged_before)]
    doc_qa = {r[0] for r in execute(pg_url, "SELECT prcs_nm FROM cntl_af.cntl_cfg_prcs "
                                            "WHERE prcs_nm LIKE 'doc_qa%'")}
    assert sorted(r[1] for r in new) == sorted(doc_qa) and {r[2] for r in new} == {0}
    assert len({r[0] for r in new}) == 1  # all from the rerun's own run id
    # mirroring that run again (what a replayed sensor tick does) writes nothing new
    _mirror_again(env, new[0][0])
    assert len(execute(pg_url, "SELECT 1 FROM cntl_af.cntl_cfg_log")) == len(logged)


def _stream_answer_is_right_and_cited(lake, answer: dict) -> None:
    """The seeded question asks two labelled facts: each part states its seeded value and
    cites a chunk that holds the labelled sentence."""
    labels = json.loads((lake / "raw/doc_qa/eval/questions.json").read_text())
    chunks = [c for p in (lake / "export/doc_qa/ingest").glob("*.json")
              for c in json.loads(p.read_text())["chunks"]]
    wanted = {"How many days do I have to dispute a transaction?",
              "When do I receive a provisional credit for a disputed transaction?"}
    facts = [q for q in labels if q["question"] in wanted]
    assert len(facts) == 2 and len(answer["parts"]) == 2, answer
    for part, fact in zip(answer["parts"], facts):
        assert part["found"] and metrics.states_value(part["answer"], fact["value"]), part
        holding = {c["id"] for c in chunks
                   if metrics.answers(c["text"], c["doc"], fact["document"], fact["keys"])}
        assert {c["chunk_id"] for c in part["citations"]} <= holding, part


def _mirror_again(env: dict, run_id: str) -> None:
    from llm_assets.defs.log_mirror import mirror_after_cli_run

    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "LLM_ASSETS_DATABASE_URL")}
    os.environ.update({k: env[k] for k in saved})
    try:
        with dg.DagsterInstance.get() as instance:
            assert mirror_after_cli_run(instance, run_id) > 0  # rows rewritten, not added
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value


def test_demo_seeds_are_rerunnable_and_valid(pg_url):
    from llm_assets.core import settings
    from llm_assets.core.validate import validate
    from llm_assets.store.snapshot import load_snapshot

    prepare(pg_url, *SEEDS, *SEEDS)
    counts = {t: execute(pg_url, f"SELECT count(*) FROM cntl_af.{t}")[0][0]
              for t in ("cntl_cfg_strem", "cntl_cfg_prcs_grp", "cntl_cfg_prcs",
                        "cntl_cfg_sys_file", "cntl_cfg_prcs_depn", "cntl_cfg_schedule")}
    assert counts == {"cntl_cfg_strem": 2, "cntl_cfg_prcs_grp": 8, "cntl_cfg_prcs": 12,
                      "cntl_cfg_sys_file": 4, "cntl_cfg_prcs_depn": 14, "cntl_cfg_schedule": 2}
    result = validate(load_snapshot(pg_url), settings.notebooks_dir())
    assert result.ok, result.problems
