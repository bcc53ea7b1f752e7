"""Fixtures of the AI-service tests: an Ollama-API server, the shipped local models."""

from __future__ import annotations

import pytest

from tests.support.ollama_server import OllamaTestServer


@pytest.fixture
def ollama_server():
    server = OllamaTestServer(slow_seconds=2.0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def local_embeddings():
    from llm_assets.backends.embeddings import LocalEmbeddings

    return LocalEmbeddings()


@pytest.fixture(scope="session")
def local_llm():
    from llm_assets.backends.llm import LocalLLM

    return LocalLLM(max_tokens=200)
