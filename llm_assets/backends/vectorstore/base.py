"""The vector store interface, shared by its two backends (pgvector, Weaviate).

    ensure_collection(name, dim)          create if missing; a different dim is an error
    upsert(name, chunks, vectors, replace_docs=False) -> int   idempotent by chunk id
    delete_doc(name, doc) -> int
    search(name, vector, k=5, filters=None) -> list[Hit]        cosine similarity
    hybrid_search(name, query_text, vector, k=5, alpha=0.5, filters=None) -> list[Hit]
    count(name) -> int

`name` is the process's `collection` column: ^[a-z][a-z0-9_]{0,62}$.  `filters` maps `doc`
or a chunk-metadata key to a value (or a list of values).  `replace_docs=True` also removes
chunks of the upserted documents that the new chunking no longer produces, so re-ingesting a
changed file leaves exactly its new chunks.  `alpha` weighs the vector side (1 = vector only,
0 = keyword only), as in Weaviate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from llm_assets.core.chunking import Chunk
from llm_assets.core.errors import ConfigError, LlmAssetsError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class DimensionMismatch(ConfigError):
    """Vectors of one dimension sent to a collection built with another."""


class VectorStoreError(LlmAssetsError):
    """The vector store rejected objects; the message lists them."""


@dataclass(frozen=True)
class Hit:
    id: str
    doc: str
    index: int
    text: str
    score: float
    metadata: dict = field(default_factory=dict)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"collection name {name!r} is invalid: use lowercase letters, digits "
                          "and '_', starting with a letter, at most 63 characters "
                          "(fix the process's `collection` column)")
    return name


def mismatch(name: str, built: int, given: int, backend: str) -> DimensionMismatch:
    return DimensionMismatch(
        f"{backend} collection {name!r} was built with {built}-dimensional vectors but got "
        f"{given}-dimensional ones: the process's embed_model differs from the one that built "
        f"it. Use the same embed_model, or drop the collection and re-ingest.")


def check_vectors(name: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> int:
    if len(chunks) != len(vectors):
        raise ConfigError(f"collection {name!r}: {len(chunks)} chunks but {len(vectors)} "
                          "vectors; embed every chunk once")
    dims = {len(v) for v in vectors}
    if len(dims) > 1:
        raise ConfigError(f"collection {name!r}: vectors of mixed dimensions {sorted(dims)}")
    return dims.pop() if dims else 0


def fuse(vector_hits: list[Hit], keyword_hits: list[Hit], alpha: float, k: int) -> list[Hit]:
    """Relative-score fusion (Weaviate's default): min-max normalise each list, then
    score = alpha * vector + (1 - alpha) * keyword."""

    def normalised(hits: list[Hit]) -> dict[str, float]:
        if not hits:
            return {}
        lo, hi = min(h.score for h in hits), max(h.score for h in hits)
        return {h.id: 1.0 if hi == lo else (h.score - lo) / (hi - lo) for h in hits}

    vec, kw = normalised(vector_hits), normalised(keyword_hits)
    by_id = {h.id: h for h in keyword_hits + vector_hits}
    scored = {i: alpha * vec.get(i, 0.0) + (1 - alpha) * kw.get(i, 0.0) for i in by_id}
    best = sorted(scored, key=lambda i: (-scored[i], i))[:k]
    return [Hit(**{**by_id[i].__dict__, "score": scored[i]}) for i in best]


class VectorStore(Protocol):
    """What process notebooks call on `context.resources.vectorstore`, whatever the backend."""

    def ensure_collection(self, name: str, dim: int) -> None: ...

    def upsert(self, name: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]],
               replace_docs: bool = False) -> int: ...

    def delete_doc(self, name: str, doc: str) -> int: ...

    def count(self, name: str) -> int: ...

    def drop_collection(self, name: str) -> None: ...

    def search(self, name: str, vector: Sequence[float], k: int = 5,
               filters: dict | None = None) -> list[Hit]: ...

    def hybrid_search(self, name: str, query_text: str, vector: Sequence[float], k: int = 5,
                      alpha: float = 0.5, filters: dict | None = None) -> list[Hit]: ...
