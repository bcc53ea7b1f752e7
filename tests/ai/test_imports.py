"""No I/O and no heavy client at import: models and clients are created on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_importing_the_ai_modules_loads_no_backend():
    code = (
        "import sys\n"
        "import llm_assets.core.chunking, llm_assets.backends.model_map\n"
        "import llm_assets.backends.embeddings\n"
        "import llm_assets.backends.llm, llm_assets.backends.vectorstore.pgvector\n"
        "import llm_assets.backends.vectorstore.weaviate\n"
        "heavy = {'torch', 'sentence_transformers', 'llama_cpp', 'weaviate', 'ollama',"
        " 'psycopg2', 'pypdf'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_llm_pool_name():
    from llm_assets.core.names import LLM_POOL

    assert LLM_POOL == "llm"
