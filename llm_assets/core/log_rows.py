"""CNTL_CFG_LOG rows: one per run x process, with the original framework's status codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

RUNNING, SUCCESS, FAILED = 1, 0, 99
STATUS_NAMES = {RUNNING: "running", SUCCESS: "success", FAILED: "failed"}
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class LogRow:
    """One CNTL_CFG_LOG row (column names as in the table)."""

    prcs_nm: str
    run_id: str
    data_dt: date | None
    start_dt: datetime | None
    end_dt: datetime | None
    status: int
    message: str | None
    source_row: int | None
    target_row: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.run_id, self.prcs_nm)


def trim(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def dedupe(rows: list[LogRow]) -> list[LogRow]:
    """One row per key (Postgres refuses to upsert the same key twice in one statement);
    a final status wins over running, otherwise the last observation wins."""
    by_key: dict[tuple[str, str], LogRow] = {}
    for row in rows:
        seen = by_key.get(row.key)
        if seen is None or not (seen.status != RUNNING and row.status == RUNNING):
            by_key[row.key] = row
    return list(by_key.values())
