"""`llm-assets worker`: a Celery worker, in the foreground, that executes the steps of this code
location for runs on the celery executor (LLM_ASSETS_EXECUTOR=celery).

The worker is dagster-celery's app and task (llm_assets.defs.celery.worker_app) with Celery's
prefork pool: the main process imports Dagster and llm_assets once, then forks one process per
step (`--concurrency` at a time).  A step gets its run's definitions from the task (the control
state travels in Dagster's reconstruction metadata): a worker reads no control table.

Signals (Celery's): SIGTERM or Ctrl-C is a warm shutdown: the worker takes no new step,
lets the running ones finish (their outcomes are recorded as usual), then exits 0.  A second
Ctrl-C, SIGQUIT or SIGKILL stops it at once: the running step's process is killed with it,
and the run worker's watch (llm_assets.defs.celery_watch) ends that step as failed (or
retried) after LLM_ASSETS_WORKER_LOST_AFTER seconds, naming this worker.
"""

from __future__ import annotations

import importlib
import os
import socket

import click

from llm_assets.core.errors import LlmAssetsError


def default_name(queues: tuple[str, ...]) -> str:
    return f"{'+'.join(queues) or 'default'}-{os.getpid()}@{socket.gethostname()}"


@click.command("worker")
@click.option("--queue", "-q", "queues", multiple=True,
              help="a queue to take steps from (repeatable); default: the default queue. "
                   "Model steps (gen_model/embed_model set) are on queue `llm`.")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="steps run at the same time (default: the number of CPUs)")
@click.option("--name", "-n", default=None,
              help="the worker's name, unique per host (default: QUEUES-PID@HOST)")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def worker_cmd(queues: tuple[str, ...], concurrency: int | None, name: str | None,
               loglevel: str) -> None:
    """Run a Celery worker for the steps of this code location (foreground; SIGTERM: finish the
    running steps, then exit)."""
    from llm_assets.cli.run import ensure_local_env
    from llm_assets.defs.broker import broker_url, check_reachable
    from llm_assets.defs.celery import worker_app
    from llm_assets.defs.executor import PRELOAD_MODULES
    from llm_assets.defs.queues import DEFAULT_QUEUE, queue_name

    try:
        ensure_local_env()
        for queue in queues:
            queue_name(queue, "--queue")
        check_reachable(broker_url())
        app = worker_app()
    except LlmAssetsError as err:
        raise click.ClickException(str(err)) from None
    for module in PRELOAD_MODULES:  # once here, inherited by every forked step process
        importlib.import_module(module)
    argv = ["worker", "--queues", ",".join(queues or (DEFAULT_QUEUE,)),
            "--hostname", name or default_name(queues), "--loglevel", loglevel,
            "--pool", "prefork", "--without-gossip", "--without-mingle"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    app.worker_main(argv)
