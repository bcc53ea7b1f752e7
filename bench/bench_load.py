"""Definitions load at 100 / 1,000 / 10,000 processes: llm_assets versus the same graph
hand-written with one @dg.asset per process and the same per-stream jobs.

"Load" = what a code server does: build the definitions and `RepositorySnap.from_def`
(resolves every job and asset node).  Each measurement runs in a fresh subprocess; peak
memory is that subprocess's ru_maxrss.  llm_assets also reads the synthetic rows from a real
embedded Postgres (one query per table, counted server-side).

    .venv/bin/python bench/bench_load.py [--sizes 100,1000,10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
kind, n, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
import dagster as dg
from dagster._core.remote_representation.external_data import RepositorySnap
from bench.synthetic import synthetic_snapshot
from llm_assets.core.graph import build_graph
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
    snap = synthetic_snapshot(n)
    graph = build_graph(snap)
    t_start = time.perf_counter()
    assets = []
    for p in snap.processes:
        g = snap.group_by_name[p.prcs_grp]
        ups = graph.data_deps.get(p.prcs_nm, ())
        order = graph.order_deps.get(p.prcs_nm, ())
        @dg.asset(name=p.prcs_nm, group_name=g.prcs_grp, deps=list(order),
                  ins={{u: dg.AssetIn(u) for u in ups}}, kinds={{"ipynb"}},
                  metadata={{"stream": g.strem_nm}})
        def _a(context, **inputs):
            return None
        assets.append(_a)
    streams = {{}}
    for g in snap.groups:
        streams.setdefault(g.strem_nm, []).append(g.prcs_grp)
    jobs = [dg.define_asset_job(s, selection=dg.AssetSelection.groups(*gs))
            for s, gs in streams.items()]
    defs = dg.Definitions(assets=assets, jobs=jobs)
repo = defs.get_repository_def()
RepositorySnap.from_def(repo)
t_end = time.perf_counter()
print(json.dumps({{"load_s": t_end - t_start, "with_read_s": t_end - t_import,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _seed(url: str, n: int) -> None:
    import psycopg2.extras

    from bench.synthetic import insert_sql, synthetic_snapshot
    from llm_assets.store import connection, migrations

    migrations.upgrade(url)
    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE cntl_af.cntl_cfg_prcs_depn, cntl_af.cntl_cfg_prcs, "
                    "cntl_af.cntl_cfg_prcs_grp, cntl_af.cntl_cfg_schedule, "
                    "cntl_af.cntl_cfg_strem CASCADE")
        for sql, rows in insert_sql(synthetic_snapshot(n)):
            psycopg2.extras.execute_values(cur, sql, rows, page_size=2000)


def _measure(kind: str, n: int, url: str, env: dict) -> dict:
    code = CHILD.format(root=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, kind, str(n), url], env=env,
                         capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from llm_assets.cli import services
    from tests.support.pg import control_table_reads

    home = tempfile.mkdtemp(prefix="llm-assets-bench-")
    os.environ["LLM_ASSETS_HOME"] = home
    os.environ.pop("LLM_ASSETS_DATABASE_URL", None)
    url = services.up().url
    env = dict(os.environ, LLM_ASSETS_DATABASE_URL=url, LLM_ASSETS_HOME=home)
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            _seed(url, n)
            reads_before = control_table_reads(url, settle=1.1)
            ours = [_measure("ours", n, url, env) for _ in range(args.repeats)]
            reads = (control_table_reads(url, settle=1.1) - reads_before) / args.repeats
            base = [_measure("handwritten", n, url, env) for _ in range(args.repeats)]
            rows.append((n, ours, base, reads))
    finally:
        services.down()
    print("## Definitions load\n")
    print("Command: `.venv/bin/python bench/bench_load.py "
          f"--sizes {args.sizes} --repeats {args.repeats}`\n")
    print("Load = build definitions + `RepositorySnap.from_def` (what a code server does), "
          "fresh subprocess per measurement; llm_assets' figure excludes its read of the "
          "control tables, shown separately.\n")
    print("| processes | llm_assets load s (median, min-max) | read of control tables s | "
          "hand-written @dg.asset s (median, min-max) | ratio | peak RSS MB ours / hand | "
          "control-table queries per load |")
    print("|---:|---|---:|---|---:|---|---:|")
    prev = None
    for n, ours, base, reads in rows:
        o = [m["load_s"] for m in ours]
        b = [m["load_s"] for m in base]
        read = statistics.median(m["with_read_s"] - m["load_s"] for m in ours)
        print(f"| {n:,} | {statistics.median(o):.2f} ({min(o):.2f}-{max(o):.2f}) | "
              f"{read:.2f} | {statistics.median(b):.2f} ({min(b):.2f}-{max(b):.2f}) | "
              f"{statistics.median(o) / statistics.median(b):.2f} | "
              f"{statistics.median(m['rss_mb'] for m in ours):.0f} / "
              f"{statistics.median(m['rss_mb'] for m in base):.0f} | {reads:.0f} |")
        if prev:
            growth = statistics.median(o) / prev[1]
            print(f"|  | growth x{growth:.1f} for x{n // prev[0]} processes | | | | | |")
        prev = (n, statistics.median(o))


if __name__ == "__main__":
    main()
