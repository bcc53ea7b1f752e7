"""What Dagster accepts as a name and as a cron schedule, in pure Python.

Validation runs without Dagster (and before any definition is built), so it needs these rules
itself; `tests/unit/test_dagster_compat.py` checks them against Dagster's own on every run, so
an upgrade that changes Dagster's rules fails a test instead of silently diverging.
"""

from __future__ import annotations

import keyword
import re

# Dagster's reserved names (dagster._core.definitions.utils.DISALLOWED_NAMES) and Python keywords
RESERVED_NAMES = frozenset({
    "context", "conf", "config", "meta", "arg_dict", "dict", "input_arg_dict",
    "output_arg_dict", "int", "str", "float", "bool", "input", "output", "type",
    *keyword.kwlist,
})
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def is_valid_name(name: str) -> bool:
    """A valid Dagster job, op, asset-key or group name."""
    return name not in RESERVED_NAMES and bool(_NAME.match(name))


_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def is_valid_queue(name: object) -> bool:
    """A Celery queue name as Celery and Redis take it (letters, digits, '_', '.', '-')."""
    return isinstance(name, str) and bool(_QUEUE.match(name))


# field: (lowest, highest, names)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}),
    (0, 7, {n: i for i, n in enumerate(_DAYS)}),
)


def _value(text: str, low: int, high: int, names: dict[str, int]) -> int | None:
    text = text.lower()
    if text in names:
        return names[text]
    if not text.isdigit():
        return None
    number = int(text)
    return number if low <= number <= high else None


def _field_values(text: str, position: int) -> set[int] | None:
    """The values a cron field selects, or None when the field is not valid."""
    low, high, names = _FIELDS[position]
    selected: set[int] = set()
    for item in text.split(","):
        if position == 2 and item.upper() == "L":  # last day of the month
            selected.add(-1)
            continue
        if position == 4 and "#" in item:  # the nth weekday of the month
            day, _, nth = item.partition("#")
            if _value(day, low, high, names) is None or nth not in ("1", "2", "3", "4", "5"):
                return None
            selected.add(-1)
            continue
        base, slash, step = item.partition("/")
        if slash and (not step.isdigit() or int(step) == 0):
            return None
        if base == "*" or (base == "?" and position in (2, 4)):
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first_v, last_v = _value(start, low, high, names), _value(end, low, high, names)
            if first_v is None or last_v is None:
                return None
            if first_v > last_v:  # a range that wraps around (fri-mon)
                selected.update(range(low, last_v + 1))
                last_v = high
            first, last = first_v, last_v
        else:
            only = _value(base, low, high, names)
            if only is None:
                return None
            first, last = only, (high if slash else only)
        selected.update(range(first, last + 1, int(step) if slash else 1))
    return selected


_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def is_valid_cron(cron: str) -> bool:
    """A five-field cron string (or @daily-style alias) Dagster schedules accept."""
    if cron.strip().lower() in _ALIASES:
        return True
    parts = cron.split()
    if len(parts) != 5:
        return False
    values = [_field_values(part, i) for i, part in enumerate(parts)]
    if any(v is None for v in values):
        return False
    days, months = values[2], values[3]
    # Dagster refuses a schedule that can only fire on February 30th or 31st
    return not (months == {2} and days is not None and len(days) == 1 and days <= {30, 31})
