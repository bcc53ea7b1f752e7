"""WeaviateVectorStore: unit tests of what it sends (fake client capturing calls) and an
integration test against a real server when WEAVIATE_URL is set (none on the CI machine)."""

from __future__ import annotations

import os
import uuid
from types import SimpleNamespace

import pytest
from weaviate.classes.data import DataObject

from llm_assets.backends.vectorstore.base import DimensionMismatch, VectorStoreError
from llm_assets.backends.vectorstore.weaviate import (
    WeaviateVectorStore,
    build_filter,
    weaviate_name,
)
from llm_assets.core.chunking import Chunk, chunk_id
from llm_assets.core.errors import ConfigError


def _chunks(doc: str, n: int) -> list[Chunk]:
    return [Chunk(id=chunk_id(doc, i, f"t{i}"), doc=doc, index=i, text=f"text {i}",
                  metadata={"page": i, "tags": ["x"]}) for i in range(n)]


class FakeCollection:
    def __init__(self, description: str, fail_index: int | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.description = description
        self.fail_index = fail_index
        self.config = SimpleNamespace(get=lambda: SimpleNamespace(description=self.description))
        self.data = SimpleNamespace(insert_many=self._insert_many, delete_many=self._delete_many)
        self.query = SimpleNamespace(near_vector=self._query("near_vector"),
                                     hybrid=self._query("hybrid"))
        self.aggregate = SimpleNamespace(over_all=lambda **kw: SimpleNamespace(total_count=7))

    def _insert_many(self, objects):
        self.calls.append(("insert_many", {"objects": objects}))
        errors = {}
        if self.fail_index is not None and self.fail_index < len(objects):
            errors[self.fail_index] = SimpleNamespace(message="vector lengths don't match")
        return SimpleNamespace(errors=errors, has_errors=bool(errors))

    def _delete_many(self, where):
        self.calls.append(("delete_many", {"where": where}))
        return SimpleNamespace(failed=0, successful=2, matches=2)

    def _query(self, kind):
        def run(**kwargs):
            self.calls.append((kind, kwargs))
            obj = SimpleNamespace(
                uuid=uuid.UUID(int=1), properties={"doc": "a", "chunk_index": 0, "text": "hi",
                                                   "metadata": '{"page": 0}'},
                metadata=SimpleNamespace(distance=0.25, score=0.8))
            return SimpleNamespace(objects=[obj])
        return run


class FakeClient:
    def __init__(self, collection: FakeCollection | None):
        self.collection = collection
        self.created: list[tuple] = []
        self.collections = SimpleNamespace(
            exists=lambda name: self.collection is not None,
            get=lambda name: self.collection, create=self._create)

    def _create(self, name, **kwargs):
        self.created.append((name, kwargs))
        self.collection = FakeCollection(kwargs["description"])


def _store(collection=None, **kwargs) -> tuple[WeaviateVectorStore, FakeClient]:
    store = WeaviateVectorStore(url="http://weaviate.test:8080", **kwargs)
    client = FakeClient(collection)
    store._client = client
    return store, client


@pytest.mark.unit
def test_ensure_collection_creates_self_provided_cosine_hnsw():
    store, client = _store()
    store.ensure_collection("my_docs", 384)
    name, kwargs = client.created[0]
    assert name == "My_docs" and kwargs["description"] == "llm_assets dim=384"
    assert [p.name for p in kwargs["properties"]] == ["doc", "chunk_index", "text", "metadata"]
    vector = kwargs["vector_config"]
    assert vector.vectorizer.vectorizer.value == "none"
    assert vector.vectorIndexConfig.distance.value == "cosine"


@pytest.mark.unit
def test_upsert_sends_batches_with_deterministic_uuids_and_vectors():
    store, client = _store(FakeCollection("llm_assets dim=2"), batch_size=2)
    chunks = _chunks("a.pdf", 3)
    assert store.upsert("docs", chunks, [[1.0, 0.0]] * 3, replace_docs=True) == 3
    calls = client.collection.calls
    assert calls[0][0] == "delete_many"  # replace_docs: old chunks of a.pdf go first
    batches = [c[1]["objects"] for c in calls if c[0] == "insert_many"]
    assert [len(b) for b in batches] == [2, 1]
    first: DataObject = batches[0][0]
    assert first.uuid == chunks[0].id and first.vector == [1.0, 0.0]
    assert first.properties == {"doc": "a.pdf", "chunk_index": 0, "text": "text 0",
                                "metadata": '{"page": 0, "tags": ["x"]}', "meta_page": 0}


@pytest.mark.unit
def test_per_object_errors_are_raised_not_swallowed():
    store, _ = _store(FakeCollection("llm_assets dim=2", fail_index=1))
    with pytest.raises(VectorStoreError, match=r"rejected 1 of 2 .*'docs'.*vector lengths"):
        store.upsert("docs", _chunks("a", 2), [[1.0, 0.0]] * 2)


@pytest.mark.unit
def test_dimension_mismatch_before_anything_is_sent():
    collection = FakeCollection("llm_assets dim=1024")
    store, _ = _store(collection)
    with pytest.raises(DimensionMismatch, match=r"'docs'.*1024-dimensional.*384-dimensional"):
        store.upsert("docs", _chunks("a", 1), [[0.0] * 384])
    with pytest.raises(DimensionMismatch):
        store.search("docs", [0.0] * 384)
    assert collection.calls == []


@pytest.mark.unit
def test_search_and_hybrid_requests():
    collection = FakeCollection("llm_assets dim=2")
    store, _ = _store(collection)
    hits = store.search("docs", [1.0, 0.0], k=3, filters={"doc": "a"})
    assert hits[0].score == pytest.approx(0.75) and hits[0].metadata == {"page": 0}
    kind, kwargs = collection.calls[-1]
    assert kind == "near_vector" and kwargs["limit"] == 3 and kwargs["near_vector"] == [1.0, 0.0]
    assert kwargs["filters"].target == "doc" and kwargs["filters"].value == "a"
    store.hybrid_search("docs", "refund", [1.0, 0.0], k=2, alpha=0.3, filters={"page": [1, 2]})
    kind, kwargs = collection.calls[-1]
    assert kind == "hybrid" and kwargs["alpha"] == 0.3 and kwargs["query"] == "refund"
    assert kwargs["query_properties"] == ["text"] and kwargs["fusion_type"].name == "RELATIVE_SCORE"
    assert kwargs["filters"].target == "meta_page" and kwargs["filters"].value == [1, 2]
    assert store.count("docs") == 7 and store.delete_doc("docs", "a") == 2


@pytest.mark.unit
def test_names_and_filters():
    assert weaviate_name("faq_v2") == "Faq_v2"
    with pytest.raises(ConfigError, match="collection name"):
        weaviate_name("Faq")
    both = build_filter({"doc": "a", "page": 1})
    assert len(both.filters) == 2
    assert build_filter(None) is None


@pytest.mark.unit
def test_unreachable_weaviate_names_the_url():
    from llm_assets.core.errors import ServiceUnavailable

    store = WeaviateVectorStore(url="http://127.0.0.1:9", grpc_port=10, timeout_seconds=2)
    with pytest.raises(ServiceUnavailable, match=r"127.0.0.1:9.*docker compose up weaviate"):
        store.count("docs")


@pytest.mark.integration
@pytest.mark.weaviate
@pytest.mark.skipif(not os.environ.get("WEAVIATE_URL"), reason="needs a Weaviate server: "
                    "set WEAVIATE_URL (and WEAVIATE_GRPC_PORT); the CI machine has none")
def test_weaviate_for_real():
    store = WeaviateVectorStore(url=os.environ["WEAVIATE_URL"],
                                grpc_port=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")))
    name = "llm_assets_test_" + uuid.uuid4().hex[:8]
    try:
        chunks = [Chunk(id=chunk_id("a.md", i, t), doc="a.md", index=i, text=t,
                        metadata={"page": i})
                  for i, t in enumerate(["warranty two years", "shipping five days"])]
        vectors = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        store.upsert(name, chunks, vectors, replace_docs=True)
        store.upsert(name, chunks, vectors)
        assert store.count(name) == 2
        assert store.search(name, [0.0, 1.0, 0.0], k=1)[0].text == "shipping five days"
        assert store.search(name, [1.0, 0.0, 0.0], k=2, filters={"page": 1})[0].index == 1
        assert store.hybrid_search(name, "warranty", [0.0, 1.0, 0.0], k=1, alpha=0.0)[0].index == 0
        with pytest.raises(DimensionMismatch):
            store.upsert(name, chunks[:1], [[1.0, 0.0]])
        assert store.delete_doc(name, "a.md") == 2 and store.count(name) == 0
    finally:
        store.drop_collection(name)
        store.close()
