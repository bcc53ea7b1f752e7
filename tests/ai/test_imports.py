"""No I/O and no heavy client at import: models and clients are created on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_importing_the_ai_modules_loads_no_backend():
    code = (
        "import sys\n"
        "import llm_assets.ai.chunking, llm_assets.ai.models, llm_assets.resources.embeddings\n"
        "import llm_assets.resources.llm, llm_assets.resources.vectorstore\n"
        "import llm_assets.resources.weaviate_store\n"
        "heavy = {'torch', 'sentence_transformers', 'llama_cpp', 'weaviate', 'ollama',"
        " 'psycopg2', 'pypdf'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_llm_pool_name():
    from llm_assets.ai import LLM_POOL

    assert LLM_POOL == "llm"
