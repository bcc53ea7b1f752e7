"""Shared fixtures: a real embedded PostgreSQL per test session, a clean control schema per
test that needs one, and a persistent DAGSTER_HOME (dagstermill needs one)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
from pathlib import Path

import pytest

from tests.support.s3 import s3_endpoint  # noqa: F401  (session fixture: a moto S3 server)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TIERS = ("unit", "integration", "e2e")
SERVICES = {"pg_server", "pg_url", "s3_endpoint"}


def pytest_configure(config):
    """pytest-xdist's workers ignore SIGINT, and a child process inherits an ignored signal:
    the processes a test interrupts (a run, `dagster dev`) would never see its Ctrl-C."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    """Every test is in exactly one tier (its closest tier marker) and a unit test starts no
    service, so `make test-unit` stays fast and needs nothing running."""
    wrong = []
    for item in items:
        tier = next((m.name for m in item.iter_markers() if m.name in TIERS), None)
        if tier is None:
            wrong.append(f"{item.nodeid}: mark it unit, integration or e2e")
        elif tier == "unit" and SERVICES & set(getattr(item, "fixturenames", ())):
            wrong.append(f"{item.nodeid}: a unit test uses a service fixture; mark it "
                         "integration or e2e")
    if wrong:
        raise pytest.UsageError("test tiers:\n" + "\n".join(wrong))


_WATCHED = ("LLM_ASSETS_", "DAGSTER_")


def _watched_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_WATCHED)}


@pytest.fixture(autouse=True)
def no_leaked_environment():
    """A test leaves LLM_ASSETS_* and DAGSTER_* as it found them: the commands later tests
    start inherit this process's environment (a leaked scope or home changes what they run).
    A leak is put back and reported against the test that made it."""
    before = _watched_env()
    yield
    after = _watched_env()
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        for key in changed:
            if key in before:
                os.environ[key] = before[key]
            else:
                os.environ.pop(key, None)
        pytest.fail(f"the test left environment variables changed: {', '.join(changed)}")


@pytest.fixture(scope="session")
def session_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="llm-assets-test-"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _os_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server(session_home: Path):
    """One embedded Postgres for the whole test session (started by llm_assets itself)."""
    from llm_assets.cli import services

    old = os.environ.get("LLM_ASSETS_HOME")
    os.environ["LLM_ASSETS_HOME"] = str(session_home)
    os.environ.pop("LLM_ASSETS_DATABASE_URL", None)
    # a port the OS hands out, remembered as this home's last one: parallel test workers
    # (pytest -n) each start their own server without racing for the first free port
    (session_home / "postgres").mkdir(parents=True, exist_ok=True)
    (session_home / "postgres" / "state.json").write_text(json.dumps({"port": _os_port()}))
    status = services.up()
    yield status
    services.down()
    if old is None:
        os.environ.pop("LLM_ASSETS_HOME", None)
    else:
        os.environ["LLM_ASSETS_HOME"] = old


def _admin_url(url: str, db: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + db


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """A fresh, empty database on the session server for one test (dropped afterwards)."""
    import psycopg2

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    admin = psycopg2.connect(_admin_url(pg_server.url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _admin_url(pg_server.url, name)
    yield url
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
