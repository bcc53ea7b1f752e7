"""Both demo streams end to end on reduced data (LLM_ASSETS_DEMO_SCALE=small): real
embedded Postgres + pgvector, real notebooks, the shipped MiniLM and SmolLM2 models.

Checks the exports, the asset checks' outcomes, one log row per process with status 0, and
that re-ingesting leaves the collections' vector counts unchanged.
"""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest

from tests.support.pg import execute, prepare
from tests.support.project import project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEEDS = ("002_demo_doc_qa.sql", "003_demo_promo_reco.sql")
STREAMS = ("doc_qa", "promo_reco")


def _wired(pg_url: str, home) -> bool:
    """Whether the project's definitions give processes the AI resources (else the test
    uses tests.demo._wired, which adds them)."""
    from llm_assets.resources.profile import resources_for_profile

    old = {k: os.environ.get(k) for k in ("LLM_ASSETS_DATABASE_URL", "LLM_ASSETS_HOME")}
    os.environ.update(LLM_ASSETS_DATABASE_URL=pg_url, LLM_ASSETS_HOME=str(home))
    try:
        return {"embeddings", "llm", "vectorstore"} <= set(resources_for_profile("local"))
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check_outcomes(env: dict, asset: str) -> dict[str, bool]:
    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            out = {}
            for name in ("retrieval_recall_at_5", "llm_valid_share", "no_duplicate_vectors"):
                key = dg.AssetCheckKey(dg.AssetKey(asset), name)
                records = instance.event_log_storage.get_asset_check_execution_history(key, 1)
                assert records, f"check {name} of {asset} never ran"
                event = records[0].event.dagster_event.event_specific_data
                out[name] = event.passed
            return out
    finally:
        if old is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = old


def _vector_counts(pg_url: str) -> dict[str, int]:
    return {name: execute(pg_url, f"SELECT count(*) FROM vec.{name}")[0][0]
            for name in ("doc_qa_chunks", "promo_reco_promotions")}


def test_both_streams_end_to_end_on_small_data(pg_url, tmp_path):
    prepare(pg_url, *SEEDS)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_DEMO_SCALE="small")
    wired = _wired(pg_url, tmp_path)
    module = "llm_assets.definitions" if wired else "tests.demo._wired"
    if wired:
        proc = run(["llm-assets", "run", *STREAMS], env, timeout=1200)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    else:
        for stream in STREAMS:
            proc = run(["dagster", "job", "execute", "-m", module, "-j", stream], env,
                       timeout=900)
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    export = tmp_path / "datalake" / "export"
    answer = json.loads((export / "doc_qa" / "answer.json").read_text())
    assert answer["answer"] and answer["citations"]
    assert {"document", "chunk_id", "chunk_index"} <= set(answer["citations"][0])
    assert "## Sources" in (export / "doc_qa" / "answer.md").read_text()
    recs = json.loads((export / "promo_reco" / "recommendations.json").read_text())
    assert len({r["customer_id"] for r in recs}) == 40
    assert {r["ranked_by"] for r in recs} <= {"llm", "fallback", "retrieval"}
    assert sum(r["ranked_by"] != "retrieval" for r in recs) == 3 * 5  # bounded LLM work
    assert (export / "promo_reco" / "recommendations.csv").exists()
    assert "<svg" in (export / "promo_reco" / "report.html").read_text()

    qa = _check_outcomes(env, "doc_qa_answer")
    reco = _check_outcomes(env, "promo_reco_rank")
    assert qa["retrieval_recall_at_5"] and qa["no_duplicate_vectors"], qa
    assert reco["retrieval_recall_at_5"] and reco["no_duplicate_vectors"], reco
    if wired:
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
