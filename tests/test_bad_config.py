"""Bad settings in the environment: the code location's load error names the variable, the
value and what to set instead (before: `invalid literal for int() with base 10: 'three'` for
LLM_ASSETS_MAX_RETRIES, `Invalid execution timezone Mars/Olympus for None` for
LLM_ASSETS_TIMEZONE)."""

from __future__ import annotations

import pytest

from llm_assets.core import settings
from llm_assets.core.errors import ConfigError
from llm_assets.defs.build import retry_policy as _retry_policy
from tests.support.pg import prepare
from tests.support.project import project_env, run


@pytest.mark.unit
@pytest.mark.parametrize("name, raw, text", [
    ("LLM_ASSETS_MAX_RETRIES", "three", "LLM_ASSETS_MAX_RETRIES='three' is not a whole number"),
    ("LLM_ASSETS_MAX_RETRIES", "1.5", "LLM_ASSETS_MAX_RETRIES='1.5' is not a whole number"),
    ("LLM_ASSETS_MAX_RETRIES", "-2", "LLM_ASSETS_MAX_RETRIES='-2' is not a whole number >= 0"),
])
def test_retry_count_that_is_not_a_count_is_named(monkeypatch, name, raw, text):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=text):
        _retry_policy()


@pytest.mark.unit
def test_retry_delay_that_is_not_a_number_is_named(monkeypatch):
    monkeypatch.setenv("LLM_ASSETS_MAX_RETRIES", "2")
    monkeypatch.setenv("LLM_ASSETS_RETRY_DELAY", "5s")
    with pytest.raises(ConfigError, match=r"LLM_ASSETS_RETRY_DELAY='5s' is not a number >= 0: "
                                          r"set it to a number \(default 5\)"):
        _retry_policy()
    monkeypatch.setenv("LLM_ASSETS_RETRY_DELAY", "0.5")  # valid values still work
    policy = _retry_policy()
    assert (policy.max_retries, policy.delay) == (2, 0.5)
    monkeypatch.setenv("LLM_ASSETS_MAX_RETRIES", "0")
    assert _retry_policy() is None


@pytest.mark.unit
@pytest.mark.parametrize("raw", ["Mars/Olympus", "utc", "", "../etc/passwd"])
def test_unknown_timezone_is_named(monkeypatch, raw):
    monkeypatch.setenv("LLM_ASSETS_TIMEZONE", raw)
    with pytest.raises(ConfigError, match=rf"LLM_ASSETS_TIMEZONE={raw!r} is not a timezone: "
                                          r"set it to an IANA name such as UTC"):
        settings.timezone()
    monkeypatch.setenv("LLM_ASSETS_TIMEZONE", "Europe/Paris")
    assert settings.timezone() == "Europe/Paris"


@pytest.mark.e2e
@pytest.mark.parametrize("name, raw, text", [
    ("LLM_ASSETS_TIMEZONE", "Mars/Olympus", "LLM_ASSETS_TIMEZONE='Mars/Olympus' is not a timezone"),
    ("LLM_ASSETS_MAX_RETRIES", "three", "LLM_ASSETS_MAX_RETRIES='three' is not a whole number"),
])
def test_code_location_load_names_the_bad_setting(pg_url, tmp_path, name, raw, text):
    """What the user sees from the real CLI; the control tables are untouched."""
    prepare(pg_url, "001_demo_sales.sql")  # a stream with a schedule row
    env = project_env(pg_url, tmp_path, **{name: raw})
    proc = run(["dagster", "definitions", "validate", "-m", "llm_assets.definitions"], env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert text in output, output[-3000:]
    fixed = run(["dagster", "definitions", "validate", "-m", "llm_assets.definitions"],
                {**env, name: {"LLM_ASSETS_TIMEZONE": "UTC"}.get(name, "1")})
    assert fixed.returncode == 0, fixed.stdout[-2000:] + fixed.stderr[-2000:]


@pytest.mark.e2e
def test_schedules_use_the_configured_timezone(pg_url, monkeypatch):
    """A valid timezone still reaches the schedules (the check did not change the value)."""
    from llm_assets.definitions import defs

    prepare(pg_url, "001_demo_sales.sql")
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    monkeypatch.setenv("LLM_ASSETS_TIMEZONE", "Europe/Paris")
    repo = defs().get_repository_def()
    schedules = repo.schedule_defs
    assert schedules and {s.execution_timezone for s in schedules} == {"Europe/Paris"}


@pytest.mark.unit
def test_wrong_ollama_host_names_url_and_variable(monkeypatch):
    """OLLAMA_HOST pointing where nothing listens (compose profile, resources as the code
    location builds them)."""
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets.core.errors import ServiceUnavailable
    from tests.support.s3 import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OLLAMA_HOST", url)
    monkeypatch.setenv("LLM_ASSETS_LLM_RETRIES", "0")
    llm = resources_for_profile("compose")["llm"]
    with pytest.raises(ServiceUnavailable) as err:
        llm.generate("hello", model="llama3.2:1b")
    message = str(err.value)
    assert f"cannot reach Ollama at {url}" in message and "ollama serve" in message
    assert "OLLAMA_HOST" in message


@pytest.mark.unit
def test_wrong_weaviate_url_names_url_and_variable(monkeypatch):
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets.core.errors import ServiceUnavailable
    from tests.support.s3 import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("WEAVIATE_URL", url)
    store = resources_for_profile("compose")["vectorstore"]
    with pytest.raises(ServiceUnavailable) as err:
        store.count("docs")
    message = str(err.value)
    assert f"cannot reach Weaviate at {url}" in message and "WEAVIATE_URL" in message
