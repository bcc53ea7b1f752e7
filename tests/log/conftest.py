"""Fixtures of the log-mirror tests: a migrated control database reached through
LLM_ASSETS_DATABASE_URL (as the sensor reads it at tick time) and a Dagster instance."""

from __future__ import annotations

import dagster as dg
import pytest

from tests.support.pg import execute, prepare


@pytest.fixture
def log_url(pg_url, monkeypatch) -> str:
    prepare(pg_url)
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    return pg_url


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def log_rows(url: str) -> dict[tuple[str, str], dict]:
    """Every CNTL_CFG_LOG row keyed by (run_id, prcs_nm); fails on a duplicate key."""
    names = ["run_id", "prcs_nm", "data_dt", "start_dt", "end_dt", "status", "message",
             "source_row", "target_row", "upt_dt"]
    rows = execute(url, f"SELECT {', '.join(names)} FROM cntl_af.cntl_cfg_log")
    keyed = {(r[0], r[1]): dict(zip(names, r)) for r in rows}
    assert len(keyed) == len(rows), "duplicate (run_id, prcs_nm) rows"
    return keyed


def tick(instance, cursor: str | None = None):
    """One evaluation of the mirror sensor, as the daemon runs it."""
    from llm_assets.defs.log_mirror import log_mirror_sensor

    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    return log_mirror_sensor()(context)
