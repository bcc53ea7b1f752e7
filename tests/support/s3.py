"""A real S3 endpoint on localhost: moto's threaded server (started and stopped by tests)."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def compose_env(endpoint: str, bucket: str, secret: str = "test-secret-key") -> dict[str, str]:
    return {
        "LLM_ASSETS_PROFILE": "compose",
        "LLM_ASSETS_S3_ENDPOINT": endpoint,
        "LLM_ASSETS_S3_BUCKET": bucket,
        "LLM_ASSETS_S3_PREFIX": "llm_assets",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
    }
