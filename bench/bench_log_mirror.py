"""Benchmark of the CNTL_CFG_LOG mirror: runs mirrored per tick, and lag from run end to row.

    .venv/bin/python bench/bench_log_mirror.py [--runs 300] [--interval 5] [--duration 30]

1. backlog: `--runs` finished 3-process runs (every 10th failing) with their step events are
   created in a persistent (SQLite) DagsterInstance, then ONE tick of the real sensor
   (`llm_assets_log_mirror`, through `dg.build_sensor_context`) mirrors them into a real
   Postgres; a second tick replays them (idempotent, no new rows).
2. lag: a producer finishes runs at a steady rate for `--duration` seconds while the sensor
   ticks every `--interval` seconds (as the daemon does; the deployed interval is 20 s);
   lag = row write time (upt_dt) - run end time.
Runs are synthetic (events reported through the instance APIs), so the figures measure the
mirror, not notebook execution. Postgres: LLM_ASSETS_DATABASE_URL, else a throwaway embedded
server. Prints a markdown section.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _control_db(tmp: Path) -> tuple[str, bool]:
    from llm_assets.cli import services
    from llm_assets.store import connection, migrations

    url = os.environ.get("LLM_ASSETS_DATABASE_URL")
    started = False
    if not url:
        os.environ["LLM_ASSETS_HOME"] = str(tmp / "home")
        url = services.up().url
        os.environ["LLM_ASSETS_DATABASE_URL"] = url
        started = True
    migrations.upgrade(url)
    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE cntl_af.cntl_cfg_log")
    return url, started


def _count(url: str) -> int:
    from llm_assets.store import connection

    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM cntl_af.cntl_cfg_log")
        return cur.fetchone()[0]


def _tick(instance, cursor):
    import dagster as dg

    from llm_assets.defs.log_mirror import log_mirror_sensor

    started = time.perf_counter()
    result = log_mirror_sensor()(dg.build_sensor_context(instance=instance, cursor=cursor))
    return result, time.perf_counter() - started


def backlog(instance, url: str, n: int) -> dict:
    from tests.log.synthetic import synthetic_job, synthetic_run

    job = synthetic_job()
    started = time.perf_counter()
    for i in range(n):
        synthetic_run(instance, job, outcome="failure" if i % 10 == 0 else "success")
    created = time.perf_counter() - started
    result, seconds = _tick(instance, None)
    rows = _count(url)
    replay, replay_s = _tick(instance, None)
    assert _count(url) == rows, "replay changed the row count"
    return {"runs": n, "create_s": created, "tick_s": seconds, "rows": rows,
            "summary": result.skip_reason.skip_message, "replay_s": replay_s,
            "cursor": result.cursor}


def lag(instance, url: str, cursor: str, interval: float, duration: float,
        rate: float) -> dict:
    import dagster as dg

    from llm_assets.store import connection
    from tests.log.synthetic import synthetic_job, synthetic_run

    job = synthetic_job(("lag_a", "lag_b"), stream="lag")
    produced: list[str] = []
    stop = threading.Event()

    def producer():
        next_at = time.monotonic()
        while not stop.is_set():
            produced.append(synthetic_run(instance, job).run_id)
            next_at += 1.0 / rate
            time.sleep(max(0.0, next_at - time.monotonic()))

    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    ticks, end = [], time.monotonic() + duration
    while time.monotonic() < end:
        time.sleep(interval)
        result, seconds = _tick(instance, cursor)
        cursor = result.cursor
        ticks.append(seconds)
    stop.set()
    thread.join()
    time.sleep(interval)
    result, seconds = _tick(instance, cursor)  # drain what the producer made last
    ticks.append(seconds)
    ends = {r.dagster_run.run_id: r.end_time
            for r in instance.get_run_records(filters=dg.RunsFilter(run_ids=produced))}
    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id, max(extract(epoch FROM upt_dt)) FROM cntl_af.cntl_cfg_log "
                    "WHERE prcs_nm IN ('lag_a', 'lag_b') GROUP BY run_id")
        written = dict(cur.fetchall())
    lags = sorted(float(written[r]) - ends[r] for r in produced if r in written)
    return {"runs": len(produced), "mirrored": len(lags), "ticks": len(ticks),
            "tick_max_s": max(ticks), "p50": statistics.median(lags),
            "p95": lags[int(0.95 * (len(lags) - 1))], "max": lags[-1], "rate": rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=4.0, help="runs finished per second")
    args = parser.parse_args()

    import dagster as dg

    from llm_assets.cli import services

    with tempfile.TemporaryDirectory(prefix="bench-log-mirror-") as tmp:
        url, started = _control_db(Path(tmp))
        try:
            (Path(tmp) / "dagster").mkdir()
            with dg.DagsterInstance.local_temp(str(Path(tmp) / "dagster")) as instance:
                b = backlog(instance, url, args.runs)
                lagged = lag(instance, url, b["cursor"], args.interval, args.duration,
                             args.rate)
        finally:
            if started:
                services.down()
    command = "python bench/bench_log_mirror.py " + " ".join(sys.argv[1:])
    print("## CNTL_CFG_LOG mirror\n")
    print(f"Command: `{command.strip()}` (SQLite DagsterInstance, Postgres 18 control DB, "
          f"{os.cpu_count()} cores)\n")
    print("| measure | value |\n|---|---|")
    print(f"| finished runs in backlog (3 processes each) | {b['runs']} |")
    print(f"| runs mirrored by ONE tick | {b['runs']} ({b['rows']} rows) |")
    print(f"| duration of that tick | {b['tick_s']:.2f} s "
          f"({b['runs'] / b['tick_s']:.0f} runs/s) |")
    print(f"| replayed tick over the same runs (no new rows) | {b['replay_s']:.2f} s |")
    print(f"| lag run end -> log row, p50 / p95 / max | {lagged['p50']:.2f} / "
          f"{lagged['p95']:.2f} / {lagged['max']:.2f} s (tick every {args.interval:g} s, "
          f"{lagged['rate']:g} runs/s, {lagged['mirrored']}/{lagged['runs']} runs) |")
    print(f"| slowest tick during the lag run | {lagged['tick_max_s']:.2f} s |")
    print("\nLag = the wait for the next tick + the tick itself: at most about one interval "
          "plus one or two tick durations (a run that finishes while a tick is reading is "
          "written by the next tick).")
    print(f"\nSensor tick summary: {b['summary']}")


if __name__ == "__main__":
    main()
