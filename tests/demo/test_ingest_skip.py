"""Unchanged work skipped by ingestion (llm_assets_demo.ingest), on real parts: the demo's
sources in a local data lake, MiniLM embeddings, pgvector in the embedded Postgres.

A second ingestion of unchanged sources embeds nothing and leaves vectors and manifest as
they are; a changed source is re-ingested with its old chunks replaced and nothing
duplicated (counted in the collection's table); an embedding-model or chunking change, a
dropped collection or `force` re-ingest everything."""

from __future__ import annotations

import json

import pytest

from llm_assets.backends.datalake import LocalDataLake
from llm_assets_demo import generate, ingest
from tests.support.pg import execute

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STREAM, COLLECTION = "doc_qa", "skip_test_chunks"
TXT = {"sys_nm": "doc_qa_txt", "file_type": "txt", "dlm": None, "chunk_size": 500,
       "overlap": 160}


@pytest.fixture
def parts(pg_url, tmp_path):
    from llm_assets.backends.embeddings import LocalEmbeddings
    from llm_assets.backends.vectorstore.pgvector import PgVectorStore

    lake = LocalDataLake(root=str(tmp_path / "datalake"))
    generate.upload(lake, (STREAM,), generate.scale("full"))  # two .txt sources
    return lake, LocalEmbeddings(), PgVectorStore(url=pg_url)


def _ingest(parts, sys_file=TXT, embed_model="all-minilm", force=False) -> dict:
    lake, embeddings, store = parts
    return ingest.ingest_documents(lake, embeddings, store, stream=STREAM, sys_file=sys_file,
                                   collection=COLLECTION, embed_model=embed_model,
                                   force=force)


def _table(pg_url) -> list[tuple]:
    """(id, doc, chunk_index, text) of every vector in the collection."""
    return execute(pg_url, f"SELECT id, doc, chunk_index, text FROM vec.{COLLECTION} "
                           "ORDER BY doc, chunk_index")


def _manifest(lake) -> dict:
    return json.loads(lake.get_text(ingest.MANIFEST.format(stream=STREAM, name="doc_qa_txt")))


def _no_duplicates(pg_url, lake) -> None:
    rows = _table(pg_url)
    assert len(rows) == len({r[0] for r in rows}) == len({(r[1], r[2]) for r in rows})
    manifest = _manifest(lake)
    assert sorted((c["id"], c["doc"], c["index"], c["text"]) for c in manifest["chunks"]) \
        == sorted(rows)  # the collection holds exactly the manifest's chunks


def test_unchanged_sources_are_skipped_and_a_changed_one_replaced(parts, pg_url):
    lake = parts[0]
    first = _ingest(parts)
    sources = first["documents"]
    assert sources >= 2 and first["skipped"] == 0 and first["upserted"] == first["chunks"]
    vectors = _table(pg_url)
    assert len(vectors) == first["chunks"]
    manifest = lake.get_text(ingest.MANIFEST.format(stream=STREAM, name="doc_qa_txt"))

    # 1. nothing changed: nothing chunked, embedded or written to the collection
    second = _ingest(parts)
    assert (second["skipped"], second["ingested"], second["upserted"]) == (sources, 0, 0)
    assert second["message"] == f"0 source(s) ingested (0 chunk(s) embedded), " \
                                f"{sources} unchanged source(s) skipped"
    assert _table(pg_url) == vectors
    assert json.loads(lake.get_text(ingest.MANIFEST.format(stream=STREAM, name="doc_qa_txt"))
                      )["chunks"] == json.loads(manifest)["chunks"]

    # 2. one source grows: only it is re-ingested; 3. it shrinks: its extra chunks go
    key = sorted(k for k in lake.list(f"raw/{STREAM}/txt/"))[0]
    original = lake.get_bytes(key)
    lake.put_bytes(key, original + b"\n\nA new paragraph about card disputes. " * 40)
    grown = _ingest(parts)
    assert (grown["skipped"], grown["ingested"]) == (sources - 1, 1)
    before = sum(1 for r in vectors if r[1] == key)
    after = [r for r in _table(pg_url) if r[1] == key]
    assert len(after) > before and grown["upserted"] == len(after)
    _no_duplicates(pg_url, lake)
    assert [r for r in _table(pg_url) if r[1] != key] == [r for r in vectors if r[1] != key]

    lake.put_bytes(key, original[: len(original) // 3])
    shrunk = _ingest(parts)
    assert (shrunk["skipped"], shrunk["ingested"]) == (sources - 1, 1)
    assert 0 < len([r for r in _table(pg_url) if r[1] == key]) < before
    _no_duplicates(pg_url, lake)


@pytest.mark.parametrize("change", ["embed_model", "chunking", "dropped", "force"])
def test_what_forces_re_ingestion(parts, pg_url, change):
    first = _ingest(parts)
    kwargs: dict = {}
    if change == "embed_model":  # another model name (here mapped to the same local model)
        kwargs["embed_model"] = "nomic-embed-text"
    elif change == "chunking":
        kwargs["sys_file"] = {**TXT, "overlap": 100}
    elif change == "dropped":
        parts[2].drop_collection(COLLECTION)
    else:
        kwargs["force"] = True
    again = _ingest(parts, **kwargs)
    assert (again["skipped"], again["ingested"]) == (0, first["documents"]), again
    assert again["upserted"] == again["chunks"]
    _no_duplicates(pg_url, parts[0])
    # and once more with the same settings: all skipped again
    assert _ingest(parts, **{k: v for k, v in kwargs.items() if k != "force"})["skipped"] \
        == first["documents"]


@pytest.mark.e2e
def test_the_log_row_says_how_many_sources_were_skipped(pg_url, tmp_path):
    """`llm-assets run` twice on the doc_qa stream reduced to landing and .txt ingestion."""
    from tests.support.pg import prepare
    from tests.support.project import project_env, run

    prepare(pg_url, "002_demo_doc_qa.sql")
    execute(pg_url, "UPDATE cntl_af.cntl_cfg_prcs SET act_f = 0 WHERE prcs_nm IN "
                    "('doc_qa_ingest_pdf', 'doc_qa_ingest_csv', 'doc_qa_answer')")
    env = project_env(pg_url, tmp_path, LLM_ASSETS_DEMO_SCALE="full")
    messages = []
    for _ in range(2):
        proc = run(["llm-assets", "run", "doc_qa"], env, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        run_id = proc.stdout.split(" run ")[1].split()[0]
        messages.append(execute(pg_url, "SELECT status, source_row, message FROM "
                                        "cntl_af.cntl_cfg_log WHERE run_id = %s AND prcs_nm "
                                        "= 'doc_qa_ingest_txt'", (run_id,))[0])
    vectors = execute(pg_url, "SELECT count(*), count(DISTINCT id) FROM vec.doc_qa_chunks")[0]
    assert messages[0][:2] == messages[1][:2] == (0, 2)  # succeeded, 2 sources each time
    assert messages[0][2].startswith("2 source(s) ingested (") and \
        messages[0][2].endswith(", 0 unchanged source(s) skipped"), messages
    assert messages[1][2] == ("0 source(s) ingested (0 chunk(s) embedded), 2 unchanged "
                              "source(s) skipped"), messages
    assert vectors[0] == vectors[1] > 0  # nothing duplicated
