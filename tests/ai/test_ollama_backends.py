"""The Ollama backends with the real `ollama` client against an Ollama-API test server."""

from __future__ import annotations

import json

import ollama
import pytest
from pydantic import BaseModel

from llm_assets.backends.embeddings import OllamaEmbeddings
from llm_assets.backends.llm import InvalidModelOutput, OllamaLLM
from llm_assets.backends.service_calls import ModelNotFound
from llm_assets.core.errors import ConfigError, ServiceUnavailable

pytestmark = pytest.mark.unit


class Answer(BaseModel):
    answer: str
    confidence: float
    sources: list[str]


def test_test_server_speaks_the_wire_format(ollama_server):
    """The real client parses every endpoint's reply (streaming included)."""
    client = ollama.Client(host=ollama_server.url)
    names = [m.model for m in client.list().models]
    assert "llama3.2:1b" in names and "mxbai-embed-large:latest" in names
    show = client.show("mxbai-embed-large")
    assert show.modelinfo["bert.embedding_length"] == 1024 and "embedding" in show.capabilities
    assert client.generate(model="llama3.2:1b", prompt="hi").response == "You said: hi"
    parts = list(client.chat(model="llama3.2:1b", messages=[{"role": "user", "content": "yo"}],
                             stream=True))
    assert parts[0].message.content == "You said: yo" and parts[-1].done
    assert len(client.embed(model="nomic-embed-text", input=["a", "b"]).embeddings[1]) == 768


def test_generate_text_and_structured(ollama_server):
    llm = OllamaLLM(host=ollama_server.url, model="llama3.2:1b", max_tokens=64)
    assert llm.generate("hello", system="be brief") == "You said: hello"
    path, body = ollama_server.requests[-1]
    assert path == "/api/chat" and body["stream"] is False
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["options"]["num_predict"] == 64
    result = llm.generate("why?", schema=Answer)
    assert isinstance(result, Answer)
    assert ollama_server.requests[-1][1]["format"] == Answer.model_json_schema()


def test_process_model_overrides_resource_model(ollama_server):
    llm = OllamaLLM(host=ollama_server.url, model="llama3.2:1b")
    with pytest.raises(ModelNotFound):
        llm.generate("x", model="qwen2:0.5b")
    assert ollama_server.requests[-1][1]["model"] == "qwen2:0.5b"


def test_invalid_output_is_retried_then_validated(ollama_server):
    good = json.dumps({"answer": "a", "confidence": 0.5, "sources": []})
    ollama_server.replies = ["not json", '{"answer": 1}', good]
    llm = OllamaLLM(host=ollama_server.url, model="llama3.2:1b", retries=2, backoff_seconds=0)
    assert llm.generate("q", schema=Answer).answer == "a"
    ollama_server.replies = ["nope"] * 3
    with pytest.raises(InvalidModelOutput, match="no valid Answer in 3 attempts"):
        llm.generate("q", schema=Answer)


def test_unknown_model_tells_the_exact_pull_command(ollama_server):
    llm = OllamaLLM(host=ollama_server.url, retries=3, backoff_seconds=0)
    with pytest.raises(ModelNotFound) as err:
        llm.generate("x", model="llama9:70b")
    assert "`ollama pull llama9:70b`" in str(err.value) and ollama_server.url in str(err.value)
    assert len(ollama_server.requests) == 1  # a missing model is not retried
    emb = OllamaEmbeddings(host=ollama_server.url)
    with pytest.raises(ModelNotFound, match="`ollama pull all-minilm`"):
        emb.embed(["a"], "all-minilm")


def test_server_error_is_retried_with_backoff(ollama_server):
    ollama_server.fail_times = 2
    llm = OllamaLLM(host=ollama_server.url, model="llama3.2:1b", retries=2, backoff_seconds=0.01)
    assert llm.generate("again") == "You said: again"
    assert len(ollama_server.requests) == 3
    with pytest.raises(ServiceUnavailable, match="'broken': HTTP 500"):
        OllamaLLM(host=ollama_server.url, retries=1, backoff_seconds=0).generate(
            "x", model="broken")


def test_slow_reply_hits_the_configured_timeout(ollama_server):
    llm = OllamaLLM(host=ollama_server.url, timeout_seconds=0.3, retries=0)
    with pytest.raises(ServiceUnavailable, match="within 0.3s.*timeout_seconds"):
        llm.generate("x", model="slow")
    ollama_server.slow_seconds = 0.05
    assert OllamaLLM(host=ollama_server.url, timeout_seconds=2).generate("x", model="slow")


def test_unreachable_server_names_the_url():
    llm = OllamaLLM(host="http://127.0.0.1:9", model="llama3.2:1b", retries=0)
    with pytest.raises(ServiceUnavailable, match=r"127.0.0.1:9.*ollama serve"):
        llm.generate("x")


def test_no_model_anywhere_is_a_config_error(ollama_server):
    with pytest.raises(ConfigError, match="gen_model"):
        OllamaLLM(host=ollama_server.url).generate("x")
    with pytest.raises(ConfigError, match="embed_model"):
        OllamaEmbeddings(host=ollama_server.url).embed(["x"])


def test_embeddings_batches_and_dimension(ollama_server):
    emb = OllamaEmbeddings(host=ollama_server.url, batch_size=2)
    vectors = emb.embed(["a", "b", "c"], "mxbai-embed-large")
    assert len(vectors) == 3 and len(vectors[0]) == 1024
    assert emb.embed(["a"], "mxbai-embed-large") == vectors[:1]  # deterministic
    assert [len(b["input"]) for p, b in ollama_server.requests] == [2, 1, 1]
    assert emb.dimension("nomic-embed-text") == 768


def test_grounded_answer_on_the_ollama_path_same_prompt_and_schema(ollama_server):
    """doc_qa's grounded answer through Ollama: the schema sent as `format` is the local
    path's grammar schema (an enum of sentence numbers); the answer quotes the chosen
    sentence, 0 says not found, an out-of-range number is invalid and falls back."""
    from llm_assets.backends.vectorstore.base import Hit
    from llm_assets_demo import docqa, grounded

    hits = [Hit(id="c1", doc="raw/doc_qa/txt/faq.txt", index=0, score=1.0,
                text="Q1. How do I activate my card?\nIn the app; it takes 2 minutes.\n\n"
                     "Q2. Can I choose my PIN?\nYes; a new PIN works after 30 minutes.",
                metadata={"file_type": "txt"})]
    picked = [(u, 1.0) for u in grounded.units(hits)]
    llm = OllamaLLM(host=ollama_server.url, model="llama3.2:1b", retries=0)
    ollama_server.replies = ['{"sentence": 2}', '{"sentence": 0}', '{"sentence": 7}']
    got = docqa.choose(llm, "Can I choose my PIN?", hits, picked, "llama3.2:1b")
    body = ollama_server.requests[-1][1]
    assert body["format"] == docqa.choice_model(2).model_json_schema()
    assert body["format"]["properties"]["sentence"]["enum"] == [0, 1, 2]
    assert body["messages"] == docqa.messages("Can I choose my PIN?", [u.text for u, _ in picked])
    assert got["found"] and got["valid"] and got["answer"] == picked[1][0].text
    assert got["citations"][0]["chunk_id"] == "c1" and got["prompt_tokens"] == 10
    refused = docqa.choose(llm, "Can I choose my PIN?", hits, picked, "llama3.2:1b")
    assert not refused["found"] and refused["answer"] == grounded.NOT_FOUND
    invalid = docqa.choose(llm, "Can I choose my PIN?", hits, picked, "llama3.2:1b")
    assert invalid["valid"] is False and invalid["answered_by"] == "fallback"
    assert invalid["answer"] == picked[0][0].text  # the best-scored sentence, still a quote
