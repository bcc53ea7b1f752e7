"""`llm-assets log`: recent outcomes from CNTL_CFG_LOG, newest first, as a table."""

from __future__ import annotations

import click

_MESSAGE_WIDTH = 70


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _message(text: str | None) -> str:
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_WIDTH else line[: _MESSAGE_WIDTH - 3] + "..."


def format_rows(rows: list[dict]) -> str:
    from tabulate import tabulate

    from llm_assets.core.log_rows import STATUS_NAMES

    table = [
        [r["run_id"][:8], r["prcs_nm"], r["data_dt"] or "", _when(r["start_dt"]),
         _when(r["end_dt"]), f"{r['status']} {STATUS_NAMES.get(r['status'], '?')}",
         "" if r["source_row"] is None else r["source_row"],
         "" if r["target_row"] is None else r["target_row"], _message(r["message"])]
        for r in rows
    ]
    headers = ["run", "process", "data_dt", "start (UTC)", "end (UTC)", "status",
               "source_row", "target_row", "message"]
    return tabulate(table, headers=headers, tablefmt="simple")


@click.command("log")
@click.option("--stream", "-s", help="only processes of this stream (cntl_cfg_strem.strem_nm)")
@click.option("--process", "-p", help="only this process (cntl_cfg_prcs.prcs_nm)")
@click.option("--failed", is_flag=True, help="only failed or cancelled outcomes (status 99)")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(min=1),
              help="how many rows")
def log_cmd(stream: str | None, process: str | None, failed: bool, limit: int) -> None:
    """Print recent process outcomes from cntl_af.cntl_cfg_log (newest first)."""
    from llm_assets.store.log import read_rows

    rows = read_rows(None, stream=stream, process=process, failed=failed, limit=limit)
    if not rows:
        click.echo("no log rows" + (" match" if stream or process or failed else " yet"))
        return
    click.echo(format_rows(rows))
