"""Settings read from the environment, resolved when asked for (never at import).

- LLM_ASSETS_PROFILE: `local` (embedded services, default) or `compose` (docker-compose)
- LLM_ASSETS_HOME: state directory (embedded Postgres data, data lake); default
  <project>/.llm_assets
- LLM_ASSETS_PROJECT_DIR: the project root holding notebooks/ and sql/
- LLM_ASSETS_NOTEBOOKS_DIR: where `nb_path_nm` paths are resolved; default <project>/notebooks
- LLM_ASSETS_DATABASE_URL: an external Postgres for the control tables; set it and nothing is
  started
- LLM_ASSETS_TIMEZONE: timezone of the control-table schedules; default UTC
"""

from __future__ import annotations

import os
from pathlib import Path

from llm_assets.errors import ConfigError

PROFILES = ("local", "compose")


def project_dir() -> Path:
    env = os.environ.get("LLM_ASSETS_PROJECT_DIR")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


def home_dir() -> Path:
    env = os.environ.get("LLM_ASSETS_HOME")
    return Path(env).resolve() if env else project_dir() / ".llm_assets"


def notebooks_dir() -> Path:
    env = os.environ.get("LLM_ASSETS_NOTEBOOKS_DIR")
    return Path(env).resolve() if env else project_dir() / "notebooks"


def sql_dir() -> Path:
    return project_dir() / "sql"


def profile() -> str:
    value = os.environ.get("LLM_ASSETS_PROFILE", "local").strip().lower()
    if value not in PROFILES:
        raise ConfigError(
            f"LLM_ASSETS_PROFILE={value!r} is not a profile; use one of {', '.join(PROFILES)}"
        )
    return value


NOTEBOOK_ENGINES = ("dagstermill", "papermill")


def notebook_engine() -> str:
    """How notebooks run: `dagstermill` (default: the kernel gets the Dagster context,
    `context.resources`, `dagstermill.yield_event`) or `papermill` (the kernel gets only the
    parameters and upstream values; resources come from the profile, as in a hand run;
    about 2 s less per notebook, see docs/benchmarks.md)."""
    value = os.environ.get("LLM_ASSETS_NOTEBOOK_ENGINE", "dagstermill").strip().lower()
    if value not in NOTEBOOK_ENGINES:
        raise ConfigError(f"LLM_ASSETS_NOTEBOOK_ENGINE={value!r} is not an engine; use one of "
                          f"{', '.join(NOTEBOOK_ENGINES)}")
    return value


def timezone() -> str:
    import zoneinfo

    value = os.environ.get("LLM_ASSETS_TIMEZONE", "UTC")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"LLM_ASSETS_TIMEZONE={value!r} is not a timezone: set it to an "
                          "IANA name such as UTC or Europe/Paris") from None
    return value


def number(name: str, default: str, whole: bool = False) -> float:
    """A non-negative number from the environment variable `name`, or a ConfigError naming it."""
    raw = os.environ.get(name, default)
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = -1
    if value < 0:
        kind = "whole number" if whole else "number"
        raise ConfigError(f"{name}={raw!r} is not a {kind} >= 0: set it to a {kind} "
                          f"(default {default})")
    return value


def database_url() -> str:
    """The control database URL: LLM_ASSETS_DATABASE_URL, else the running embedded server."""
    env = os.environ.get("LLM_ASSETS_DATABASE_URL")
    if env:
        return env
    # deferred: services imports psutil-free helpers only when needed
    from llm_assets.services import embedded_url

    url = embedded_url()
    if url is None:
        raise ConfigError(
            "No control database: LLM_ASSETS_DATABASE_URL is unset and the embedded Postgres "
            f"under {home_dir()} is not running. Start it with `llm-assets up` "
            "(or set LLM_ASSETS_DATABASE_URL to an existing Postgres)."
        )
    return url
