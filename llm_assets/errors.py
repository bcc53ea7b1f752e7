"""The one root exception type of llm_assets and its few specialisations.

Every error names the offending input (row, file, service) and says how to fix it.
"""


class LlmAssetsError(Exception):
    """Root of every error llm_assets raises on purpose."""


class ConfigError(LlmAssetsError):
    """A missing or wrong setting (environment variable, URL, profile)."""


class ServiceUnavailable(LlmAssetsError):
    """A service (Postgres, S3, Ollama, Weaviate) cannot be reached or refused the request."""


class ControlTableError(LlmAssetsError):
    """A control-table row is wrong; the message names table, key and fix."""


class NotebookError(LlmAssetsError):
    """A process notebook is missing, escapes notebooks/, or failed."""
