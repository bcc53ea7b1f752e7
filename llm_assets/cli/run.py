"""Run streams now, from the CLI, with no daemon: `llm-assets run`, `llm-assets demo`.

Each run executes in this process through Dagster's own job execution (the same code path as
`dagster job execute`), with the local profile's instance; its log rows are written after.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import click

from llm_assets.core import settings
from llm_assets.core.models import ControlSnapshot
from llm_assets.core.names import SCOPE_PROCESSES_ENV, SCOPE_STREAMS_ENV
from llm_assets.core.scope import scoped_env


@dataclass(frozen=True)
class RunOutcome:
    stream: str
    run_id: str
    success: bool


def ensure_local_env() -> None:
    """Fill the Dagster environment of the local profile for variables not already set."""
    if os.environ.get("LLM_ASSETS_DATABASE_URL") and os.environ.get("DAGSTER_HOME"):
        return
    from llm_assets.cli import services

    if settings.profile() == "local" and not os.environ.get("LLM_ASSETS_DATABASE_URL"):
        for key, value in services.local_env().items():
            os.environ.setdefault(key, value)
    os.environ.setdefault("DAGSTER_HOME", str(settings.home_dir() / "dagster"))
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)


def run_stream(stream: str, tags: dict | None = None) -> RunOutcome:
    import dagster as dg

    from llm_assets.compat import initialized_job
    from llm_assets.defs.log_mirror import mirror_after_cli_run

    ensure_local_env()
    # this process is the run worker: it builds (and hands its steps) only the stream's part
    # of the code location (the control tables are still read once, whole), and leaves no
    # scope behind for the next stream of the command
    with scoped_env(SCOPE_STREAMS_ENV, {stream}), scoped_env(SCOPE_PROCESSES_ENV, None):
        job = initialized_job("llm_assets.definitions", "defs", stream,
                              str(settings.project_dir()))
        with dg.DagsterInstance.get() as instance:
            # a failure outside the steps (e.g. the executor's broker is down) fails the run
            # with its message and gets log rows, as a step failure does
            result = dg.execute_job(job, instance=instance, tags=tags or {},
                                    raise_on_error=False)
            outcome = RunOutcome(stream, result.run_id, result.success)
            mirror_after_cli_run(instance, result.run_id)
    return outcome


@click.command("run")
@click.argument("streams", nargs=-1, required=True)
def run_cmd(streams: tuple[str, ...]) -> None:
    """Run the job of each STREAM now (no daemon needed); its log rows are written after."""
    failed = []
    for stream in streams:
        outcome = run_stream(stream)
        state = "succeeded" if outcome.success else "FAILED"
        click.echo(f"{stream}: run {outcome.run_id} {state}")
        if not outcome.success:
            failed.append(stream)
    sys.exit(1 if failed else 0)


def streams_in_order(snapshot: ControlSnapshot) -> list[str]:
    """The active streams, each after the streams its processes depend on."""
    from llm_assets.core.graph import build_graph, loaded_processes

    stream_of = {p.prcs_nm: snapshot.group_by_name[p.prcs_grp].strem_nm
                 for p in loaded_processes(snapshot)}
    after: dict[str, set[str]] = {s: set() for s in sorted(set(stream_of.values()))}
    for name, ups in build_graph(snapshot).data_deps.items():
        after[stream_of[name]] |= {stream_of[u] for u in ups} - {stream_of[name]}
    ordered: list[str] = []
    while after:
        ready = sorted(s for s, ups in after.items() if ups <= set(ordered))
        if not ready:  # a cycle between streams: validation names it; run the rest in name order
            ready = sorted(after)
        ordered.extend(ready)
        for stream in ready:
            del after[stream]
    return ordered


@click.command("demo")
def demo_cmd() -> None:
    """Run every active stream of the control tables (after `db seed`: the demo streams), then
    show where their results are and each question-answering stream's answer."""
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets.store.snapshot import load_snapshot

    snapshot = load_snapshot()
    streams = streams_in_order(snapshot)
    if not streams:
        raise click.ClickException("no active stream in the control tables: load rows first "
                                   "(`llm-assets db seed`)")
    for stream in streams:
        outcome = run_stream(stream)
        click.echo(f"{stream}: run {outcome.run_id} "
                   f"{'succeeded' if outcome.success else 'FAILED'}")
        if not outcome.success:
            click.echo(f"see `llm-assets log --stream {stream} --failed`")
            sys.exit(1)
    import dagster as dg

    with dg.build_resources({"datalake": resources_for_profile()["datalake"]}) as built:
        lake = built.datalake
        click.echo(f"exports in the data lake ({lake.describe()}):")
        for stream in streams:
            for key in lake.list(f"export/{stream}/"):
                click.echo(f"  {key}")
        for stream in streams:
            question = snapshot.stream_by_name[stream].question
            answer_key = f"export/{stream}/answer.md"
            if question and lake.exists(answer_key):
                click.echo(f"\n{stream}: {question}\n{lake.get_text(answer_key).strip()}")
    click.echo("\nlog rows: llm-assets log")
