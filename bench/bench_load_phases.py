"""Where a 10,000-process definitions load goes, phase by phase, and Dagster's own floor.

Each configuration runs in a fresh subprocess (no warm caches):

- `llm_assets`: validate, build the process graph, build the assets, `Definitions` ->
  repository, resolve every job (stream jobs + Dagster's implicit `__ASSET_JOB`),
  `RepositorySnap.from_def` (what a code server serialises);
- `floor`: the same 10,000 llm_assets assets with their resources in a bare
  `dg.Definitions(assets=..., resources=...)`: no stream jobs, schedules, sensors or checks.
  Dagster still builds and snapshots its implicit `__ASSET_JOB` over every asset, so this
  is the least any Dagster code location holding these assets can cost, whoever builds them.

    .venv/bin/python bench/bench_load_phases.py [--processes 10000] [--repeats 3]
        [--shape narrow|wide]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
mode, n, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import dagster as dg
from dagster._core.remote_representation.external_data import RepositorySnap
from bench.synthetic import synthetic_snapshot
from llm_assets.core import settings
from llm_assets.core.graph import build_graph
from llm_assets.core.state import ControlState
from llm_assets.defs.assets import process_asset
from llm_assets.defs.build import build_definitions
from llm_assets.runtime.runner import ProcessRunner
snap = synthetic_snapshot(n, shape=shape)
phases = {{}}
t = time.perf_counter()
def mark(name):
    global t
    now = time.perf_counter()
    phases[name] = now - t
    t = now
state = ControlState.build(snap, settings.notebooks_dir()); mark("validate rows")
graph = build_graph(snap); mark("process graph")
if mode == "llm_assets":
    defs = build_definitions(state); mark("assets, jobs, sensors, checks")
else:
    runner = ProcessRunner(state, settings.notebooks_dir())
    from llm_assets.backends.profile import resources_for_profile
    defs = dg.Definitions(assets=[process_asset(snap, p, graph, runner)
                                  for p in snap.processes],
                          resources=resources_for_profile()); mark("assets, jobs, sensors, checks")
repo = defs.get_repository_def(); mark("Definitions -> repository")
jobs = repo.get_all_jobs(); mark("resolve jobs")
RepositorySnap.from_def(repo); mark("RepositorySnap.from_def")
phases["jobs"] = len(jobs)
print(json.dumps(phases))
"""

PHASES = ("validate rows", "process graph", "assets, jobs, sensors, checks",
          "Definitions -> repository", "resolve jobs", "RepositorySnap.from_def")


def _measure(mode: str, n: int, shape: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), mode, str(n),
                          shape],
                         capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shape", default="narrow", help="narrow or wide (bench/synthetic.py)")
    args = parser.parse_args()
    runs = {mode: [_measure(mode, args.processes, args.shape) for _ in range(args.repeats)]
            for mode in ("llm_assets", "floor")}
    print("## Definitions load, phase by phase\n")
    print(f"Command: `.venv/bin/python bench/bench_load_phases.py --processes {args.processes} "
          f"--repeats {args.repeats}" + (f" --shape {args.shape}" if args.shape != "narrow"
                                          else "") + "` (fresh subprocess per measurement; "
          f"{args.shape} tiers; the synthetic rows "
          "come from memory, not Postgres)\n")
    print("`floor` = the same assets with their resources in a bare `dg.Definitions`: no "
          "stream jobs, schedules, sensors or checks; Dagster still resolves and snapshots its "
          "implicit `__ASSET_JOB` over every asset.\n")
    print(f"| phase, {args.processes:,} processes (median s, min-max) | llm_assets | floor |")
    print("|---|---|---|")
    totals = {}
    for mode in runs:
        totals[mode] = [sum(m[p] for p in PHASES) for m in runs[mode]]
    for phase in PHASES:
        cells = []
        for mode in ("llm_assets", "floor"):
            values = [m[phase] for m in runs[mode]]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
        print(f"| {phase} | {cells[0]} | {cells[1]} |")
    cells = [f"**{statistics.median(totals[m]):.2f}** ({min(totals[m]):.2f}-{max(totals[m]):.2f})"
             for m in ("llm_assets", "floor")]
    print(f"| total | {cells[0]} | {cells[1]} |")
    print(f"| jobs resolved | {runs['llm_assets'][0]['jobs']} | {runs['floor'][0]['jobs']} |")
    floor_dagster = statistics.median(
        sum(m[p] for p in PHASES[3:]) for m in runs["floor"])
    print(f"\nDagster's share of the floor (repository, implicit job, snapshot; excluding the "
          f"asset construction): **{floor_dagster:.2f} s**.")


if __name__ == "__main__":
    main()
