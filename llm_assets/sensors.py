"""Sensors of the code location (log mirror and control-table reload come here)."""

from __future__ import annotations


def default_sensors() -> list:
    return []
