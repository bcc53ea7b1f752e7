"""Dagster runs for the log-mirror tests and benchmark.

- `tagged_assets()`: tiny in-process assets carrying the `llm_assets/process` op tag (what
  the factory puts on every process asset), for real runs with `dg.materialize`.
- `synthetic_run()`: a run of a 3-process job whose step events are reported through the
  instance APIs (STEP_START, ASSET_MATERIALIZATION, STEP_SUCCESS/FAILURE, RUN_*), fast enough
  to create hundreds of finished runs.
"""

from __future__ import annotations

import dagster as dg
from dagster import DagsterEventType as E
from dagster._core.definitions.dependency import NodeHandle
from dagster._core.events import DagsterEvent, StepMaterializationData
from dagster._core.execution.plan.objects import StepFailureData, StepSuccessData
from dagster._utils.error import SerializableErrorInfo

from llm_assets.core.names import PROCESS_TAG, STREAM_TAG

SYN_STREAM = "syn"
SYN_PROCESSES = ("syn_1_extract", "syn_2_transform", "syn_3_load")  # run in name order


def _tags(name: str, stream: str) -> dict:
    return {PROCESS_TAG: name, STREAM_TAG: stream}


def tagged_assets() -> list:
    """ok -> (source_row 10, target_row 9); boom raises ValueError; after_boom depends on
    boom (never runs when boom fails); untagged is not a control-table process."""

    @dg.asset(op_tags=_tags("ok", "unit"))
    def ok():
        return dg.Output(1, metadata={"source_row": 10, "target_row": 9})

    @dg.asset(op_tags=_tags("boom", "unit"))
    def boom():
        raise ValueError("boom: column 'amount' has 3 nulls")

    @dg.asset(deps=[boom], op_tags=_tags("after_boom", "unit"))
    def after_boom():
        return 2

    @dg.asset
    def untagged():
        return 3

    return [ok, boom, after_boom, untagged]


def materialize(instance: dg.DagsterInstance, names: list[str], tags: dict | None = None):
    """A real in-process run of the named tagged assets."""
    assets = tagged_assets()
    selection = [a for a in assets if a.key.to_user_string() in names]
    return dg.materialize(selection, instance=instance, raise_on_error=False, tags=tags)


def synthetic_job(processes: tuple[str, ...] = SYN_PROCESSES,
                  stream: str = SYN_STREAM) -> dg.JobDefinition:
    def make(name: str):
        @dg.asset(name=name, op_tags=_tags(name, stream))
        def _asset():
            return None

        return _asset

    assets = [make(name) for name in processes]
    defs = dg.Definitions(assets=assets, jobs=[dg.define_asset_job(stream)])
    return defs.resolve_job_def(stream)


def _event(job: str, kind: E, step: str | None = None, data=None,
           message: str | None = None) -> DagsterEvent:
    return DagsterEvent(
        event_type_value=kind.value, job_name=job, step_key=step,
        node_handle=NodeHandle(step, None) if step else None,
        step_kind_value="COMPUTE" if step else None, event_specific_data=data, message=message)


def report(instance, run: dg.DagsterRun, kind: E, step: str | None = None, data=None,
           message: str | None = None) -> None:
    instance.report_dagster_event(_event(run.job_name, kind, step, data, message), run.run_id)


def error_info(cls_name: str, text: str) -> SerializableErrorInfo:
    return SerializableErrorInfo(message=f"{cls_name}: {text}\n", stack=[], cls_name=cls_name)


def synthetic_run(instance, job: dg.JobDefinition, outcome: str = "success",
                  rows: tuple[int, int] = (100, 98), finish: bool = True) -> dg.DagsterRun:
    """outcome: success | failure (second step fails, third never starts) | running."""
    run = instance.create_run_for_job(job_def=job)
    report(instance, run, E.RUN_START)
    steps = sorted(n.name for n in job.nodes)
    for index, step in enumerate(steps):
        report(instance, run, E.STEP_START, step)
        if outcome == "failure" and index == 1:
            failure = StepFailureData(error=error_info("KeyError", f"'{step}' missing column"),
                                      user_failure_data=None)
            report(instance, run, E.STEP_FAILURE, step, failure)
            break
        if outcome == "running" and index == 1:
            return run
        materialization = dg.AssetMaterialization(
            asset_key=step, metadata={"source_row": rows[0], "target_row": rows[1]})
        report(instance, run, E.ASSET_MATERIALIZATION, step,
               StepMaterializationData(materialization))
        report(instance, run, E.STEP_SUCCESS, step, StepSuccessData(duration_ms=1.0))
    if finish:
        kind = E.RUN_SUCCESS if outcome == "success" else E.RUN_FAILURE
        report(instance, run, kind)
    return instance.get_run_by_id(run.run_id)


def finish_running(instance, run: dg.DagsterRun, job: dg.JobDefinition) -> None:
    """Complete a run left by synthetic_run(outcome='running')."""
    steps = sorted(n.name for n in job.nodes)
    for step in steps[1:]:
        if step != steps[1]:
            report(instance, run, E.STEP_START, step)
        report(instance, run, E.STEP_SUCCESS, step, StepSuccessData(duration_ms=1.0))
    report(instance, run, E.RUN_SUCCESS)


def wait_until(predicate, timeout: float = 60.0, every: float = 0.2):
    from tests.support.project import wait_for

    return wait_for(predicate, timeout, "the condition", every)
