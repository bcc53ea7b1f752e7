"""Dagster resources of llm_assets, chosen by profile (configuration, never code edits)."""
