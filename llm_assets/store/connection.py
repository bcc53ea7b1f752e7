"""Connections to the control database.

The URL is LLM_ASSETS_DATABASE_URL, else (local profile) the embedded Postgres that
`llm-assets up` started and recorded under LLM_ASSETS_HOME.  The library only reads that
record: starting and stopping servers is the CLI's business (llm_assets.cli.services).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from llm_assets.core import settings
from llm_assets.core.errors import ConfigError, ServiceUnavailable
from llm_assets.store import local_server


def database_url() -> str:
    """The control database URL: LLM_ASSETS_DATABASE_URL, else the running embedded server."""
    env = os.environ.get("LLM_ASSETS_DATABASE_URL")
    if env:
        return env
    url = local_server.running_url()
    if url is None:
        raise ConfigError(
            "No control database: LLM_ASSETS_DATABASE_URL is unset and the embedded Postgres "
            f"under {settings.home_dir()} is not running. Start it with `llm-assets up` "
            "(or set LLM_ASSETS_DATABASE_URL to an existing Postgres)."
        )
    return url


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is itself the problem to report
        return "<unparsable database URL>"


@contextmanager
def connect(url: str | None = None, *, autocommit: bool = False) -> Iterator:
    """A psycopg2 connection; commits on success, rolls back on error, always closes."""
    import psycopg2

    target = url or database_url()
    try:
        conn = psycopg2.connect(target, connect_timeout=10)
    except psycopg2.OperationalError as err:
        raise ServiceUnavailable(
            f"cannot connect to the control database at {redact(target)}: "
            f"{str(err).strip()}. Is it running (`llm-assets status`)?"
        ) from err
    except psycopg2.ProgrammingError as err:
        raise ConfigError(f"invalid database URL {redact(target)}: {err}") from err
    conn.autocommit = autocommit
    try:
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit and not conn.closed:
            conn.rollback()
        raise
    finally:
        conn.close()


def sql_text(name: str) -> str:
    """The statement in `llm_assets/store/sql/<name>.sql`."""
    from importlib.resources import files

    return files("llm_assets.store").joinpath("sql", f"{name}.sql").read_text()
