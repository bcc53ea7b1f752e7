"""The resources of a profile, built from the environment.

Secrets (S3 keys) are `dg.EnvVar`s: resolved at launch, never shown in the UI or logs.
"""

from __future__ import annotations

import os

import dagster as dg

from llm_assets.core import settings


def _datalake_and_io(profile: str) -> dict:
    if profile == "local":
        from llm_assets.backends.datalake import LocalDataLake

        root = settings.home_dir() / "datalake"
        return {
            "datalake": LocalDataLake(root=str(root)),
            "io_manager": dg.FilesystemIOManager(base_dir=str(root / "io")),
        }
    from dagster_aws.s3 import S3Resource

    from llm_assets.backends.io_manager import DataLakeS3IOManager
    from llm_assets.backends.s3_datalake import S3DataLake

    s3 = S3Resource(
        endpoint_url=os.environ.get("LLM_ASSETS_S3_ENDPOINT") or None,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=dg.EnvVar("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=dg.EnvVar("AWS_SECRET_ACCESS_KEY"),
    )
    bucket = os.environ.get("LLM_ASSETS_S3_BUCKET", "datalake")
    prefix = os.environ.get("LLM_ASSETS_S3_PREFIX", "llm_assets").strip("/")
    return {
        # links for people: signed for the endpoint their browser reaches, or stable links
        # through `llm-assets datalake serve-links`
        "datalake": S3DataLake(
            s3=s3, bucket=bucket, prefix=prefix,
            public_endpoint=os.environ.get("LLM_ASSETS_S3_PUBLIC_ENDPOINT") or None,
            links_url=os.environ.get("LLM_ASSETS_LINKS_URL") or None),
        "io_manager": DataLakeS3IOManager(
            s3_resource=s3, s3_bucket=bucket, s3_prefix=f"{prefix}/io" if prefix else "io"),
    }


def _ai(profile: str) -> dict:
    """Embeddings, LLM and vector store: in-process models + pgvector (local), or Ollama +
    Weaviate (compose).  Clients are created on first use, never here."""
    if profile == "local":
        from llm_assets.backends.embeddings import LocalEmbeddings
        from llm_assets.backends.llm import LocalLLM
        from llm_assets.backends.vectorstore.pgvector import PgVectorStore

        return {
            "embeddings": LocalEmbeddings(),
            "llm": LocalLLM(),
            # the control database (pgvector ships in the embedded server); the URL may hold a
            # password, so it is an EnvVar: resolved at launch, hidden in the UI
            "vectorstore": PgVectorStore(url=dg.EnvVar("LLM_ASSETS_DATABASE_URL")),
        }
    from llm_assets.backends.embeddings import OllamaEmbeddings
    from llm_assets.backends.llm import OllamaLLM
    from llm_assets.backends.vectorstore.weaviate import WeaviateVectorStore

    host = os.environ.get("OLLAMA_HOST", "http://localhost:11434")
    weaviate: dict = {"url": os.environ.get("WEAVIATE_URL", "http://localhost:8080")}
    if os.environ.get("WEAVIATE_API_KEY"):
        weaviate["api_key"] = dg.EnvVar("WEAVIATE_API_KEY")
    return {
        "embeddings": OllamaEmbeddings(host=host),
        "llm": OllamaLLM(host=host, **_llm_limits()),
        "vectorstore": WeaviateVectorStore(**weaviate),
    }


def _llm_limits() -> dict:
    """Client-side timeout and retries of the LLM (LLM_ASSETS_LLM_TIMEOUT seconds,
    LLM_ASSETS_LLM_RETRIES), when set."""
    limits: dict = {}
    timeout = settings.optional_number("LLM_ASSETS_LLM_TIMEOUT")
    retries = settings.optional_number("LLM_ASSETS_LLM_RETRIES", whole=True)
    if timeout is not None:
        limits["timeout_seconds"] = timeout
    if retries is not None:
        limits["retries"] = int(retries)
    return limits


def resources_for_profile(profile: str | None = None) -> dict:
    profile = profile or settings.profile()
    return {**_datalake_and_io(profile), **_ai(profile)}
