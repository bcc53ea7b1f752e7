"""The CNTL_CFG_LOG mirror: a sensor writing every run's outcomes into the log table.

Why not `@dg.run_status_sensor`: the stock run-status sensor advances its cursor even when
the handler raises and handles 5 runs per tick, so an outcome is lost whenever Postgres is
down and a busy instance falls behind.  `llm_assets_log_mirror` is a plain sensor with its
own cursor over run records:

- each tick reads the run records updated after the cursor (oldest first, pages of
  `PAGE_SIZE`, for at most `TICK_BUDGET_S` seconds), turns them into log rows
  (`llm_assets.defs.mirror`) and upserts each page in one transaction (`llm_assets.store.log`);
- the new cursor is returned only after every write committed: if the control database is
  down the tick fails with an error naming it, the cursor stays, and the next tick writes
  everything since (writes are idempotent, so a replay never duplicates a row);
- runs seen unfinished are kept in the cursor (`open`) and re-mirrored every tick until
  final, so running processes show status 1 and their progress;
- the cursor never passes `now - SETTLE_S`: the last few seconds are read again next tick,
  so a run record committed late with an earlier update timestamp is not skipped.

The control database URL is read from `llm_assets.store.connection.database_url()` at tick time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dagster as dg

from llm_assets.core.errors import LlmAssetsError
from llm_assets.defs.mirror import PlanCache, is_final, rows_for_run
from llm_assets.store.connection import database_url
from llm_assets.store.log import write_rows

SENSOR_NAME = "llm_assets_log_mirror"
INTERVAL_S = 20
PAGE_SIZE = 200
TICK_BUDGET_S = 30.0
SETTLE_S = 5.0
MAX_OPEN = 500


@dataclass(frozen=True)
class MirrorCursor:
    """Position of the mirror: run records updated after `after` (ISO, UTC) are still to be
    mirrored, except `done` (run ids updated exactly at `after`, already mirrored); `open`
    runs were unfinished when last mirrored."""

    after: str | None = None
    done: tuple[str, ...] = ()
    open: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, text: str | None) -> MirrorCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("after"), tuple(data.get("done", ())), tuple(data.get("open", ())))

    def to_json(self) -> str:
        return json.dumps({"after": self.after, "done": list(self.done),
                           "open": list(self.open)})


@dataclass
class TickResult:
    cursor: MirrorCursor
    runs: int = 0
    rows: int = 0
    pages: int = 0
    run_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"mirrored {self.rows} log row(s) of {self.runs} run(s) in {self.pages} "
                f"page(s); {len(self.cursor.open)} run(s) still open")


def _page(instance: dg.DagsterInstance, cursor: MirrorCursor, limit: int) -> list:
    after = None
    if cursor.after:
        after = datetime.fromisoformat(cursor.after) - timedelta(microseconds=1)
    records = instance.get_run_records(
        filters=dg.RunsFilter(updated_after=after), order_by="update_timestamp",
        ascending=True, limit=limit + len(cursor.done))
    done = set(cursor.done)
    return [r for r in records
            if not (r.update_timestamp.isoformat() == cursor.after
                    and r.dagster_run.run_id in done)][:limit]


def _advance(cursor: MirrorCursor, page: list, cutoff: float) -> tuple[MirrorCursor, bool]:
    """The cursor after `page` was written; True if it stopped at the settle cutoff."""
    settled = [r for r in page if r.update_timestamp.timestamp() <= cutoff]
    if not settled:
        return cursor, bool(page)
    last = settled[-1].update_timestamp.isoformat()
    same = [r.dagster_run.run_id for r in settled if r.update_timestamp.isoformat() == last]
    done = (*cursor.done, *same) if last == cursor.after else tuple(same)
    return MirrorCursor(last, done, cursor.open), len(settled) < len(page)


def mirror_tick(instance: dg.DagsterInstance, cursor: MirrorCursor, url: str, *,
                page_size: int = PAGE_SIZE, budget_s: float = TICK_BUDGET_S,
                settle_s: float = SETTLE_S) -> TickResult:
    """Mirror every run updated since `cursor` (plus the open runs) into CNTL_CFG_LOG.

    Returns the new cursor; raises (cursor not advanced) if a write fails."""
    deadline = time.monotonic() + budget_s
    plan = PlanCache()
    result = TickResult(cursor)
    open_ids = dict.fromkeys(cursor.open)
    pending = {}
    if open_ids:
        for record in instance.get_run_records(filters=dg.RunsFilter(run_ids=list(open_ids))):
            pending[record.dagster_run.run_id] = record
        for run_id in [r for r in open_ids if r not in pending]:
            del open_ids[run_id]  # deleted from Dagster: nothing more to learn about it
    position = cursor
    while True:
        page = _page(instance, position, page_size)
        for record in page:
            pending[record.dagster_run.run_id] = record
        rows = [row for record in pending.values() for row in rows_for_run(instance, record, plan)]
        result.rows += write_rows(url, rows)
        result.pages += 1
        result.runs += len(pending)
        result.run_ids.extend(pending)
        for run_id, record in pending.items():
            if is_final(record):
                open_ids.pop(run_id, None)
            else:
                open_ids[run_id] = None
        pending = {}
        position, clamped = _advance(position, page, time.time() - settle_s)
        if clamped or len(page) < page_size or time.monotonic() > deadline:
            break
    result.cursor = MirrorCursor(position.after, position.done, tuple(open_ids)[-MAX_OPEN:])
    return result


def log_mirror_sensor(interval_s: int = INTERVAL_S) -> dg.SensorDefinition:
    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Mirrors every run that touches a control-table process into "
                    "cntl_af.cntl_cfg_log (one row per run x process; idempotent; the cursor "
                    "only advances after the rows are committed).",
    )
    def llm_assets_log_mirror(context: dg.SensorEvaluationContext):
        url = database_url()
        result = mirror_tick(context.instance, MirrorCursor.from_json(context.cursor), url)
        context.log.info(result.summary())
        return dg.SensorResult(cursor=result.cursor.to_json(),
                               skip_reason=dg.SkipReason(result.summary()))

    return llm_assets_log_mirror


def default_sensors() -> list:
    return [log_mirror_sensor()]


def mirror_after_cli_run(instance, run_id: str) -> int:
    """Write the log rows of one run (used right after `llm-assets run`, no daemon needed).

    Returns the number of rows written; the sensor later rewrites the same rows idempotently.
    """
    records = instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]))
    if not records:
        raise LlmAssetsError(
            f"run {run_id} is not in the Dagster instance at DAGSTER_HOME; its log rows cannot "
            "be written (check that the run and this command use the same DAGSTER_HOME)")
    return write_rows(database_url(), rows_for_run(instance, records[0]))
