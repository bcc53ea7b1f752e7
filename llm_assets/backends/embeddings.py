"""Embeddings resources: one interface, two backends.

    embed(texts, model=None) -> list[list[float]]
    dimension(model=None) -> int

`model` is the process's `embed_model` (an Ollama name).  `OllamaEmbeddings` sends it to
Ollama; `LocalEmbeddings` maps it to a local sentence-transformers model (see
`llm_assets.backends.model_map`, default all-MiniLM-L6-v2, 384-d, fully offline) and logs the
substitution once per run.  Models and clients are created on first use, never at import.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from llm_assets.backends import model_map
from llm_assets.backends.service_calls import call_ollama, ollama_client, with_retries
from llm_assets.core.errors import ConfigError


class _RunAware(dg.ConfigurableResource):
    """Remembers the run id and logger for once-per-run substitution reports."""

    _run_id: str = PrivateAttr(default="")
    _logger: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run_id = context.run.run_id if context.run else ""
        self._logger = context.log


class LocalEmbeddings(_RunAware):
    """sentence-transformers in-process, offline (HF_HUB_OFFLINE=1)."""

    model: str | None = Field(
        default=None, description="Local alias or path; default: map the process's embed_model")
    device: str = Field(default="cpu", description="torch device")
    batch_size: int = Field(default=64, gt=0)
    normalize: bool = Field(default=True, description="unit-length vectors (cosine)")

    _models: dict = PrivateAttr(default_factory=dict)

    def _load(self, requested: str | None):
        if self.model:
            name, path = self.model, model_map.local_path(self.model)
        else:
            name, path = model_map.resolve_local(requested, "embed", self._run_id, self._logger)
        if name not in self._models:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            self._models[name] = SentenceTransformer(str(path), device=self.device)
        return self._models[name]

    def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        if not texts:
            return []
        st = self._load(model)
        vectors = st.encode(list(texts), batch_size=self.batch_size,
                            normalize_embeddings=self.normalize, convert_to_numpy=True,
                            show_progress_bar=False)
        return vectors.tolist()

    def dimension(self, model: str | None = None) -> int:
        return _dimension_of(self._load(model))


class OllamaEmbeddings(_RunAware):
    """Ollama `/api/embed` through the `ollama` client."""

    host: str = Field(default="http://localhost:11434", description="Ollama server URL")
    model: str | None = Field(default=None, description="used when the process has none")
    timeout_seconds: float = Field(default=120.0, gt=0)
    retries: int = Field(default=2, ge=0, description="retries on 5xx/timeout")
    backoff_seconds: float = Field(default=1.0, ge=0)
    batch_size: int = Field(default=64, gt=0)

    _client: Any = PrivateAttr(default=None)
    _dims: dict = PrivateAttr(default_factory=dict)

    def _model(self, model: str | None) -> str:
        chosen = model or self.model
        if not chosen:
            raise ConfigError("no embedding model: set the process's embed_model column or "
                              "the OllamaEmbeddings resource's `model`")
        return chosen

    def _get_client(self):
        if self._client is None:
            self._client = ollama_client(self.host, self.timeout_seconds)
        return self._client

    def _embed_batch(self, batch: list[str], model: str) -> list[list[float]]:
        def once(_attempt: int):
            return call_ollama(self.host, model, "embed",
                               lambda: self._get_client().embed(model=model, input=batch),
                               self.timeout_seconds)

        response = with_retries(once, retries=self.retries, backoff_seconds=self.backoff_seconds,
                                what=f"Ollama embed at {self.host} ({model})")
        return [list(v) for v in response.embeddings]

    def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        name = self._model(model)
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(self._embed_batch(list(texts[start:start + self.batch_size]), name))
        if out:
            self._dims[name] = len(out[0])
        return out

    def dimension(self, model: str | None = None) -> int:
        name = self._model(model)
        if name not in self._dims:
            self.embed(["dimension probe"], name)
        return self._dims[name]


def _dimension_of(st) -> int:
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return int(getter())
