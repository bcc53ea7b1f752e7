"""Definitions load and `dagster definitions validate` at 100 / 1,000 / 10,000 processes, for
the narrow and the wide-tier synthetic shapes (bench/synthetic.py): llm_assets against the same
processes hand-written with one @dg.asset each and the same per-stream jobs
(bench/handwritten.py: data dependencies only, no tier edges).

"Load" = what a code server does with the control rows it read: validate them and describe
their notebooks (`ControlState.build`), build the definitions and `RepositorySnap.from_def`
(resolves every job and asset node).  Each measurement runs in a fresh subprocess; peak memory
is that subprocess's ru_maxrss.  llm_assets reads the synthetic rows from a real embedded
Postgres (one query per table, counted server-side).  `validate` = the wall time of the
`dagster definitions validate` command on each code location.

    .venv/bin/python bench/bench_load.py [--sizes 100,1000,10000] [--shapes narrow,wide]
        [--repeats 3] [--validate-sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
kind, n, url, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t0 = time.perf_counter()
import dagster as dg
from dagster._core.remote_representation.external_data import RepositorySnap
from bench.handwritten import handwritten_definitions
from bench.synthetic import synthetic_snapshot
t_import = time.perf_counter()
if kind == "ours":
    from llm_assets.core.settings import notebooks_dir
    from llm_assets.core.state import ControlState
    from llm_assets.defs.build import build_definitions
    from llm_assets.store.snapshot import load_snapshot
    snap = load_snapshot(url)
    t_start = time.perf_counter()
    # what the component does at a code-server load: validate and describe the notebooks
    # (the state), serialize it into the load data, and build the definitions from it
    state = ControlState.from_json(ControlState.build(snap, notebooks_dir()).to_json())
    defs = build_definitions(state)
else:
    snap = synthetic_snapshot(n, shape=shape)
    t_start = time.perf_counter()
    defs = handwritten_definitions(snap)
repo = defs.get_repository_def()
RepositorySnap.from_def(repo)
t_end = time.perf_counter()
print(json.dumps({{"load_s": t_end - t_start, "with_read_s": t_end - t_import,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _seed(url: str, n: int, shape: str) -> None:
    import psycopg2.extras

    from bench.synthetic import insert_sql, synthetic_snapshot
    from llm_assets.store import connection, migrations

    migrations.upgrade(url)
    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE cntl_af.cntl_cfg_prcs_depn, cntl_af.cntl_cfg_prcs, "
                    "cntl_af.cntl_cfg_prcs_grp, cntl_af.cntl_cfg_schedule, "
                    "cntl_af.cntl_cfg_strem CASCADE")
        for sql, rows in insert_sql(synthetic_snapshot(n, shape=shape)):
            psycopg2.extras.execute_values(cur, sql, rows, page_size=2000)


def _measure(kind: str, n: int, shape: str, url: str, env: dict) -> dict:
    code = CHILD.format(root=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, kind, str(n), url, shape], env=env,
                         capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _validate(kind: str, n: int, shape: str, env: dict) -> float:
    """Wall seconds of `dagster definitions validate` on one code location."""
    if kind == "ours":
        target = ["-m", "llm_assets.definitions"]
    else:
        target = ["-f", str(ROOT / "bench" / "handwritten.py")]
        env = dict(env, BENCH_PROCESSES=str(n), BENCH_SHAPE=shape,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                            env.get("PYTHONPATH")])))
    started = time.perf_counter()
    # from the bench home, not the repository root (whose .env Dagster would load)
    out = subprocess.run([str(BIN / "dagster"), "definitions", "validate", *target], env=env,
                         cwd=env["LLM_ASSETS_HOME"], capture_output=True, text=True,
                         timeout=3600, check=False)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"dagster definitions validate ({kind}, {shape}, {n}) failed:\n"
                           f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return wall


def _edges(n: int, shape: str) -> tuple[int, int, int]:
    """(ordering edges of llm_assets, tier gates, direct tier edges they stand for)."""
    from bench.synthetic import synthetic_snapshot
    from llm_assets.core.graph import build_graph

    graph = build_graph(synthetic_snapshot(n, shape=shape))
    direct = sum(len(v) for v in graph.order_deps.values() if not set(v) & set(graph.barriers))
    direct += sum(len(b.waits_for) * len(b.sources) for b in graph.barriers.values())
    return graph.ordering_edge_count(), len(graph.barriers), direct


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _load_table(shape: str, rows: list) -> list[str]:
    out = [f"### {shape} tiers\n",
           "| processes | llm_assets load s (median, min-max) | read of control tables s | "
           "hand-written @dg.asset s (median, min-max) | ratio | peak RSS MB ours / hand | "
           "control-table queries per load |",
           "|---:|---|---:|---|---:|---|---:|"]
    prev = None
    for n, ours, base, reads in rows:
        o = [m["load_s"] for m in ours]
        b = [m["load_s"] for m in base]
        read = statistics.median(m["with_read_s"] - m["load_s"] for m in ours)
        out.append(f"| {n:,} | {_fmt(o)} | {read:.2f} | {_fmt(b)} | "
                   f"{statistics.median(o) / statistics.median(b):.2f} | "
                   f"{statistics.median(m['rss_mb'] for m in ours):.0f} / "
                   f"{statistics.median(m['rss_mb'] for m in base):.0f} | {reads:.0f} |")
        if prev:
            out.append(f"|  | growth x{statistics.median(o) / prev[1]:.1f} for "
                       f"x{n // prev[0]} processes | | | | | |")
        prev = (n, statistics.median(o))
    return out + [""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--shapes", default="narrow,wide")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--validate-sizes", default="1000,10000",
                        help="sizes also timed with `dagster definitions validate` ('' = none)")
    args = parser.parse_args()
    from llm_assets.cli import services
    from tests.support.pg import control_table_reads

    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = [s for s in args.shapes.split(",") if s]
    validate_sizes = {int(s) for s in args.validate_sizes.split(",") if s}
    home = tempfile.mkdtemp(prefix="llm-assets-bench-")
    os.environ["LLM_ASSETS_HOME"] = home
    os.environ.pop("LLM_ASSETS_DATABASE_URL", None)
    load_start = os.getloadavg()[0]
    url = services.up().url
    # the local profile's environment: the Dagster instance of `dagster definitions validate`
    # (DAGSTER_HOME, its Postgres storage) and the control database
    env = {**os.environ, **services.local_env(), "LLM_ASSETS_PROFILE": "local"}
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    loads: dict[str, list] = {}
    validations = []
    try:
        for shape in shapes:
            for n in sizes:
                _seed(url, n, shape)
                reads_before = control_table_reads(url, settle=1.1)
                ours = [_measure("ours", n, shape, url, env) for _ in range(args.repeats)]
                reads = (control_table_reads(url, settle=1.1) - reads_before) / args.repeats
                base = [_measure("handwritten", n, shape, url, env)
                        for _ in range(args.repeats)]
                loads.setdefault(shape, []).append((n, ours, base, reads))
                if n in validate_sizes:
                    pairs = [(_validate("ours", n, shape, env),
                              _validate("handwritten", n, shape, env))
                             for _ in range(args.repeats)]  # interleaved
                    validations.append((shape, n, [p[0] for p in pairs],
                                        [p[1] for p in pairs]))
    finally:
        os.environ.pop("LLM_ASSETS_DATABASE_URL", None)
        services.down()
    load_end = os.getloadavg()[0]
    print("## Definitions load\n")
    print(f"Command: `.venv/bin/python bench/bench_load.py --sizes {args.sizes} --shapes "
          f"{args.shapes} --repeats {args.repeats} --validate-sizes {args.validate_sizes}`\n")
    print("Load = what a code server does with the rows it read: validate them and describe "
          "their notebooks, build the definitions, `RepositorySnap.from_def`; fresh subprocess "
          "per measurement; llm_assets' figure excludes its read of the control tables, shown "
          "separately. Hand-written = `bench/handwritten.py`: one `@dg.asset` per process with "
          "its data dependencies, no tier edges, one job per stream. Shapes "
          "(`bench/synthetic.py`): streams of 500 processes in 5 groups of 100 (prir 1-5); "
          "*narrow*: each process depends on up to 2 earlier processes of its own group; "
          "*wide*: on up to 2 processes of earlier groups, none of its own, so every process "
          "of a tier is both a source and a sink of it.\n")
    for shape in shapes:
        print("\n".join(_load_table(shape, loads[shape])))
    if validations:
        print("### `dagster definitions validate`\n")
        print("| shape | processes | llm_assets ordering edges (tier gates) | direct tier "
              "edges they stand for | llm_assets s (median, min-max) | hand-written s | "
              "ratio |")
        print("|---|---:|---|---:|---|---|---:|")
        for shape, n, ours, base in validations:
            edges, gates, direct = _edges(n, shape)
            print(f"| {shape} | {n:,} | {edges:,} ({gates}) | {direct:,} | {_fmt(ours)} | "
                  f"{_fmt(base)} | {statistics.median(ours) / statistics.median(base):.2f} |")
        print()
    wide = {n: (o, b) for n, o, b, _ in loads.get("wide", [])}
    checked = {(s, n): (o, b) for s, n, o, b in validations}
    if 10000 in wide and ("wide", 10000) in checked:
        o, b = checked[("wide", 10000)]
        ratio = statistics.median(o) / statistics.median(b)
        lo, lb = (statistics.median(m["load_s"] for m in x) for x in wide[10000])
        print(f"Targets (issue 14, wide tiers at 10,000 processes): `dagster definitions "
              f"validate` within 1.5x the hand-written graph: "
              f"{'met' if ratio <= 1.5 else '**NOT met**'} ({ratio:.2f}); load at most the "
              f"hand-written one: {'met' if lo <= lb else '**NOT met**'} ({lo:.2f} s vs "
              f"{lb:.2f} s).\n")
    print(f"(1-minute load average at the start -> end: {load_start:.2f} -> {load_end:.2f}; "
          f"{os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
