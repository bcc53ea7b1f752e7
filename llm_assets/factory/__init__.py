"""Snapshot -> Dagster definitions: assets, jobs, schedules."""
