"""Dagster run records + step events -> CNTL_CFG_LOG rows (one per run x process).

A run touches a control-table process when a step of its execution plan carries the op tag
`llm_assets/process` (every process asset has it; asset key = op name = process name), so
runs launched by a schedule, the UI, the CLI or a sensor are all recognised, and runs of
other code are ignored.

Per process:
- `start_dt`: first STEP_START; `end_dt`: the STEP_SUCCESS / STEP_FAILURE that ended it.
- `status`: 1 from STEP_START (also while waiting for a retry), 0 on STEP_SUCCESS (a
  STEP_SKIPPED step is 0 with message 'skipped'), 99 on STEP_FAILURE.
- Steps of a finished run that have no outcome are 99 as well, with a message saying why:
  never started: 'not run: upstream failed' / 'not run: run failed: ...' /
  'not run: run cancelled: ...'; started but never finished (or failed only because the run
  was interrupted): 'interrupted: run failed: ...' / 'interrupted: run cancelled: ...'.
  A run still in progress gets rows only for the steps that started.
- `message`: the failure's error type and text (the innermost user error, not Dagster's
  wrapper), trimmed to 2,000 characters; for a cancellation the termination messages; on
  success the `message` the notebook reported (`nb.report(message=...)`), if any.
- `source_row` / `target_row` / `data_dt`: the materialization metadata the notebook reported
  (`nb.report`); `data_dt` falls back to the schedule's date, then to the run's start date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg
from dagster import DagsterEventType as E

from llm_assets.core.log_rows import FAILED, RUNNING, SUCCESS, LogRow, trim
from llm_assets.core.names import PROCESS_TAG, SCHEDULED_TAG
from llm_assets.core.params import data_date

FINAL_STATUSES = frozenset({
    dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED,
})
MIRRORED_EVENTS = {
    E.STEP_START, E.STEP_RESTARTED, E.STEP_UP_FOR_RETRY, E.STEP_SUCCESS, E.STEP_FAILURE,
    E.STEP_SKIPPED, E.ASSET_MATERIALIZATION, E.RUN_FAILURE, E.RUN_CANCELING, E.RUN_CANCELED,
}
_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}
_INTERRUPTED = "DagsterExecutionInterruptedError"


@dataclass
class _Step:
    process: str
    start: float | None = None
    end: float | None = None
    status: int | None = None
    message: str | None = None
    source_row: int | None = None
    target_row: int | None = None
    data_dt: date | None = None
    note: str | None = None  # the `message` a successful notebook reported
    interrupted: bool = False  # failed because the run worker was interrupted
    # failed after the run's cancellation was asked for: the interrupt may surface in the
    # step as any error (a cell timeout, a dead kernel), the cause is the cancellation
    after_cancel: bool = False


@dataclass
class PlanCache:
    """step key -> process name, per execution plan snapshot (runs of a job share one)."""

    by_snapshot: dict[str | None, dict[str, str]] = field(default_factory=dict)

    def processes(self, instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, str]:
        snapshot_id = run.execution_plan_snapshot_id
        if snapshot_id not in self.by_snapshot:
            mapping: dict[str, str] = {}
            snap = instance.get_execution_plan_snapshot(snapshot_id) if snapshot_id else None
            if snap is not None:
                selected = set(snap.step_keys_to_execute or ())
                for step in snap.steps:
                    name = (step.tags or {}).get(PROCESS_TAG)
                    if name and (not selected or step.key in selected):
                        mapping[step.key] = name
            self.by_snapshot[snapshot_id] = mapping
        return self.by_snapshot[snapshot_id]


def _ts(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def error_text(error) -> str:
    """'Type: text' of the innermost user error of a SerializableErrorInfo."""
    while error.cause is not None and error.cls_name in _WRAPPERS:
        error = error.cause
    text = (error.message or "").strip()
    head, sep, tail = text.partition(": ")
    if sep and head.endswith(error.cls_name):  # drop the module path of the class
        return f"{error.cls_name}: {tail}"
    return text if text.startswith(error.cls_name) else f"{error.cls_name}: {text}"


def failure_text(data) -> str:
    """The message of a STEP_FAILURE: a raised `dg.Failure` (the notebook runner puts the
    notebook's exception type in metadata `error_type`) or any other exception."""
    user = data.user_failure_data
    if user is not None and user.description:
        kind = user.metadata.get("error_type") if user.metadata else None
        kind_text = getattr(kind, "value", kind) or "Failure"
        if f"{kind_text}: " in user.description:  # the runner's message already names it
            return user.description
        return f"{kind_text}: {user.description}"
    return error_text(data.error) if data.error else "step failed (no error information)"


def _metadata_int(metadata, key: str) -> int | None:
    entry = metadata.get(key)
    value = getattr(entry, "value", entry)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _metadata_date(metadata) -> date | None:
    entry = metadata.get("data_dt")
    value = getattr(entry, "value", entry)
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _run_date(record) -> date:
    """The schedule's date, else the date the run started (or was created), in UTC."""
    if record.start_time is not None:
        own = datetime.fromtimestamp(record.start_time, UTC).date()
    else:
        own = record.create_timestamp.astimezone(UTC).date()
    return data_date(record.dagster_run.tags.get(SCHEDULED_TAG), own)


def rows_for_run(instance: dg.DagsterInstance, record, plan: PlanCache | None = None
                 ) -> list[LogRow]:
    """The log rows of one run record (empty when it touches no control-table process)."""
    run = record.dagster_run
    processes = (plan or PlanCache()).processes(instance, run)
    if not processes:
        return []
    steps = {key: _Step(name) for key, name in processes.items()}
    run_failure: str | None = None
    cancel_reasons: list[str] = []
    canceling = False
    records = instance.get_records_for_run(run.run_id, of_type=MIRRORED_EVENTS).records
    for event_record in records:
        entry = event_record.event_log_entry
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == E.RUN_FAILURE:
            failure = event.job_failure_data
            run_failure = (error_text(failure.error) if failure and failure.error
                           else event.message or entry.user_message)
            continue
        if kind in (E.RUN_CANCELING, E.RUN_CANCELED):
            canceling = True
            reason = (event.message or entry.user_message or "").strip()
            if reason and reason not in cancel_reasons:
                cancel_reasons.append(reason)
            continue
        step = steps.get(event.step_key) if event.step_key else None
        if step is None:
            continue
        if kind == E.STEP_START:
            step.start = step.start if step.start is not None else entry.timestamp
            step.status, step.message, step.end = RUNNING, None, None
        elif kind == E.STEP_RESTARTED:
            step.status, step.end = RUNNING, None
        elif kind == E.STEP_UP_FOR_RETRY:
            retry_error = getattr(event.event_specific_data, "error", None)
            why = error_text(retry_error) if retry_error else "retry requested"
            step.status, step.message = RUNNING, trim(f"waiting for retry after {why}")
        elif kind == E.STEP_SUCCESS:
            step.status, step.end, step.message = SUCCESS, entry.timestamp, step.note
        elif kind == E.STEP_SKIPPED:
            step.status, step.end, step.message = SUCCESS, entry.timestamp, "skipped"
        elif kind == E.STEP_FAILURE:
            step.status, step.end = FAILED, entry.timestamp
            data = event.step_failure_data
            step.message = trim(failure_text(data))
            step.interrupted = bool(data.error and data.error.cls_name == _INTERRUPTED)
            step.after_cancel = bool(cancel_reasons) or canceling
        elif kind == E.ASSET_MATERIALIZATION:
            metadata = event.step_materialization_data.materialization.metadata
            step.source_row = _metadata_int(metadata, "source_row")
            step.target_row = _metadata_int(metadata, "target_row")
            step.data_dt = _metadata_date(metadata)
            note = getattr(metadata.get("message"), "value", None)
            step.note = trim(str(note)) if note else None
    _close_unfinished(record, steps, run_failure, cancel_reasons)
    run_date = _run_date(record)
    return [
        LogRow(prcs_nm=s.process, run_id=run.run_id, data_dt=s.data_dt or run_date,
               start_dt=_ts(s.start), end_dt=_ts(s.end), status=s.status, message=s.message,
               source_row=s.source_row, target_row=s.target_row)
        for s in steps.values() if s.status is not None
    ]


def _close_unfinished(record, steps: dict[str, _Step], run_failure: str | None,
                      cancel_reasons: list[str]) -> None:
    """Give every step of a finished run an outcome (see the module docstring)."""
    status = record.dagster_run.status
    if status not in FINAL_STATUSES:
        return
    if status == dg.DagsterRunStatus.CANCELED:
        cause = "run cancelled" + (": " + "; ".join(cancel_reasons) if cancel_reasons else "")
    elif status == dg.DagsterRunStatus.FAILURE:
        cause = "run failed" + (f": {run_failure}" if run_failure else "")
    else:
        cause = "the run succeeded without reporting an outcome for this step"
    upstream_failed = any(s.status == FAILED and not s.interrupted for s in steps.values())
    for step in steps.values():
        if step.status is None:
            step.status = FAILED
            step.message = ("not run: upstream failed"
                            if upstream_failed and status == dg.DagsterRunStatus.FAILURE
                            else trim(f"not run: {cause}"))
        elif (step.status == RUNNING or step.interrupted
              or (step.after_cancel and status == dg.DagsterRunStatus.CANCELED)):
            last = f" (last: {step.message})" if step.message and not step.interrupted else ""
            step.status = FAILED
            step.end = step.end or record.end_time
            step.message = trim(f"interrupted: {cause}{last}")


def is_final(record) -> bool:
    return record.dagster_run.status in FINAL_STATUSES
