"""Ollama model names map to local models by configuration, reported once per run."""

from __future__ import annotations

import logging

import pytest

from llm_assets.backends import model_map
from llm_assets.core.errors import ConfigError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv(model_map.ENV_MAP, raising=False)
    model_map._REPORTED.clear()
    yield
    model_map._REPORTED.clear()


def test_defaults_map_any_name_by_kind():
    assert model_map.local_name("mxbai-embed-large", "embed") == "minilm"
    assert model_map.local_name("llama3.2:1b", "gen") == "smollm2"
    assert model_map.local_name(None, "gen") == "smollm2"
    assert model_map.local_path("minilm").joinpath("config.json").exists()
    assert model_map.local_path("smollm2").suffix == ".gguf"


def test_configured_map_with_latest_tag_and_defaults(monkeypatch, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"x")
    monkeypatch.setenv(model_map.ENV_MAP, f'{{"llama3.2": "{gguf}", "default_embed": "minilm"}}')
    assert model_map.local_name("llama3.2:latest", "gen") == str(gguf)
    assert model_map.local_name("qwen2:0.5b", "gen") == "smollm2"
    assert model_map.local_path(str(gguf)) == gguf


@pytest.mark.parametrize("raw", ["{", "[1]", '{"a": 1}'])
def test_bad_map_is_a_config_error(monkeypatch, raw):
    monkeypatch.setenv(model_map.ENV_MAP, raw)
    with pytest.raises(ConfigError, match=model_map.ENV_MAP):
        model_map.local_name("x", "gen")


def test_missing_local_path_says_how_to_fix(monkeypatch):
    monkeypatch.setenv(model_map.ENV_MAP, '{"x": "/nope/model.gguf"}')
    with pytest.raises(ConfigError, match="does not exist.*LLM_ASSETS_LOCAL_MODEL_MAP"):
        model_map.resolve_local("x", "gen")


def test_substitution_is_reported_once_per_run(caplog):
    caplog.set_level(logging.WARNING, logger="llm_assets.ai")
    for _ in range(3):
        model_map.resolve_local("llama3.2:1b", "gen", run_id="run-1")
    model_map.resolve_local("llama3.2:1b", "gen", run_id="run-2")
    model_map.resolve_local("mxbai-embed-large", "embed", run_id="run-2")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3
    assert "'llama3.2:1b' runs as local model 'smollm2'" in warnings[0]
    assert "'mxbai-embed-large' runs as local model 'minilm'" in warnings[2]


def test_gemma3_alias_assembles_its_gguf_once():
    path = model_map.local_path("gemma3")
    assert path.suffix == ".gguf" and path.stat().st_size > 200 * 2**20
    assert model_map.local_path("gemma3") == path  # assembled once, then reused
