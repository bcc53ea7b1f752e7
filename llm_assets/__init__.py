"""llm_assets: LLM-in-the-loop business processes from Postgres control tables, as Dagster assets.

Importing this package does no I/O: no connection, no query, no client is created at import.
"""

__version__ = "0.1.0"
