"""PgVectorStore against the real embedded PostgreSQL 18 + pgvector."""

from __future__ import annotations

import math
import random

import psycopg2
import pytest

from llm_assets.backends.vectorstore.base import DimensionMismatch, fuse
from llm_assets.backends.vectorstore.pgvector import PgVectorStore
from llm_assets.core.chunking import Chunk, chunk_bytes, chunk_id
from llm_assets.core.errors import ConfigError

pytestmark = pytest.mark.integration


def _unit(values):
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _axis(i: int, dim: int = 4, noise: float = 0.0) -> list[float]:
    rng = random.Random(i)
    return _unit([(1.0 if j == i % dim else 0.0) + noise * rng.random() for j in range(dim)])


def _chunks(doc: str, texts: list[str], **meta) -> list[Chunk]:
    return [Chunk(id=chunk_id(doc, i, t), doc=doc, index=i, text=t, metadata=dict(meta))
            for i, t in enumerate(texts)]


@pytest.fixture
def store(pg_url) -> PgVectorStore:
    return PgVectorStore(url=pg_url)


def test_collection_table_indexes_and_search(store, pg_url):
    chunks = _chunks("a.txt", ["red apples", "green pears", "blue berries", "yellow bananas"],
                     lang="en")
    assert store.upsert("fruit", chunks, [_axis(i) for i in range(4)]) == 4
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'vec' "
                    "AND tablename = 'fruit'")
        defs = " ".join(r[0] for r in cur.fetchall())
    assert "hnsw (embedding vector_cosine_ops)" in defs and "gin (tsv)" in defs
    hits = store.search("fruit", _axis(2), k=2)
    assert hits[0].text == "blue berries" and hits[0].score == pytest.approx(1.0)
    assert hits[0].metadata == {"lang": "en"} and hits[0].doc == "a.txt" and hits[0].index == 2
    assert store.count("fruit") == 4


def test_reingest_replaces_and_never_duplicates(store):
    text = ("Returns are accepted within thirty days of purchase. " * 30).encode()
    chunks = chunk_bytes(text, doc="policy.txt", file_type="txt", chunk_size=200, overlap=20,
                         collection="docs")
    vectors = [_axis(i, 8, 0.1) for i in range(len(chunks))]
    store.upsert("docs", chunks, vectors, replace_docs=True)
    first = store.count("docs")
    assert first == len(chunks) > 3
    store.upsert("docs", chunks, vectors, replace_docs=True)
    store.upsert("docs", chunks, vectors)
    assert store.count("docs") == first
    # the file shrinks: replace_docs leaves exactly the new chunks
    fewer = chunk_bytes(text[:500], doc="policy.txt", file_type="txt", chunk_size=200,
                        overlap=20, collection="docs")
    store.upsert("docs", fewer, vectors[: len(fewer)], replace_docs=True)
    assert store.count("docs") == len(fewer)


def test_delete_doc_and_filters(store):
    store.upsert("kb", _chunks("a.md", ["alpha one", "alpha two"], page=1)
                 + _chunks("b.md", ["beta one", "beta two"], page=2),
                 [_axis(0, 4, 0.2), _axis(1, 4, 0.2), _axis(0, 4, 0.3), _axis(1, 4, 0.3)])
    only_b = store.search("kb", _axis(0), k=5, filters={"doc": "b.md"})
    assert {h.doc for h in only_b} == {"b.md"} and len(only_b) == 2
    assert {h.doc for h in store.search("kb", _axis(0), k=5, filters={"page": 1})} == {"a.md"}
    assert len(store.search("kb", _axis(0), k=5, filters={"page": [1, 2]})) == 4
    assert len(store.search("kb", _axis(0), k=5, filters={"doc": ["a.md", "b.md"]})) == 4
    assert store.delete_doc("kb", "a.md") == 2
    assert store.count("kb") == 2


def test_hybrid_search_mixes_keyword_and_vector(store):
    texts = ["the warranty covers two years", "shipping takes five days",
             "refunds are issued to the card", "gift cards never expire"]
    store.upsert("faq", _chunks("faq.md", texts), [_axis(i) for i in range(4)])
    # the vector points at "shipping", the words at "warranty"
    keyword = store.hybrid_search("faq", "warranty years", _axis(1), k=2, alpha=0.0)
    vector = store.hybrid_search("faq", "warranty years", _axis(1), k=2, alpha=1.0)
    mixed = store.hybrid_search("faq", "warranty years", _axis(1), k=4, alpha=0.5)
    assert keyword[0].text.startswith("the warranty")
    assert vector[0].text.startswith("shipping")
    assert {mixed[0].text, mixed[1].text} == {texts[0], texts[1]}
    assert store.keyword_search("faq", "refund", k=3)[0].text == texts[2]  # stemming
    with pytest.raises(ConfigError, match="alpha"):
        store.hybrid_search("faq", "x", _axis(1), alpha=2)


def test_dimension_mismatch_names_collection_and_both_dimensions(store):
    store.ensure_collection("dims", 4)
    store.ensure_collection("dims", 4)  # idempotent
    with pytest.raises(DimensionMismatch, match=r"'dims'.*4-dimensional.*3-dimensional"):
        store.upsert("dims", _chunks("a", ["x"]), [[0.1, 0.2, 0.3]])
    fresh = PgVectorStore(url=store.url)  # no cached dimension: read from the table
    with pytest.raises(DimensionMismatch, match=r"'dims'.*4-dimensional.*384-dimensional"):
        fresh.search("dims", [0.0] * 384)
    with pytest.raises(DimensionMismatch):
        fresh.ensure_collection("dims", 8)


@pytest.mark.parametrize("name", ["Bad", "1abc", "a-b", "x" * 64, 'a"; drop table x; --'])
def test_collection_names_are_validated(store, name):
    with pytest.raises(ConfigError, match="collection name"):
        store.ensure_collection(name, 4)


def test_missing_collection_and_bad_input_are_clear(store):
    with pytest.raises(ConfigError, match="'nothere' does not exist"):
        store.count("nothere")
    with pytest.raises(ConfigError, match="2 chunks but 1 vectors"):
        store.upsert("c", _chunks("a", ["x", "y"]), [[1.0, 0.0]])


def test_fuse_is_relative_score_fusion():
    from llm_assets.backends.vectorstore.base import Hit

    v = [Hit("a", "d", 0, "a", 0.9), Hit("b", "d", 1, "b", 0.5)]
    k = [Hit("b", "d", 1, "b", 3.0), Hit("c", "d", 2, "c", 1.0)]
    fused = fuse(v, k, alpha=0.5, k=3)
    assert [h.id for h in fused] == ["a", "b", "c"]  # ties broken by id: deterministic
    assert {h.id: round(h.score, 3) for h in fused} == {"a": 0.5, "b": 0.5, "c": 0.0}
