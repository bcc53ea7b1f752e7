"""`llm-assets up | down | status` on a real embedded Postgres of its own."""

from __future__ import annotations

import os
import signal
import socket
import time

import psycopg2
import pytest

from tests.support.project import run

pytestmark = pytest.mark.e2e


def _env(home) -> dict:
    env = dict(os.environ, LLM_ASSETS_HOME=str(home), LLM_ASSETS_PG_PORT="0")
    env.pop("LLM_ASSETS_DATABASE_URL", None)
    return env


def test_a_long_home_path_starts(tmp_path):
    """A home deeper than a Unix socket path allows (107 bytes) still gets its server: it
    listens on TCP only."""
    home = tmp_path / ("deep" * 30)
    env = _env(home)
    try:
        url = run(["llm-assets", "up"], env, check=True).stdout.strip().splitlines()[-1]
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        run(["llm-assets", "down"], env)


def test_up_is_idempotent_recovers_a_crash_and_down_keeps_data(tmp_path):
    env = _env(tmp_path)
    try:
        first = run(["llm-assets", "up"], env, check=True).stdout.strip().splitlines()[-1]
        assert first.startswith("postgresql://postgres@127.0.0.1:")
        again = run(["llm-assets", "up"], env, check=True).stdout.strip().splitlines()[-1]
        assert again == first  # up twice: same server, same URL
        assert "running" in run(["llm-assets", "status"], env, check=True).stdout
        with psycopg2.connect(first) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (42)")

        # crash: kill the postmaster hard, leaving a stale postmaster.pid behind
        pid_file = tmp_path / "postgres" / "data" / "postmaster.pid"
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        assert pid_file.exists()
        status = run(["llm-assets", "status"], env)
        assert status.returncode == 1 and "stopped" in status.stdout
        recovered = run(["llm-assets", "up"], env, check=True).stdout.strip().splitlines()[-1]
        with psycopg2.connect(recovered) as conn, conn.cursor() as cur:
            cur.execute("SELECT x FROM keep_me")
            assert cur.fetchone() == (42,)

        assert "stopped" in run(["llm-assets", "down"], env, check=True).stdout
        assert run(["llm-assets", "down"], env, check=True).returncode == 0  # idempotent
        assert run(["llm-assets", "status"], env).returncode == 1
        # data survives a restart
        url = run(["llm-assets", "up"], env, check=True).stdout.strip().splitlines()[-1]
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT x FROM keep_me")
            assert cur.fetchone() == (42,)
    finally:
        run(["llm-assets", "down"], env)


def test_a_port_taken_by_another_program_is_not_reused_or_is_named(tmp_path):
    """The port this home used last was taken while its Postgres was down (another program,
    another home's server): `up` moves to a free port; a taken LLM_ASSETS_PG_PORT is named."""
    env = _env(tmp_path)
    try:
        first = run(["llm-assets", "up"], env, check=True).stdout.strip().splitlines()[-1]
        run(["llm-assets", "down"], env, check=True)
        port = int(first.rsplit(":", 1)[1].split("/")[0])
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            moved = run(["llm-assets", "up"], env, check=True).stdout.strip().splitlines()[-1]
            assert f":{port}/" not in moved
            with psycopg2.connect(moved) as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
            run(["llm-assets", "down"], env, check=True)
            taken = run(["llm-assets", "up"], dict(env, LLM_ASSETS_PG_PORT=str(port)))
        assert taken.returncode != 0
        assert f"port {port} (LLM_ASSETS_PG_PORT) is in use" in taken.stderr
    finally:
        run(["llm-assets", "down"], env)


def test_external_database_url_starts_nothing(tmp_path, pg_url):
    env = _env(tmp_path)
    env["LLM_ASSETS_DATABASE_URL"] = pg_url
    out = run(["llm-assets", "up"], env, check=True).stdout
    assert "nothing started" in out and pg_url in out
    assert not (tmp_path / "postgres" / "data").exists()
    assert "external" in run(["llm-assets", "status"], env, check=True).stdout


def test_unreachable_database_gives_a_clear_error(tmp_path):
    env = _env(tmp_path)
    env["LLM_ASSETS_DATABASE_URL"] = "postgresql://app:s3cret-pw@127.0.0.1:9/nowhere"
    proc = run(["llm-assets", "validate"], env)
    assert proc.returncode == 2
    assert "cannot connect to the control database at postgresql://app:***@127.0.0.1:9/nowhere" \
        in proc.stderr
    assert "s3cret-pw" not in proc.stdout + proc.stderr
