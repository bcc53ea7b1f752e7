"""The rows fingerprint of the control tables: the one identity of a set of control rows.

For each of the six configuration tables: the row count and the md5 of its rows (every column
except `upt_dt`, NULL written as `\\N`, columns joined by chr(31), rows sorted byte-wise and
joined by newlines).  Postgres computes the same text in one query
(`llm_assets.store.fingerprint`), so the reload sensor compares the database with the snapshot
the definitions were built from without reading the tables.

It changes on an insert, a delete and an update of any column that shapes the definitions,
inactive rows included.  `upt_dt` is left out on purpose: re-running an upsert seed touches it
without changing anything, and that must not reload the location.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields

from llm_assets.core.models import ROW_TYPES, ControlSnapshot
from llm_assets.core.names import CONTROL_TABLES

NULL = "\\N"
COLUMN_SEP = chr(31)
ROW_SEP = "\n"


def columns(table_field: str) -> list[str]:
    """The fingerprinted columns of a snapshot field's table (all but upt_dt)."""
    return [f.name for f in fields(ROW_TYPES[table_field]) if f.name != "upt_dt"]


@dataclass(frozen=True)
class Fingerprint:
    value: str
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, parts: dict[str, tuple[int, str]]) -> Fingerprint:
        """From (row count, md5 of the rows text) per snapshot field, in CONTROL_TABLES order."""
        text = "|".join(f"{name}:{count}:{digest}" for name, (count, digest) in parts.items())
        return cls(hashlib.sha256(text.encode()).hexdigest()[:12],
                   {name: count for name, (count, _) in parts.items()})


def snapshot_fingerprint(snapshot: ControlSnapshot) -> Fingerprint:
    """The rows fingerprint of a snapshot: equal to the database's for the same rows."""
    parts = {}
    for name in CONTROL_TABLES:
        names = columns(name)
        rows = sorted(
            COLUMN_SEP.join(NULL if v is None else str(v)
                            for v in (getattr(row, c) for c in names))
            for row in getattr(snapshot, name)
        )
        parts[name] = (len(rows), hashlib.md5(ROW_SEP.join(rows).encode()).hexdigest())
    return Fingerprint.of(parts)
