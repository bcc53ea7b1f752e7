"""The demo run twice on a fresh home: `llm-assets demo`, then again with nothing changed.

Prints a markdown block: wall time of each run, the load average around it, and per process
its step time and log message (sources skipped by ingestion, processes not run again).

    .venv/bin/python bench/bench_demo_rerun.py [--home DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _cli(args: list[str], env: dict, log: Path | None = None) -> float:
    start = time.perf_counter()
    with (log.open("w") if log else open(os.devnull, "w")) as out:
        proc = subprocess.run([str(BIN / "llm-assets"), *args], env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"llm-assets {' '.join(args)} failed ({proc.returncode})"
                         + (f", see {log}" if log else ""))
    return time.perf_counter() - start


def _rows(env: dict) -> list[tuple]:
    os.environ.update(env)
    from llm_assets.store.connection import connect

    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id, prcs_nm, extract(epoch FROM end_dt - start_dt), message "
                    "FROM cntl_af.cntl_cfg_log ORDER BY start_dt")
        return cur.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", help="a fresh LLM_ASSETS_HOME (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="leave its Postgres running")
    parser.add_argument("--table-only", action="store_true",
                        help="print only the per-process table of a --home the benchmark ran in")
    args = parser.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="bench-demo-rerun-"))
    env = {k: v for k, v in os.environ.items() if k != "LLM_ASSETS_DATABASE_URL"}
    env.update({"LLM_ASSETS_HOME": str(home), "LLM_ASSETS_PROFILE": "local"})
    if args.table_only:
        _cli(["up"], env)
        try:
            print(process_table(_rows({**env, **_local(env)})))
        finally:
            _cli(["down"], env)
        return
    for step in (["up"], ["db", "upgrade"], ["db", "seed"]):
        _cli(step, env)
    runs = []
    try:
        for attempt in (1, 2):
            before = os.getloadavg()
            seconds = _cli(["demo"], env, home / f"demo-{attempt}.log")
            runs.append((attempt, seconds, before, os.getloadavg()))
        rows = _rows({**env, **_local(env)})
    finally:
        if not args.keep:
            _cli(["down"], env)
    first = runs[0][1]
    print("## The demo, run twice (unchanged work skipped)\n")
    print("Command: `.venv/bin/python bench/bench_demo_rerun.py` (a fresh home: `llm-assets up`, "
          "`db upgrade`, `db seed`, then `llm-assets demo` twice, nothing changed between)\n")
    print("| run | wall s | share of the first | load avg (1/5/15 min) before -> after |")
    print("|---|---:|---:|---|")
    for attempt, seconds, before, after in runs:
        load = " ".join(f"{x:.1f}" for x in before) + " -> " + " ".join(
            f"{x:.1f}" for x in after)
        print(f"| {attempt} | {seconds:.0f} | {seconds / first:.0%} | {load} |")
    print(process_table(rows))


def process_table(rows: list[tuple]) -> str:
    """Per process: its step time in each run and its log message in the second, then the
    sources the ingestion processes skipped in the second run."""
    by_process: dict[str, list[tuple]] = {}
    for row in rows:  # each `llm-assets demo` writes one log row per process: k-th = run k
        by_process.setdefault(row[1], []).append(row)
    lines = ["| process | run 1 step s | run 2 step s | run 2 log message |", "|---|---:|---:|---|"]
    skipped = ingested = 0
    for name, (one, *rest) in by_process.items():
        if not rest:
            lines.append(f"| {name} | {one[2]:.0f} | - | |")
            continue
        message = (rest[-1][3] or "").split(" (run tag")[0]
        found = re.search(r"(\d+) source\(s\) ingested .*, (\d+) unchanged source", message)
        if found:
            ingested += int(found.group(1))
            skipped += int(found.group(2))
        lines.append(f"| {name} | {one[2]:.0f} | {rest[-1][2]:.0f} | {message} |")
    lines.append(f"\nSources in run 2: {skipped} unchanged skipped, {ingested} ingested again.")
    return "\n".join(lines)


def _local(env: dict) -> dict:
    """The embedded Postgres' URL (what `llm-assets env` exports)."""
    out = subprocess.run([str(BIN / "llm-assets"), "env"], env=env, capture_output=True,
                         text=True, check=True).stdout
    return dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines()
                if line.startswith("export "))


if __name__ == "__main__":
    main()
