"""Steps on Celery workers (issue 16): 8 sleep-bound notebooks (a fixed wait standing for an
LLM call) on 1, 2 and 4 `llm-assets worker --concurrency 1` processes: wall time of
`llm-assets run` and its ratio to the ideal (8 x wait / workers); and, per executor, the time
from the run's start to its first step at 10 and 10,000 processes in the code location.

Everything real: embedded Postgres and Redis (`llm-assets up` with LLM_ASSETS_EXECUTOR=celery),
the fixture notebook tests/fixtures/notebooks/distributed/where.ipynb, real workers.

    .venv/bin/python bench/bench_celery.py [--wait 10] [--workers 1,2,4] [--sizes 10,10000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench.bench_runs import _events, embedded_project  # noqa: E402
from bench.bench_step import seed  # noqa: E402


def _notebooks(home: Path) -> str:
    """A notebooks folder with the synthetic graph's bench/empty.ipynb and the fixture
    distributed/where.ipynb (copies: notebook paths must stay inside the folder)."""
    import shutil

    folder = home / "notebooks"
    shutil.copytree(ROOT / "notebooks" / "bench", folder / "bench")
    shutil.copytree(ROOT / "tests" / "fixtures" / "notebooks" / "distributed",
                    folder / "distributed")
    return str(folder)


def _rows(stream: str, n: int, wait: float) -> str:
    values = ", ".join(f"('{stream}_{i}', '{stream}_g', 'distributed/where.ipynb', 'wait={wait}')"
                       for i in range(n))
    return (f"INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('{stream}');\n"
            f"INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) "
            f"VALUES ('{stream}_g', '{stream}', 1);\n"
            f"INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, nb_parm) "
            f"VALUES {values};")


def _workers(env: dict, home: Path, count: int) -> list[subprocess.Popen]:
    procs = []
    for i in range(count):
        log = (home / f"bench-worker-{i}.log").open("w")
        procs.append(subprocess.Popen([str(BIN / "llm-assets"), "worker", "--name", f"b{i}@%h",
                                       "--concurrency", "1"], env=env, cwd=home,
                                      stdout=log, stderr=subprocess.STDOUT))
    for i in range(count):
        deadline = time.monotonic() + 180
        while "ready." not in (home / f"bench-worker-{i}.log").read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {i} not ready")
            time.sleep(0.2)
    return procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=120)


def _run(stream: str, env: dict, home: Path) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "llm-assets"), "run", stream], env=env, cwd=home,
                          capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return wall, proc.stdout.split(" run ")[1].split()[0]


def _first_step(env: dict, run_id: str) -> float:
    run_level, data = _events(env, run_id)
    first = min(s["STEP_START"] for s in data["steps"].values())
    return first - run_level["RUN_START"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wait", type=float, default=10)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--sizes", default="10,10000")
    args = parser.parse_args()
    from llm_assets.cli import services

    out = ["## Steps on Celery workers\n",
           f"Command: `.venv/bin/python bench/bench_celery.py --wait {args.wait:g} --workers "
           f"{args.workers} --sizes {args.sizes}`\n"]
    with embedded_project("llm-assets-bench-celery-") as (env, home, url):
        env = {**env, "LLM_ASSETS_EXECUTOR": "celery", "LLM_ASSETS_NOTEBOOKS_DIR": _notebooks(home)}
        os.environ.update(env)
        redis = services.redis_up()
        env["LLM_ASSETS_CELERY_BROKER"] = redis.url
        try:
            seed(url, 0, _rows("sleepers", 8, args.wait))
            load = os.getloadavg()[0]
            out += [f"8 notebooks of one tier, each waiting {args.wait:g} s, run by "
                    "`llm-assets run` on N workers `--concurrency 1` (one run each, after a "
                    "warm-up run).\n",
                    "| workers | wall s | ideal s (8 x wait / N) | wall / ideal |",
                    "|---:|---:|---:|---:|"]
            for count in [int(c) for c in args.workers.split(",")]:
                procs = _workers(env, home, count)
                try:
                    if count == 1:
                        _run("sleepers", env, home)  # warm-up: kernels, page cache
                    wall, _ = _run("sleepers", env, home)
                finally:
                    _stop(procs)
                ideal = 8 * args.wait / count
                out.append(f"| {count} | {wall:.1f} | {ideal:.0f} | {wall / ideal:.2f} |")
            out.append(f"\n(1-minute load average at the start: {load:.2f} -> "
                       f"{os.getloadavg()[0]:.2f} at the end; {os.cpu_count()} cores)\n")
            out += ["Run start (RUN_START) to the first STEP_START, stream of 2 processes "
                    "(wait 0) while the code location holds the synthetic graph "
                    "(bench/synthetic.py):\n",
                    "| processes in the code location | multiprocess s | celery s |",
                    "|---:|---:|---:|"]
            for n in [int(s) for s in args.sizes.split(",")]:
                seed(url, n, _rows("probe", 2, 0))
                figures = {}
                for kind in ("multiprocess", "celery"):
                    run_env = {**env, "LLM_ASSETS_EXECUTOR": kind}
                    procs = _workers(run_env, home, 1) if kind == "celery" else []
                    try:
                        _, run_id = _run("probe", run_env, home)
                        figures[kind] = _first_step(run_env, run_id)
                    finally:
                        _stop(procs)
                out.append(f"| {n:,} + 2 | {figures['multiprocess']:.2f} | "
                           f"{figures['celery']:.2f} |")
        finally:
            services.redis_down()
    print("\n".join(out))


if __name__ == "__main__":
    main()
