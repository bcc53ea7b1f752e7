"""Settings read from the environment, resolved when asked for (never at import).

Pure: reads environment variables, opens nothing.

- LLM_ASSETS_PROFILE: `local` (embedded services, default) or `compose` (docker-compose)
- LLM_ASSETS_HOME: state directory (embedded Postgres data, data lake); default
  <project>/.llm_assets
- LLM_ASSETS_PROJECT_DIR: the project root holding notebooks/ and sql/
- LLM_ASSETS_NOTEBOOKS_DIR: where `nb_path_nm` paths are resolved; default <project>/notebooks
- LLM_ASSETS_DATABASE_URL: the Postgres of the control tables (unset in the local profile: the
  embedded server `llm-assets up` started; see llm_assets.store.connection)
- LLM_ASSETS_TIMEZONE: timezone of the control-table schedules; default UTC
"""

from __future__ import annotations

import os
from pathlib import Path

from llm_assets.core.errors import ConfigError

PROFILES = ("local", "compose")


def project_dir() -> Path:
    env = os.environ.get("LLM_ASSETS_PROJECT_DIR")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


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


def number(name: str, default: str | None, whole: bool = False, minimum: float = 0) -> float:
    """A number >= `minimum` from the environment variable `name` (`default` when unset), or a
    ConfigError naming the variable, its value and the fix.  The one parser of numeric
    settings."""
    raw = os.environ.get(name, default) or ""
    try:
        value: float = int(raw) if whole else float(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        kind = "whole number" if whole else "number"
        raise ConfigError(f"{name}={raw!r} is not a {kind} >= {minimum:g}: set it to a {kind}"
                          + (f" (default {default})" if default is not None else " or unset it"))
    return value


def optional_number(name: str, whole: bool = False) -> float | None:
    """`number(name)` when the variable is set, else None."""
    return number(name, None, whole) if os.environ.get(name) else None
