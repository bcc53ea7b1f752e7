"""The one root exception type of llm_assets and its specialisations.

Every error names the offending input (row, file, service) and says how to fix it.
"""


class LlmAssetsError(Exception):
    """Root of every error llm_assets raises on purpose."""


class ConfigError(LlmAssetsError):
    """A missing or wrong setting (environment variable, URL, profile) or input file."""


class ServiceUnavailable(LlmAssetsError):
    """A service (Postgres, S3, Ollama, Weaviate) cannot be reached or refused the request."""
