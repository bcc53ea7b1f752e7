"""Ollama model names map to local models by configuration, reported once per run."""

from __future__ import annotations

import logging

import pytest

from llm_assets.ai import models
from llm_assets.errors import ConfigError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv(models.ENV_MAP, raising=False)
    models._REPORTED.clear()
    yield
    models._REPORTED.clear()


def test_defaults_map_any_name_by_kind():
    assert models.local_name("mxbai-embed-large", "embed") == "minilm"
    assert models.local_name("llama3.2:1b", "gen") == "smollm2"
    assert models.local_name(None, "gen") == "smollm2"
    assert models.local_path("minilm").joinpath("config.json").exists()
    assert models.local_path("smollm2").suffix == ".gguf"


def test_configured_map_with_latest_tag_and_defaults(monkeypatch, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"x")
    monkeypatch.setenv(models.ENV_MAP, f'{{"llama3.2": "{gguf}", "default_embed": "minilm"}}')
    assert models.local_name("llama3.2:latest", "gen") == str(gguf)
    assert models.local_name("qwen2:0.5b", "gen") == "smollm2"
    assert models.local_path(str(gguf)) == gguf


@pytest.mark.parametrize("raw", ["{", "[1]", '{"a": 1}'])
def test_bad_map_is_a_config_error(monkeypatch, raw):
    monkeypatch.setenv(models.ENV_MAP, raw)
    with pytest.raises(ConfigError, match=models.ENV_MAP):
        models.local_name("x", "gen")


def test_missing_local_path_says_how_to_fix(monkeypatch):
    monkeypatch.setenv(models.ENV_MAP, '{"x": "/nope/model.gguf"}')
    with pytest.raises(ConfigError, match="does not exist.*LLM_ASSETS_LOCAL_MODEL_MAP"):
        models.resolve_local("x", "gen")


def test_substitution_is_reported_once_per_run(caplog):
    caplog.set_level(logging.WARNING, logger="llm_assets.ai")
    for _ in range(3):
        models.resolve_local("llama3.2:1b", "gen", run_id="run-1")
    models.resolve_local("llama3.2:1b", "gen", run_id="run-2")
    models.resolve_local("mxbai-embed-large", "embed", run_id="run-2")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3
    assert "'llama3.2:1b' runs as local model 'smollm2'" in warnings[0]
    assert "'mxbai-embed-large' runs as local model 'minilm'" in warnings[2]
