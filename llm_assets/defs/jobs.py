"""One job per stream (selecting its process groups) and one schedule per schedule row."""

from __future__ import annotations

from collections import defaultdict

import dagster as dg

from llm_assets.core.models import ControlSnapshot
from llm_assets.core.names import STREAM_TAG


def stream_jobs(
    snapshot: ControlSnapshot, loaded_groups: set[str]
) -> dict[str, dg.UnresolvedAssetJobDefinition]:
    groups_by_stream: dict[str, list[str]] = defaultdict(list)
    for group in snapshot.groups:
        if group.prcs_grp in loaded_groups:
            groups_by_stream[group.strem_nm].append(group.prcs_grp)
    jobs = {}
    for stream_name, groups in sorted(groups_by_stream.items()):
        stream = snapshot.stream_by_name[stream_name]
        description = f"Stream {stream_name}"
        if stream.strem_owner:
            description += f" (owner {stream.strem_owner})"
        if stream.question:
            description += f". Question: {stream.question}"
        jobs[stream_name] = dg.define_asset_job(
            name=stream_name,
            selection=dg.AssetSelection.groups(*sorted(groups)),
            description=description,
            tags={STREAM_TAG: stream_name},
        )
    return jobs


def stream_schedules(
    snapshot: ControlSnapshot, jobs: dict, timezone: str
) -> list[dg.ScheduleDefinition]:
    rows_by_stream = defaultdict(list)
    for row in snapshot.schedules:
        if row.strem_nm in jobs:
            rows_by_stream[row.strem_nm].append(row)
    schedules = []
    for stream_name, rows in sorted(rows_by_stream.items()):
        for index, row in enumerate(sorted(rows, key=lambda r: r.cron), start=1):
            suffix = "" if len(rows) == 1 else f"_{index}"
            schedules.append(dg.ScheduleDefinition(
                name=f"{stream_name}_schedule{suffix}",
                cron_schedule=row.cron,
                job=jobs[stream_name],
                execution_timezone=timezone,
                description=f"cntl_cfg_schedule row of stream {stream_name}: {row.cron}",
                default_status=dg.DefaultScheduleStatus.RUNNING,
            ))
    return schedules
