"""Calls to model services: Ollama error translation and retry with exponential backoff.

Errors name the service URL and model and say how to fix; transient failures (HTTP 5xx,
timeouts, refused connections) are retried, a missing model is not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from llm_assets.core.errors import ConfigError, ServiceUnavailable

T = TypeVar("T")
log = logging.getLogger("llm_assets.ai")


class ModelNotFound(ConfigError):
    """The model service does not have the requested model."""


class TransientServiceError(ServiceUnavailable):
    """A failure worth retrying: 5xx, timeout, refused connection."""


def ollama_client(host: str, timeout_seconds: float):
    """An `ollama.Client` for `host` (created per resource, never at import)."""
    import ollama

    return ollama.Client(host=host, timeout=timeout_seconds)


def call_ollama(host: str, model: str, what: str, fn: Callable[[], T],
                timeout_seconds: float) -> T:
    """Run one Ollama request, translating its errors into llm_assets errors."""
    import httpx
    import ollama

    try:
        return fn()
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            raise ModelNotFound(
                f"Ollama at {host} has no model {model!r} ({exc.error}); pull it on that "
                f"server with `ollama pull {model}` or change the process's model column"
            ) from exc
        error = TransientServiceError if exc.status_code >= 500 else ServiceUnavailable
        raise error(f"Ollama at {host} refused {what} with model {model!r}: HTTP "
                    f"{exc.status_code}: {exc.error}") from exc
    except httpx.TimeoutException as exc:
        raise TransientServiceError(
            f"Ollama at {host} did not answer {what} with model {model!r} within "
            f"{timeout_seconds}s; raise the resource's timeout_seconds or use a smaller model"
        ) from exc
    except (ConnectionError, httpx.TransportError) as exc:
        raise TransientServiceError(
            f"cannot reach Ollama at {host} for {what} ({exc}); start it (`ollama serve`) "
            "or fix the resource's host (OLLAMA_HOST in the compose profile)"
        ) from exc


def with_retries(fn: Callable[[int], T], *, retries: int, backoff_seconds: float,
                 what: str, retry_on: tuple[type[BaseException], ...] = (TransientServiceError,)
                 ) -> T:
    """Call `fn(attempt)`; on a `retry_on` error retry up to `retries` times, sleeping
    backoff_seconds * 2**n between attempts.  The last error is re-raised."""
    for attempt in range(retries + 1):
        try:
            return fn(attempt)
        except retry_on as exc:
            if attempt >= retries:
                raise
            delay = backoff_seconds * (2 ** attempt)
            log.warning("%s failed (attempt %d of %d): %s; retrying in %.2fs",
                        what, attempt + 1, retries + 1, exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
