"""What a run costs around the user's code: per-step overhead at 10 and 10,000 processes,
an empty notebook against plain papermill, and the latency a 4-tier stream adds.

Real runs: an embedded Postgres holds the control tables, `dagster job execute` runs the
stream (code location initialization, run worker, multiprocess executor, dagstermill), and
the figures come from the Dagster event log (STEP_START, STEP_SUCCESS, ...) and from the
stamps the benchmark notebooks write (`notebooks/bench/stamp.ipynb`, `stamp.py`).

    .venv/bin/python bench/bench_runs.py [--repeats 3] [--large 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

PROBE_ROWS = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('bench_probe'), ('bench_empty'),
    ('bench_empty_py'), ('bench_tiers');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES
    ('bench_probe_g', 'bench_probe', 1), ('bench_empty_g', 'bench_empty', 1),
    ('bench_empty_py_g', 'bench_empty_py', 1),
    ('bench_tier1', 'bench_tiers', 1), ('bench_tier2', 'bench_tiers', 2),
    ('bench_tier3', 'bench_tiers', 3), ('bench_tier4', 'bench_tiers', 4);
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) VALUES
    ('probe_nb', 'bench_probe_g', 'bench/stamp.ipynb'),
    ('probe_py', 'bench_probe_g', 'bench/stamp.py'),
    ('empty_nb', 'bench_empty_g', 'bench/empty.ipynb'),
    ('empty_py', 'bench_empty_py_g', 'bench/stamp.py');
"""


def _tier_rows() -> str:
    values = ", ".join(f"('tier{t}_p{i}', 'bench_tier{t}', 'bench/empty.ipynb')"
                       for t in range(1, 5) for i in range(5))
    return f"INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) VALUES {values};"


def _seed(url: str, n: int) -> None:
    import psycopg2.extras

    from bench.synthetic import insert_sql, synthetic_snapshot
    from llm_assets.store import connection, migrations

    migrations.upgrade(url)
    with connection.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE cntl_af.cntl_cfg_prcs_depn, cntl_af.cntl_cfg_prcs, "
                    "cntl_af.cntl_cfg_prcs_grp, cntl_af.cntl_cfg_schedule, "
                    "cntl_af.cntl_cfg_strem, cntl_af.cntl_cfg_log CASCADE")
        if n:
            for sql, rows in insert_sql(synthetic_snapshot(n)):
                psycopg2.extras.execute_values(cur, sql, rows, page_size=2000)
        cur.execute(PROBE_ROWS)
        cur.execute(_tier_rows())


def _execute(stream: str, env: dict) -> tuple[float, str]:
    """`dagster job execute` of one stream: (wall seconds, run id)."""
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "dagster"), "job", "execute", "-m",
                           "llm_assets.definitions", "-j", stream], env=env,
                          cwd=env["LLM_ASSETS_HOME"],
                          capture_output=True, text=True, timeout=1800, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"stream {stream} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    with _instance(env) as instance:
        run = instance.get_runs(limit=1)[0]
    return wall, run.run_id


class _instance:
    def __init__(self, env: dict):
        self.env = env

    def __enter__(self):
        import dagster as dg

        os.environ["DAGSTER_HOME"] = self.env["DAGSTER_HOME"]
        self.instance = dg.DagsterInstance.get()
        return self.instance

    def __exit__(self, *exc):
        self.instance.dispose()


def _events(env: dict, run_id: str) -> tuple[dict, dict]:
    """(run-level first timestamps by event name, {step: {event: timestamp}}), metadata."""
    run_level, steps, meta = {}, {}, {}
    with _instance(env) as instance:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None:
                continue
            name = event.event_type.name
            if event.step_key:
                steps.setdefault(event.step_key, {}).setdefault(name, record.timestamp)
                if name == "ASSET_MATERIALIZATION":
                    meta[event.step_key] = {
                        k: getattr(v, "value", v)
                        for k, v in event.event_specific_data.materialization.metadata.items()}
            else:
                run_level.setdefault(name, record.timestamp)
    return run_level, {"steps": steps, "meta": meta}


def _notebook_phases(home: Path, stream: str, process: str, run_id: str) -> dict:
    """Kernel-side phases from the executed notebook papermill stored in the data lake."""
    from datetime import datetime

    path = home / "datalake" / "runs" / stream / process / run_id / f"{process}.ipynb"
    nb = json.loads(path.read_text())

    def ts(value):
        return datetime.fromisoformat(value).timestamp()

    pm = nb["metadata"]["papermill"]
    cells = [c["metadata"].get("papermill", {}) for c in nb["cells"]]
    code = [(c, cell) for c, cell in zip(cells, nb["cells"]) if c.get("start_time")]
    first = ts(code[0][0]["start_time"])
    context = next(c for c, cell in code if "injected-parameters" in
                   cell["metadata"].get("tags", []))
    last_end = max(ts(c["end_time"]) for c, _ in code if c.get("end_time"))
    return {"papermill_start": ts(pm["start_time"]), "kernel_ready": first,
            "dagstermill_context": context["duration"], "cells_end": last_end,
            "papermill_end": ts(pm["end_time"])}


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """How many of the (start, end) intervals overlap at most."""
    points = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    best = current = 0
    for _, delta in points:  # an end sorts before a start at the same instant
        current += delta
        best = max(best, current)
    return best


def max_concurrent(env: dict, run_id: str) -> tuple[int, str]:
    """The executor's limit for this run and where it comes from."""
    with _instance(env) as instance:
        run_config = instance.get_run_by_id(run_id).run_config or {}
    configured = (run_config.get("execution", {}).get("config", {}) or {}).get("max_concurrent")
    if configured:
        return int(configured), "the run config"
    from_env = os.environ.get("DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT")
    if from_env:
        return int(from_env), "DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT"
    return os.cpu_count() or 1, ("not configured (no run config, no "
                                 "DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT): Dagster's "
                                 "default, the CPU count")


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def per_step(env: dict, url: str, repeats: int, sizes: list[int]) -> list[str]:
    from tests.support.pg import control_table_reads

    results = {}
    for n in sizes:
        _seed(url, n)
        rows = {"nb": [], "py": [], "reads": []}
        for _ in range(repeats):
            before = control_table_reads(url, settle=1.1)
            _, run_id = _execute("bench_probe", env)
            rows["reads"].append(control_table_reads(url, settle=1.1) - before)
            _, data = _events(env, run_id)
            for kind in ("nb", "py"):
                step = f"probe_{kind}"
                rows[kind].append(data["meta"][step]["code_started"]
                                  - data["steps"][step]["STEP_START"])
        results[n] = rows
    small, large = sizes[0], sizes[-1]
    out = ["## Per-step overhead\n",
           f"Command: `.venv/bin/python bench/bench_runs.py --repeats {repeats} "
           f"--large {large}` (section 1)\n",
           "Seconds from Dagster's STEP_START to the first line of the process's own code "
           "(the stamp in `notebooks/bench/stamp.ipynb` / `stamp.py`), in a 2-process stream "
           "run by `dagster job execute` while the code location holds the whole synthetic "
           "graph. Control-table reads are counted server-side over the whole command: the "
           "6 are the code location's one initialization read (one query per table).\n",
           "| processes in the code location | notebook: STEP_START -> code s | script: "
           "STEP_START -> code s | control-table reads per run |",
           "|---:|---|---|---:|"]
    for n in sizes:
        r = results[n]
        out.append(f"| {n:,} | {_fmt(r['nb'])} | {_fmt(r['py'])} | "
                   f"{statistics.median(r['reads']):.0f} |")
    ratio_nb = statistics.median(results[large]["nb"]) / statistics.median(results[small]["nb"])
    ratio_py = statistics.median(results[large]["py"]) / statistics.median(results[small]["py"])
    reads = max(max(r["reads"]) for r in results.values())
    out.append(f"\nRatio {large:,} / {small:,} processes: notebook **{ratio_nb:.2f}**, "
               f"script **{ratio_py:.2f}** (target <= 1.2: "
               f"{'met' if max(ratio_nb, ratio_py) <= 1.2 else 'NOT met'}). Control-table "
               f"reads after initialization: **{reads - 6:.0f}** (target 0).")
    return out


def notebook_overhead(env: dict, home: Path, url: str, repeats: int) -> list[str]:
    import papermill

    _seed(url, 0)
    notebook = ROOT / "notebooks" / "bench" / "empty.ipynb"
    plain, plain_inproc, ours, ours_py, ours_pm, step_pm = [], [], [], [], [], []
    phases = {k: [] for k in ("command start + definitions load", "run start -> step worker "
                              "started", "step worker -> STEP_START", "STEP_START -> papermill",
                              "kernel start", "dagstermill context cell", "notebook cells",
                              "kernel teardown + write", "store .ipynb + HTML, events",
                              "step end -> run end", "run end -> command exit")}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([str(BIN / "papermill"), "--no-progress-bar", str(notebook),
                            f"{tmp}/out.ipynb"], check=True, capture_output=True, timeout=300)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            papermill.execute_notebook(str(notebook), f"{tmp}/out2.ipynb", progress_bar=False)
            plain_inproc.append(time.perf_counter() - started)
    for _ in range(repeats):
        t_cmd = time.time()
        wall, run_id = _execute("bench_empty", env)
        ours.append(wall)
        run_level, data = _events(env, run_id)
        step = data["steps"]["empty_nb"]
        nb = _notebook_phases(home, "bench_empty", "empty_nb", run_id)
        phases["command start + definitions load"].append(run_level["RUN_START"] - t_cmd)
        phases["run start -> step worker started"].append(
            step["STEP_WORKER_STARTED"] - run_level["RUN_START"])
        phases["step worker -> STEP_START"].append(step["STEP_START"]
                                                   - step["STEP_WORKER_STARTED"])
        phases["STEP_START -> papermill"].append(nb["papermill_start"] - step["STEP_START"])
        phases["kernel start"].append(nb["kernel_ready"] - nb["papermill_start"])
        phases["dagstermill context cell"].append(nb["dagstermill_context"])
        phases["notebook cells"].append(nb["cells_end"] - nb["kernel_ready"]
                                        - nb["dagstermill_context"])
        phases["kernel teardown + write"].append(nb["papermill_end"] - nb["cells_end"])
        phases["store .ipynb + HTML, events"].append(step["STEP_SUCCESS"] - nb["papermill_end"])
        phases["step end -> run end"].append(run_level["RUN_SUCCESS"] - step["STEP_SUCCESS"])
        phases["run end -> command exit"].append(t_cmd + wall - run_level["RUN_SUCCESS"])
        wall_py, _ = _execute("bench_empty_py", env)
        ours_py.append(wall_py)
        wall_pm, run_pm = _execute("bench_empty", {**env, "LLM_ASSETS_NOTEBOOK_ENGINE":
                                                  "papermill"})
        ours_pm.append(wall_pm)
        _, data_pm = _events(env, run_pm)
        step_pm.append(data_pm["steps"]["empty_nb"]["STEP_SUCCESS"]
                       - data_pm["steps"]["empty_nb"]["STEP_START"])
    step_nb = [sum(phases[k][i] for k in ("STEP_START -> papermill", "kernel start",
                                          "dagstermill context cell", "notebook cells",
                                          "kernel teardown + write",
                                          "store .ipynb + HTML, events"))
               for i in range(repeats)]
    m = statistics.median
    out = ["## Notebook overhead\n",
           f"Command: `.venv/bin/python bench/bench_runs.py --repeats {repeats}` (section 2)\n",
           "The empty notebook `notebooks/bench/empty.ipynb` as a one-process stream run by "
           "`dagster job execute`, against the same notebook run by plain papermill (what the "
           "original framework ran per process), and against the same process written as a "
           "`.py` script process (no kernel).\n",
           "| what | seconds (median, min-max) | ratio to plain papermill CLI |",
           "|---|---|---:|",
           f"| plain `papermill` CLI | {_fmt(plain)} | 1.00 |",
           f"| `papermill.execute_notebook` in a warm process | {_fmt(plain_inproc)} | "
           f"{m(plain_inproc) / m(plain):.2f} |",
           f"| llm_assets notebook process, whole `dagster job execute` | {_fmt(ours)} | "
           f"{m(ours) / m(plain):.2f} |",
           f"| llm_assets notebook process, the step alone (STEP_START -> STEP_SUCCESS) | "
           f"{_fmt(step_nb)} | {m(step_nb) / m(plain):.2f} |",
           f"| llm_assets notebook process, papermill engine (`LLM_ASSETS_NOTEBOOK_ENGINE="
           f"papermill`), whole `dagster job execute` | {_fmt(ours_pm)} | "
           f"{m(ours_pm) / m(plain):.2f} |",
           f"| llm_assets notebook process, papermill engine, the step alone | {_fmt(step_pm)} "
           f"| {m(step_pm) / m(plain):.2f} |",
           f"| llm_assets script process (`.py`), whole `dagster job execute` | {_fmt(ours_py)} "
           f"| {m(ours_py) / m(plain):.2f} |",
           "",
           "Where the notebook process's time goes (median s):\n",
           "| phase | s |", "|---|---:|"]
    out += [f"| {name} | {m(values):.2f} |" for name, values in phases.items()]
    def verdict(ratio: float) -> str:
        return f"{ratio:.2f} ({'met' if ratio <= 1.5 else '**NOT met**'})"

    out.append("\nTarget (notebook step <= 1.5 x plain papermill): dagstermill engine "
               + verdict(m(step_nb) / m(plain)) + ", papermill engine "
               + verdict(m(step_pm) / m(plain)) + ".")
    return out


def stream_latency(env: dict, url: str, repeats: int) -> list[str]:
    _seed(url, 0)
    walls, works, gaps_sched, gaps_start = [], [], [], []
    for _ in range(repeats):
        _, run_id = _execute("bench_tiers", env)
        run_level, data = _events(env, run_id)
        steps = data["steps"]
        walls.append(run_level["RUN_SUCCESS"] - run_level["RUN_START"])
        works.append(sum(s["STEP_SUCCESS"] - s["STEP_START"] for key, s in steps.items()
                         if "__tier_" not in key))  # processes only, not the tier gates
        for tier in range(1, 4):
            done = max(steps[f"tier{tier}_p{i}"]["STEP_SUCCESS"] for i in range(5))
            nxt = [steps[f"tier{tier + 1}_p{i}"] for i in range(5)]
            gaps_sched.append(min(s["STEP_WORKER_STARTING"] for s in nxt) - done)
            gaps_start.append(min(s["STEP_START"] for s in nxt) - done)
    m = statistics.median
    return ["## Stream latency\n",
            f"Command: `.venv/bin/python bench/bench_runs.py --repeats {repeats}` (section 3)\n",
            "A stream of 20 no-op notebook processes (`notebooks/bench/empty.ipynb`) in 4 "
            "priority tiers of 5 (groups `prir` 1-4), run by `dagster job execute` with the "
            "multiprocess executor (2 steps at a time on this 2-core machine).\n",
            "| measure | seconds (median, min-max) |", "|---|---|",
            f"| run wall time (RUN_START -> RUN_SUCCESS) | {_fmt(walls)} |",
            f"| sum of the 20 steps' work (STEP_START -> STEP_SUCCESS) | {_fmt(works)} |",
            f"| sum of work / 2 parallel slots | {m(works) / 2:.2f} |",
            f"| per tier: last step of tier k done -> first worker of tier k+1 launched | "
            f"{_fmt(gaps_sched)} |",
            f"| per tier: last step of tier k done -> first STEP_START of tier k+1 (includes "
            f"starting the step process) | {_fmt(gaps_start)} |",
            "",
            f"Target (under 1 s added per tier; the original polled every 10 s): "
            f"{'met' if m(gaps_start) < 1 else '**NOT met**'} "
            f"({m(gaps_start):.2f} s median, worst {max(gaps_start):.2f} s)."]


@contextmanager
def embedded_project(prefix: str) -> Iterator[tuple[dict, Path, str]]:
    """An embedded Postgres under a fresh LLM_ASSETS_HOME: (env for Dagster commands, home,
    control-database URL).  This process reads the same Dagster instance.  Stopped after."""
    from llm_assets.cli import services

    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["LLM_ASSETS_HOME"] = str(home)
    os.environ.pop("LLM_ASSETS_DATABASE_URL", None)
    os.environ.pop("LLM_ASSETS_NOTEBOOK_ENGINE", None)
    url = services.up().url
    env = {**os.environ, **services.local_env(), "LLM_ASSETS_PROFILE": "local",
           "PYTHONUNBUFFERED": "1"}
    (home / "dagster").mkdir(exist_ok=True)
    os.environ.update(env)
    try:
        yield env, home, url
    finally:
        os.environ.pop("LLM_ASSETS_DATABASE_URL", None)  # else down() treats it as external
        services.down()
        shutil.rmtree(home)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--sections", default="1,2,3")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    out = []
    with embedded_project("llm-assets-bench-runs-") as (env, home, url):
        if "1" in args.sections:
            out += per_step(env, url, args.repeats, [10, args.large]) + [""]
        if "2" in args.sections:
            out += notebook_overhead(env, home, url, args.repeats) + [""]
        if "3" in args.sections:
            out += stream_latency(env, url, args.repeats) + [""]
    out.append(f"(load average when the benchmark started: {load:.2f})")
    print("\n".join(out))


if __name__ == "__main__":
    main()
