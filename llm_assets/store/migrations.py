"""Versioned, idempotent migrations of the control schema.

Migrations are the files `sql/migrations/NNN_name.sql`, applied in order, each in its own
transaction, recorded in `cntl_af.schema_migration` with a checksum. An applied file is never
run again; an applied file whose text changed is an error (write a new file instead). No
migration drops data.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from llm_assets.core import settings
from llm_assets.core.errors import ConfigError
from llm_assets.store.connection import connect

_MIGRATION_LOCK = 0x6C6C6D61  # pg_advisory_xact_lock key: serializes concurrent upgrades
APP_ROLE = "llm_assets_app"  # least-privilege role of the Dagster code (002_app_role.sql)
APP_PASSWORD_ENV = "LLM_ASSETS_APP_PASSWORD"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations(directory: Path | None = None) -> list[Migration]:
    root = directory or settings.sql_dir() / "migrations"
    found = []
    for path in sorted(root.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        if not version.isdigit():
            raise ConfigError(f"migration file {path} must be named NNN_description.sql")
        found.append(Migration(version, name, path))
    return found


_BOOKKEEPING = """
CREATE SCHEMA IF NOT EXISTS cntl_af;
CREATE TABLE IF NOT EXISTS cntl_af.schema_migration (
    version    varchar(16) PRIMARY KEY,
    name       varchar(200) NOT NULL,
    checksum   char(64) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade(url: str | None = None, directory: Path | None = None) -> list[str]:
    """Apply every migration not yet applied; return the versions applied now."""
    applied_now: list[str] = []
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        cur.execute(_BOOKKEEPING)
        cur.execute("SELECT version, checksum FROM cntl_af.schema_migration")
        done = dict(cur.fetchall())
        for migration in migrations(directory):
            if migration.version in done:
                if done[migration.version].strip() != migration.checksum:
                    raise ConfigError(
                        f"migration {migration.path.name} was applied with different content "
                        "(checksum changed). Never edit an applied migration: restore it and "
                        "add a new NNN_*.sql file."
                    )
                continue
            cur.execute(migration.sql)
            cur.execute(
                "INSERT INTO cntl_af.schema_migration (version, name, checksum) "
                "VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.version)
        password = os.environ.get(APP_PASSWORD_ENV)
        if password:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            if cur.fetchone():
                # psycopg2 quotes the literal client-side; the password never reaches a log
                cur.execute(f"ALTER ROLE {APP_ROLE} LOGIN PASSWORD %s", (password,))
    return applied_now


def applied(url: str | None = None) -> list[tuple[str, str, str]]:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT version, name, applied_at::text FROM cntl_af.schema_migration ORDER BY 1"
        )
        return cur.fetchall()


def run_sql_file(path: Path, url: str | None = None) -> None:
    """Run one SQL file in a single transaction (seed files are written to be re-runnable)."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(path.read_text())
