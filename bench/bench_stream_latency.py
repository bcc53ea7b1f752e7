"""Stream latency and wall time (issue 8 item 5, issue 17 item 2): a stream of 20 no-op
processes in 4 priority tiers, as notebooks (dagstermill engine, papermill engine) and as
`.py` script processes.

One process group holds 20 processes, 5 per tier with process `prir` 1..4 (no dependency rows:
the order comes from the priorities alone, as in `tests/fixtures/tiers.sql`): `bench_latency`
runs `notebooks/bench/empty.ipynb`, `bench_latency_py` runs `notebooks/bench/stamp.py`.  Each
stream runs with the real `dagster job execute` CLI and the project's executor (Dagster's
multiprocess executor, scoped); every figure comes from the run's event log:

- wall time RUN_START -> RUN_SUCCESS, against the sum of the steps' work (STEP_START ->
  STEP_SUCCESS of each step) divided by the usable parallelism: each tier's steps packed
  optimally on the executor's slots (5 equal steps on 2 slots take 3 step-times, not 2.5);
- where the rest of the wall time goes: run start (RUN_START -> first STEP_START: executor,
  forkserver, first step process), tier boundaries, inside tiers (step process starts between
  waves, uneven steps), run end;
- each step's start outside STEP_START..STEP_SUCCESS: launched -> STEP_START (fork from the
  forkserver and instance; then definitions and resources).

    .venv/bin/python bench/bench_stream_latency.py [--repeats 3]
        [--variants dagstermill,papermill,script] [--baseline DIR] [--warm-ups 1]

`--baseline DIR`: also run each variant with the llm_assets of DIR (a checkout of an earlier
commit) first on the path of the Dagster commands, interleaved, for a before/after.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_runs import (  # noqa: E402
    _events,
    _execute,
    _fmt,
    max_concurrent,
    max_overlap,
)
from bench.bench_step import embedded_project, seed  # noqa: E402

STREAM = "bench_latency"
TIERS, PER_TIER = 4, 5
VARIANTS = {  # name: (stream, process prefix, environment)
    "dagstermill": (STREAM, "lat", {"LLM_ASSETS_NOTEBOOK_ENGINE": "dagstermill"}),
    "papermill": (STREAM, "lat", {"LLM_ASSETS_NOTEBOOK_ENGINE": "papermill"}),
    "script": (f"{STREAM}_py", "latpy", {}),
}
LABELS = {"dagstermill": "notebooks, dagstermill engine (default)",
          "papermill": "notebooks, papermill engine", "script": "`.py` script processes"}


def _rows() -> str:
    sql = []
    for stream, prefix, path in ((STREAM, "lat", "bench/empty.ipynb"),
                                 (f"{STREAM}_py", "latpy", "bench/stamp.py")):
        values = ", ".join(f"('{prefix}_t{t}_p{i}', '{stream}_g', {t}, '{path}')"
                           for t in range(1, TIERS + 1) for i in range(PER_TIER))
        sql += [f"INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('{stream}');",
                f"INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) "
                f"VALUES ('{stream}_g', '{stream}', 1);",
                f"INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm) "
                f"VALUES {values};"]
    return "\n".join(sql)


def optimal_makespan(durations: list[float], slots: int) -> float:
    """The shortest time `slots` parallel slots need for these steps, each on one slot
    (exact: every assignment is tried; a tier has 5 steps)."""
    if slots >= len(durations):
        return max(durations, default=0.0)
    best = float("inf")
    for assignment in itertools.product(range(slots), repeat=len(durations)):
        loads = [0.0] * slots
        for slot, duration in zip(assignment, durations, strict=True):
            loads[slot] += duration
        best = min(best, max(loads))
    return best


def one_run(env: dict, variant: str) -> dict:
    stream, prefix, extra = VARIANTS[variant]
    cmd, run_id = _execute(stream, {**env, **extra})
    run_level, data = _events(env, run_id)
    steps = data["steps"]
    slots, source = max_concurrent(env, run_id)
    tiers = [[steps[f"{prefix}_t{t}_p{i}"] for i in range(PER_TIER)]
             for t in range(1, TIERS + 1)]
    works = [[s["STEP_SUCCESS"] - s["STEP_START"] for s in tier] for tier in tiers]
    spans = [max(s["STEP_SUCCESS"] for s in t) - min(s["STEP_START"] for s in t) for t in tiers]
    ideals = [optimal_makespan(w, slots) for w in works]
    gaps = []
    for tier, following in zip(tiers, tiers[1:], strict=False):
        gap = min(s["STEP_START"] for s in following) - max(s["STEP_SUCCESS"] for s in tier)
        if gap < 0:
            raise RuntimeError(f"run {run_id}: a tier started {-gap:.2f} s before the previous "
                               "tier ended: priority order broken")
        gaps.append(gap)
    every = [s for t in tiers for s in t]
    wall = run_level["RUN_SUCCESS"] - run_level["RUN_START"]
    work = sum(map(sum, works))
    return {
        "cmd": cmd, "wall": wall, "work": work, "ideal": sum(ideals), "perfect": work / slots,
        "ratio": wall / sum(ideals), "ratio_perfect": wall / (work / slots),
        "run_start": min(s["STEP_START"] for s in every) - run_level["RUN_START"],
        "gaps": sum(gaps), "gap": gaps, "inside": sum(spans) - sum(ideals),
        "run_end": run_level["RUN_SUCCESS"] - max(s["STEP_SUCCESS"] for s in every),
        "start": [s["STEP_START"] - s["STEP_WORKER_STARTING"] for s in every],
        "fork": [s["STEP_WORKER_STARTED"] - s["STEP_WORKER_STARTING"] for s in every],
        "plan": [s["STEP_START"] - s["STEP_WORKER_STARTED"] for s in every],
        "step": [w for t in works for w in t],
        "par": max_overlap([(s["STEP_START"], s["STEP_SUCCESS"]) for s in every]),
        "limit": (slots, source),
    }


def measure(env: dict, repeats: int, variants: list[str], baseline: str | None,
            warm_ups: int = 1) -> dict:
    runs = {}
    setups = [(v, "") for v in variants]
    if baseline:
        path = os.pathsep.join(p for p in (baseline, env.get("PYTHONPATH")) if p)
        setups += [(v, path) for v in variants]
    for _ in range(warm_ups):
        for variant, path in setups:  # warm-up, not measured: first kernel, page cache
            one_run({**env, "PYTHONPATH": path} if path else env, variant)
    for _ in range(repeats):
        for variant, path in setups:  # interleaved: each sees the same machine load
            run_env = {**env, "PYTHONPATH": path} if path else env
            runs.setdefault((variant, bool(path)), []).append(one_run(run_env, variant))
    return runs


def _collect(runs: list[dict], key: str) -> list[float]:
    values = []
    for run in runs:
        values += run[key] if isinstance(run[key], list) else [run[key]]
    return values


ROWS = (
    ("whole `dagster job execute`", "cmd"),
    ("run wall time (RUN_START -> RUN_SUCCESS)", "wall"),
    ("sum of the 20 steps' work (STEP_START -> STEP_SUCCESS)", "work"),
    ("work / usable parallelism: each tier's steps packed optimally on the slots", "ideal"),
    ("work / slots (perfect packing, ignores the tiers)", "perfect"),
    ("**wall / (work / usable parallelism)** (target <= 1.3)", "ratio"),
    ("wall / (work / slots)", "ratio_perfect"),
    ("wall beyond usable parallelism: run start (RUN_START -> first STEP_START)", "run_start"),
    ("... tier boundaries (last STEP_SUCCESS -> first STEP_START of the next tier, 3 boundaries)",
     "gaps"),
    ("added per tier (issue 8: under 1 s): each boundary", "gap"),
    ("... inside tiers (tier span - its optimal packing: step process starts between waves, "
     "uneven steps)", "inside"),
    ("... run end (last STEP_SUCCESS -> RUN_SUCCESS)", "run_end"),
    ("one step's work (STEP_START -> STEP_SUCCESS), every step", "step"),
    ("**one step's start outside its work** (worker launched -> STEP_START), every step",
     "start"),
    ("... of which fork from the forkserver + instance (-> STEP_WORKER_STARTED)", "fork"),
    ("... of which definitions + resources (-> STEP_START)", "plan"),
)


def report(runs: dict, repeats: int, variants: list[str], baseline: str | None,
           load: tuple[float, float], warm_ups: int = 1) -> list[str]:
    m = statistics.median
    columns = [(v, False) for v in variants] + ([(v, True) for v in variants] if baseline
                                                else [])
    slots, source = next(iter(runs.values()))[0]["limit"]
    options = "" if variants == list(VARIANTS) else f" --variants {','.join(variants)}"
    options += f" --baseline {baseline}" if baseline else ""
    options += f" --warm-ups {warm_ups}" if warm_ups != 1 else ""
    out = ["## Stream latency and wall time\n",
           f"Command: `.venv/bin/python bench/bench_stream_latency.py --repeats {repeats}"
           f"{options}`\n",
           f"The streams `{STREAM}` (20 processes running `notebooks/bench/empty.ipynb`) and "
           f"`{STREAM}_py` (20 running `notebooks/bench/stamp.py`), 5 per tier with process "
           f"`prir` 1-4 and no dependency rows, run by `dagster job execute -m "
           f"llm_assets.definitions -j <stream>`. Median (min-max) over {repeats} interleaved "
           "runs per column; per-step rows over every step of those runs. "
           f"Executor slots: {slots}, {source}.\n"]
    head = "| measure (s) | " + " | ".join(
        LABELS[v] + (" **before**" if before else "") for v, before in columns) + " |"
    out += [head, "|---|" + "---|" * len(columns)]
    for label, key in ROWS:
        out.append(f"| {label} | " + " | ".join(
            _fmt(_collect(runs[c], key)) for c in columns) + " |")
    out.append("| steps running at once (max) | " + " | ".join(
        str(max(r["par"] for r in runs[c])) for c in columns) + " |")
    out.append("")
    for variant, before in columns:
        if before:
            continue
        r = runs[(variant, False)]
        ratio = m(_collect(r, "ratio"))
        line = (f"- {LABELS[variant]}: wall / (work / usable parallelism) **{ratio:.2f}** "
                f"({'met' if ratio <= 1.3 else '**NOT met**'}, target <= 1.3); one step's "
                f"start outside its work {m(_collect(r, 'start')):.2f} s")
        if baseline:
            was = m(_collect(runs[(variant, True)], "start"))
            now = m(_collect(r, "start"))
            line += (f" against {was:.2f} s before (x{now / was:.2f}: "
                     f"{'halved or better' if now <= was / 2 else '**not halved**'})")
        out.append(line + ".")
    out.append(f"\n(1-minute load average at the start -> end: {load[0]:.2f} -> {load[1]:.2f}; "
               f"{os.cpu_count()} cores)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--baseline", default=None,
                        help="a checkout of earlier code to measure the same way (before)")
    parser.add_argument("--warm-ups", type=int, default=1,
                        help="unmeasured runs of each column first (first kernel, page cache)")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    with embedded_project("llm-assets-bench-latency-") as (env, _home, url):
        seed(url, 0, _rows())
        start = os.getloadavg()[0]
        runs = measure(env, args.repeats, variants, args.baseline, args.warm_ups)
        load = (start, os.getloadavg()[0])
    print("\n".join(report(runs, args.repeats, variants, args.baseline, load,
                            args.warm_ups)))


if __name__ == "__main__":
    main()
