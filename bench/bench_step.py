"""Per-step overhead at 10 and at 10,000 processes (issue 8, item 3).

The code location holds the synthetic graph (`bench/synthetic.py`) plus one small stream,
`bench_step`, with two stamp processes: `step_nb` (`notebooks/bench/stamp.ipynb`) and `step_py`
(`notebooks/bench/stamp.py`).  Each records `time.time()` in its first line of own code (the
cell after the injected parameters) through `nb.report(code_started=...)`, which lands in the
materialization metadata.  The stream runs with the real `dagster job execute` CLI against an
embedded Postgres; STEP_START and the other timestamps come from the Dagster event log.

Control-table reads are counted server-side (`tests/support/pg.py`) around each command, and
separately around a bare code-location load (initialization) in a fresh process: the reads of
a run after initialization are the difference.

    .venv/bin/python bench/bench_step.py [--repeats 3] [--sizes 10,10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_runs import (  # noqa: E402
    _events,
    _execute,
    _fmt,
    _notebook_phases,
    embedded_project,
)

STREAM = "bench_step"
STEP_ROWS = f"""
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('{STREAM}');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir)
    VALUES ('{STREAM}_g', '{STREAM}', 1);
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) VALUES
    ('step_nb', '{STREAM}_g', 'bench/stamp.ipynb'),
    ('step_py', '{STREAM}_g', 'bench/stamp.py');
"""

# a bare code-location load, as `dagster job execute -m llm_assets.definitions` does it
LOAD_ONLY = ("from dagster._core.definitions.reconstruct import ReconstructableRepository\n"
             "ReconstructableRepository.for_module('llm_assets.definitions', 'defs')"
             ".get_definition()\n")


def seed(url: str, n: int, sql: str) -> None:
    """Replace the control rows with `n` synthetic processes (0: none) plus `sql`."""
    import psycopg2.extras

    from bench.synthetic import insert_sql, synthetic_snapshot
    from llm_assets.store import connection, migrations

    migrations.upgrade(url)
    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE cntl_af.cntl_cfg_prcs_depn, cntl_af.cntl_cfg_prcs, "
                    "cntl_af.cntl_cfg_prcs_grp, cntl_af.cntl_cfg_schedule, "
                    "cntl_af.cntl_cfg_strem, cntl_af.cntl_cfg_log CASCADE")
        if n:
            for statement, rows in insert_sql(synthetic_snapshot(n)):
                psycopg2.extras.execute_values(cur, statement, rows, page_size=2000)
        cur.execute(sql)


def _initialization_reads(url: str, env: dict) -> int:
    from tests.support.pg import control_table_reads

    before = control_table_reads(url, settle=1.1)
    subprocess.run([sys.executable, "-c", LOAD_ONLY], env=env, cwd=env["LLM_ASSETS_HOME"],
                   check=True, capture_output=True, timeout=900)
    return control_table_reads(url, settle=1.1) - before


def measure(env: dict, home: Path, url: str, n: int, repeats: int) -> dict:
    from tests.support.pg import control_table_reads

    seed(url, n, STEP_ROWS)
    rows = {k: [] for k in ("nb", "py", "worker", "kernel", "context", "kb", "reads", "wall")}
    rows["init_reads"] = _initialization_reads(url, env)
    _execute(STREAM, env)  # warm-up, not measured (first kernel, page cache, instance)
    rows["load"] = [os.getloadavg()[0]]
    for _ in range(repeats):
        before = control_table_reads(url, settle=1.1)
        wall, run_id = _execute(STREAM, env)
        rows["reads"].append(control_table_reads(url, settle=1.1) - before)
        rows["wall"].append(wall)
        _, data = _events(env, run_id)
        steps, meta = data["steps"], data["meta"]
        for kind in ("nb", "py"):
            rows[kind].append(meta[f"step_{kind}"]["code_started"]
                              - steps[f"step_{kind}"]["STEP_START"])
        rows["worker"].append(steps["step_nb"]["STEP_START"]
                              - steps["step_nb"]["STEP_WORKER_STARTING"])
        phases = _notebook_phases(home, STREAM, "step_nb", run_id)
        rows["kernel"].append(phases["kernel_ready"] - phases["papermill_start"])
        rows["context"].append(phases["dagstermill_context"])
        executed = home / "datalake" / "runs" / STREAM / "step_nb" / run_id / "step_nb.ipynb"
        rows["kb"].append(executed.stat().st_size / 1024)
    rows["load"].append(os.getloadavg()[0])
    return rows


def report(results: dict[int, dict], sizes: list[int], repeats: int) -> list[str]:
    m = statistics.median
    small, large = sizes[0], sizes[-1]
    out = ["## Per-step overhead\n",
           f"Command: `.venv/bin/python bench/bench_step.py --repeats {repeats} --sizes "
           f"{','.join(map(str, sizes))}`\n",
           f"Seconds from Dagster's STEP_START to the first line of the process's own code "
           f"(`notebooks/bench/stamp.ipynb`: the cell after the injected parameters; "
           f"`notebooks/bench/stamp.py`), in the 2-process stream `{STREAM}` run by "
           f"`dagster job execute -m llm_assets.definitions -j {STREAM}` while the code "
           f"location also holds the synthetic graph. Median (min-max) of {repeats} runs per "
           f"size; one embedded Postgres, one Dagster instance.\n",
           "| processes in the code location | notebook: STEP_START -> code s | script: "
           "STEP_START -> code s | of which kernel start s | of which dagstermill context "
           "cell s | step worker launched -> STEP_START s (the first step also starts the run's "
           "forkserver) | executed notebook KB | "
           "`dagster job execute` wall s |",
           "|---:|---|---|---|---|---|---:|---|"]
    for n in sizes:
        r = results[n]
        out.append(f"| {n:,} + 2 | {_fmt(r['nb'])} | {_fmt(r['py'])} | {_fmt(r['kernel'])} | "
                   f"{_fmt(r['context'])} | {_fmt(r['worker'])} | {m(r['kb']):.0f} | "
                   f"{_fmt(r['wall'])} |")
    ratio_nb = m(results[large]["nb"]) / m(results[small]["nb"])
    ratio_py = m(results[large]["py"]) / m(results[small]["py"])
    out += ["", f"Ratio {large:,} / {small:,} synthetic processes, medians of the same run: "
            f"notebook **{ratio_nb:.2f}**, script **{ratio_py:.2f}** (script steps take "
            f"about 0.01-0.02 s, so their ratio is mostly timer noise)."]
    verdict = "met" if ratio_nb <= 1.2 else "**NOT met**"
    cause = ""
    if ratio_nb > 1.2:
        grew = max(("kernel start", "kernel"), ("dagstermill context cell", "context"),
                   ("step worker start", "worker"),
                   key=lambda kv: m(results[large][kv[1]]) - m(results[small][kv[1]]))
        cause = (f" Largest growth: {grew[0]} "
                 f"({m(results[small][grew[1]]):.2f} s -> {m(results[large][grew[1]]):.2f} s).")
    out.append(f"Target (notebook ratio <= 1.2): {verdict}.{cause}\n")
    out += ["| processes in the code location | control-table reads per `dagster job execute` "
            "| reads of one code-location load (initialization, fresh process) | reads after "
            "initialization |", "|---:|---|---:|---:|"]
    after = []
    for n in sizes:
        r = results[n]
        extra = [x - r["init_reads"] for x in r["reads"]]
        after += extra
        out.append(f"| {n:,} + 2 | {', '.join(map(str, r['reads']))} | {r['init_reads']} | "
                   f"{', '.join(map(str, extra))} |")
    worst = max(after)
    out.append(f"\nTarget (zero control-table queries after initialization): "
               f"{'met' if worst == 0 else '**NOT met**'} (at most {worst} in a run; run "
               "worker, step processes and kernels get the snapshot through Dagster's "
               "reconstruction metadata).\n")
    loads = ", ".join(f"{n:,}: {r['load'][0]:.2f} -> {r['load'][1]:.2f}"
                      for n, r in results.items())
    out.append(f"(1-minute load average at the start -> end of each size: {loads}; "
               f"{os.cpu_count()} cores)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="10,10000",
                        help="synthetic processes besides the 2 stamp processes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with embedded_project("llm-assets-bench-step-") as (env, home, url):
        results = {n: measure(env, home, url, n, args.repeats) for n in sizes}
    print("\n".join(report(results, sizes, args.repeats)))


if __name__ == "__main__":
    main()
