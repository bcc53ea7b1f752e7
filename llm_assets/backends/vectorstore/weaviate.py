"""The Weaviate backend of the vector store (compose profile), weaviate-client v4.

Same interface as `PgVectorStore` (see `llm_assets.backends.vectorstore.pgvector`).  A collection
`my_docs` is the Weaviate collection `My_docs` (Weaviate capitalises names) with
self-provided vectors in an HNSW cosine index and the properties `doc`, `chunk_index`, `text`,
`metadata` (JSON text) plus `meta_<key>` for each scalar metadata value (filterable).  The
dimension is recorded in the collection's description, so a mismatch is caught before
Weaviate sees a vector.  Imports go through `insert_many` (one batch request per
`batch_size` objects, upsert by chunk id); every per-object error is raised, none swallowed.
Weaviate has no transactions: `replace_docs=True` deletes a document's chunks, then inserts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field, PrivateAttr

from llm_assets.backends.vectorstore.base import (
    Hit,
    VectorStoreError,
    check_name,
    check_vectors,
    mismatch,
)
from llm_assets.core.chunking import Chunk
from llm_assets.core.errors import ConfigError, ServiceUnavailable

_DIM = re.compile(r"llm_assets dim=(\d+)")


def weaviate_name(name: str) -> str:
    check_name(name)
    return name[0].upper() + name[1:]


def properties_of(chunk: Chunk) -> dict:
    props = {"doc": chunk.doc, "chunk_index": chunk.index, "text": chunk.text,
             "metadata": json.dumps(chunk.metadata, sort_keys=True)}
    for key, value in chunk.metadata.items():
        if isinstance(value, str | int | float | bool) and re.match(r"^[A-Za-z_]\w*$", key):
            props[f"meta_{key}"] = value
    return props


def build_filter(filters: dict | None):
    """`{"doc": "a.pdf", "page": [1, 2]}` -> a Weaviate Filter (AND of equal / any-of)."""
    if not filters:
        return None
    from weaviate.classes.query import Filter

    parts = []
    for key, value in filters.items():
        prop = Filter.by_property("doc" if key == "doc" else f"meta_{key}")
        if isinstance(value, list | tuple | set):
            parts.append(prop.contains_any(list(value)))
        else:
            parts.append(prop.equal(value))
    return Filter.all_of(parts) if len(parts) > 1 else parts[0]


def hit_of(obj, score: float) -> Hit:
    props = obj.properties
    return Hit(id=str(obj.uuid), doc=props["doc"], index=int(props["chunk_index"]),
               text=props["text"], metadata=json.loads(props.get("metadata") or "{}"),
               score=float(score))


class WeaviateVectorStore(dg.ConfigurableResource):
    """Weaviate through weaviate-client v4; the client is opened on first use."""

    url: str = Field(default="http://localhost:8080", description="Weaviate HTTP URL")
    grpc_port: int = Field(default=50051)
    api_key: str | None = Field(default=None, description="give as dg.EnvVar")
    timeout_seconds: float = Field(default=60.0, gt=0)
    batch_size: int = Field(default=200, gt=0)

    _client: Any = PrivateAttr(default=None)

    def _connect(self):
        import weaviate
        from weaviate.classes.init import AdditionalConfig, Auth, Timeout

        parsed = urlparse(self.url)
        if not parsed.hostname:
            raise ConfigError(f"Weaviate URL {self.url!r} has no host; use http://host:8080")
        secure = parsed.scheme == "https"
        try:
            return weaviate.connect_to_custom(
                http_host=parsed.hostname, http_port=parsed.port or (443 if secure else 80),
                http_secure=secure, grpc_host=parsed.hostname, grpc_port=self.grpc_port,
                grpc_secure=secure,
                auth_credentials=Auth.api_key(self.api_key) if self.api_key else None,
                additional_config=AdditionalConfig(timeout=Timeout(
                    init=self.timeout_seconds, query=self.timeout_seconds,
                    insert=self.timeout_seconds)))
        except weaviate.exceptions.WeaviateBaseError as exc:
            raise ServiceUnavailable(
                f"cannot reach Weaviate at {self.url} (gRPC port {self.grpc_port}): {exc}. "
                "Start it (`docker compose up weaviate`) or fix the resource's url (WEAVIATE_URL "
                "in the compose profile)") from exc

    def client(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _collection(self, name: str):
        return self.client().collections.get(weaviate_name(name))

    def built_dimension(self, name: str) -> int | None:
        collections = self.client().collections
        if not collections.exists(weaviate_name(name)):
            return None
        description = collections.get(weaviate_name(name)).config.get().description or ""
        found = _DIM.search(description)
        return int(found.group(1)) if found else None

    def ensure_collection(self, name: str, dim: int) -> None:
        from weaviate.classes.config import Configure, DataType, Property, VectorDistances

        built = self.built_dimension(name)
        if built is not None:
            if built != dim:
                raise mismatch(name, built, dim, "Weaviate")
            return
        if self.client().collections.exists(weaviate_name(name)):
            return  # created outside llm_assets: no recorded dimension to check
        self.client().collections.create(
            weaviate_name(name), description=f"llm_assets dim={int(dim)}",
            properties=[Property(name="doc", data_type=DataType.TEXT),
                        Property(name="chunk_index", data_type=DataType.INT),
                        Property(name="text", data_type=DataType.TEXT),
                        Property(name="metadata", data_type=DataType.TEXT,
                                 skip_vectorization=True, index_searchable=False)],
            vector_config=Configure.Vectors.self_provided(
                vector_index_config=Configure.VectorIndex.hnsw(
                    distance_metric=VectorDistances.COSINE)))

    def upsert(self, name: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]],
               replace_docs: bool = False) -> int:
        from weaviate.classes.data import DataObject

        dim = check_vectors(name, chunks, vectors)
        if not chunks:
            return 0
        self.ensure_collection(name, dim)
        if replace_docs:
            for doc in sorted({c.doc for c in chunks}):
                self.delete_doc(name, doc)
        collection = self._collection(name)
        for start in range(0, len(chunks), self.batch_size):
            objects = [DataObject(properties=properties_of(c), uuid=c.id, vector=list(v))
                       for c, v in zip(chunks[start:start + self.batch_size],
                                       vectors[start:start + self.batch_size])]
            result = collection.data.insert_many(objects)
            if result.errors:
                shown = "; ".join(f"chunk {objects[i].uuid}: {err.message}"
                                  for i, err in sorted(result.errors.items())[:5])
                raise VectorStoreError(
                    f"Weaviate at {self.url} rejected {len(result.errors)} of {len(objects)} "
                    f"objects for collection {name!r}: {shown}")
        return len(chunks)

    def delete_doc(self, name: str, doc: str) -> int:
        from weaviate.classes.query import Filter

        result = self._collection(name).data.delete_many(where=Filter.by_property("doc")
                                                         .equal(doc))
        if result.failed:
            raise VectorStoreError(f"Weaviate at {self.url} failed to delete {result.failed} "
                                   f"chunks of document {doc!r} in collection {name!r}")
        return int(result.successful)

    def count(self, name: str) -> int:
        return int(self._collection(name).aggregate.over_all(total_count=True).total_count)

    def drop_collection(self, name: str) -> None:
        self.client().collections.delete(weaviate_name(name))

    def _check_query(self, name: str, vector: Sequence[float]) -> None:
        built = self.built_dimension(name)
        if built is not None and built != len(vector):
            raise mismatch(name, built, len(vector), "Weaviate")

    def search(self, name: str, vector: Sequence[float], k: int = 5,
               filters: dict | None = None) -> list[Hit]:
        from weaviate.classes.query import MetadataQuery

        self._check_query(name, vector)
        response = self._collection(name).query.near_vector(
            near_vector=list(vector), limit=k, filters=build_filter(filters),
            return_metadata=MetadataQuery(distance=True))
        return [hit_of(o, 1 - (o.metadata.distance or 0.0)) for o in response.objects]

    def hybrid_search(self, name: str, query_text: str, vector: Sequence[float], k: int = 5,
                      alpha: float = 0.5, filters: dict | None = None) -> list[Hit]:
        from weaviate.classes.query import HybridFusion, MetadataQuery

        if not 0 <= alpha <= 1:
            raise ConfigError(f"hybrid_search alpha={alpha} must lie in [0, 1]")
        self._check_query(name, vector)
        response = self._collection(name).query.hybrid(
            query=query_text, vector=list(vector), alpha=alpha, limit=k,
            query_properties=["text"], fusion_type=HybridFusion.RELATIVE_SCORE,
            filters=build_filter(filters), return_metadata=MetadataQuery(score=True))
        return [hit_of(o, o.metadata.score or 0.0) for o in response.objects]
