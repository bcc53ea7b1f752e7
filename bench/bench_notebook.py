"""Notebook overhead (issue 8 item 4, issue 17 item 1): an empty notebook process run by
llm_assets against the same notebook run by plain papermill, with the costs broken down.

- llm_assets: `notebooks/bench/empty.ipynb` as the one-process stream `bench_nb`, run by the
  real `dagster job execute -m llm_assets.definitions -j bench_nb` against an embedded
  Postgres, with the default dagstermill engine (pre-started kernels, and with
  `LLM_ASSETS_WARM_KERNELS=0`: a kernel started by the step) and with
  `LLM_ASSETS_NOTEBOOK_ENGINE=papermill`; the same process as a `.py` script
  (`notebooks/bench/stamp.py`, no kernel) for the cheaper path.
- plain papermill (what the original framework ran per process): `papermill.execute_notebook`
  in a warm Python process, and the `papermill` CLI (a fresh process).
- breakdown: fresh-process wall clocks (`python -c pass`, `import dagster`, a bare code-location
  load), Dagster event timestamps (RUN_START, STEP_WORKER_STARTED, STEP_START, STEP_SUCCESS,
  RUN_SUCCESS) and the cell timestamps papermill writes into the executed notebook (kernel
  start, dagstermill's context cell, teardown).

All measurements are interleaved per repeat, so each sees the same machine load.

    .venv/bin/python bench/bench_notebook.py [--repeats 3] [--baseline DIR]

`--baseline DIR`: also run the engines and the script with the llm_assets of DIR (a checkout of
an earlier commit) first on the path of the Dagster commands, interleaved, for a before/after.
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
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench.bench_runs import _events, _execute, _fmt  # noqa: E402
from bench.bench_step import embedded_project, seed  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "bench" / "empty.ipynb"
ROWS = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('bench_nb'), ('bench_nb_py');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES
    ('bench_nb_g', 'bench_nb', 1), ('bench_nb_py_g', 'bench_nb_py', 1);
INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm) VALUES
    ('nb_empty', 'bench_nb_g', 'bench/empty.ipynb'),
    ('nb_script', 'bench_nb_py_g', 'bench/stamp.py');
"""
CODE_LOCATION = r"""
import json, time
t0 = time.perf_counter()
import dagster
t1 = time.perf_counter()
from dagster._core.definitions.reconstruct import ReconstructableRepository
ReconstructableRepository.for_module('llm_assets.definitions', 'defs').get_definition()
t2 = time.perf_counter()
print(json.dumps({"import_dagster": t1 - t0, "load": t2 - t1}))
"""


# name: (label, stream, environment, uses the baseline code)
VARIANTS = {
    "dagstermill": ("dagstermill engine (default), pre-started kernel", "bench_nb",
                    {"LLM_ASSETS_NOTEBOOK_ENGINE": "dagstermill"}, False),
    "dagstermill_cold": ("dagstermill engine, `LLM_ASSETS_WARM_KERNELS=0` (the step starts its "
                         "kernel)", "bench_nb", {"LLM_ASSETS_NOTEBOOK_ENGINE": "dagstermill",
                                                 "LLM_ASSETS_WARM_KERNELS": "0"}, False),
    "papermill": ("papermill engine (`LLM_ASSETS_NOTEBOOK_ENGINE=papermill`), pre-started kernel",
                  "bench_nb", {"LLM_ASSETS_NOTEBOOK_ENGINE": "papermill"}, False),
    "script": ("the same process as a `.py` script (no kernel)", "bench_nb_py", {}, False),
    "dagstermill_before": ("**before**: dagstermill engine", "bench_nb",
                           {"LLM_ASSETS_NOTEBOOK_ENGINE": "dagstermill"}, True),
    "papermill_before": ("**before**: papermill engine", "bench_nb",
                         {"LLM_ASSETS_NOTEBOOK_ENGINE": "papermill"}, True),
    "script_before": ("**before**: `.py` script", "bench_nb_py", {}, True),
}
NOTEBOOK_VARIANTS = [v for v, (_, stream, _, _) in VARIANTS.items() if stream == "bench_nb"]


def _wall(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=env["LLM_ASSETS_HOME"], capture_output=True, text=True,
                          timeout=600, check=True)
    return time.perf_counter() - started, proc.stdout


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def kernel_phases(executed: Path) -> dict:
    """Phases papermill recorded in an executed notebook (either engine, or plain papermill):
    kernel start, dagstermill's context cell (0 without it), the notebook's own cells, and
    kernel teardown + write."""
    nb = json.loads(executed.read_text())
    pm = nb["metadata"]["papermill"]
    cells = [(c["metadata"].get("papermill", {}), c["metadata"].get("tags", []))
             for c in nb["cells"] if c["cell_type"] == "code"]
    ran = [(meta, tags) for meta, tags in cells if meta.get("start_time")]
    first = min(_ts(meta["start_time"]) for meta, _ in ran)
    last = max(_ts(meta["end_time"]) for meta, _ in ran)
    context = sum(meta["duration"] for meta, tags in ran if "injected-parameters" in tags)
    return {"papermill_start": _ts(pm["start_time"]), "kernel": first - _ts(pm["start_time"]),
            "context": context, "cells": last - first - context,
            "teardown": _ts(pm["end_time"]) - last, "papermill_end": _ts(pm["end_time"])}


PHASES = ("command start -> RUN_START (python, imports, code-location load, instance, run)",
          "RUN_START -> step worker started (executor, forkserver with preloads)",
          "step worker started -> STEP_START",
          "STEP_START -> papermill starts (notebook preparation)", "kernel start",
          "dagstermill context cell", "notebook cells", "kernel teardown + write",
          "store .ipynb + HTML in the data lake, materialization", "STEP_SUCCESS -> RUN_SUCCESS",
          "RUN_SUCCESS -> command exit")


def _llm_assets_run(env: dict, home: Path, variant: str, baseline: str | None) -> dict:
    """One `dagster job execute` of a variant: whole wall, step time and (notebooks) the
    phases."""
    _, stream, extra, before = VARIANTS[variant]
    run_env = {**env, **extra}
    if before:
        run_env["PYTHONPATH"] = os.pathsep.join(p for p in (baseline, env.get("PYTHONPATH")) if p)
    t_cmd = time.time()
    wall, run_id = _execute(stream, run_env)
    run_level, data = _events(env, run_id)
    process = "nb_empty" if stream == "bench_nb" else "nb_script"
    step = data["steps"][process]
    result = {"wall": wall, "step": step["STEP_SUCCESS"] - step["STEP_START"]}
    if stream != "bench_nb":
        return result
    kp = kernel_phases(home / "datalake" / "runs" / stream / process / run_id
                       / f"{process}.ipynb")
    result["phases"] = dict(zip(PHASES, (
        run_level["RUN_START"] - t_cmd, step["STEP_WORKER_STARTED"] - run_level["RUN_START"],
        step["STEP_START"] - step["STEP_WORKER_STARTED"],
        kp["papermill_start"] - step["STEP_START"], kp["kernel"], kp["context"], kp["cells"],
        kp["teardown"], step["STEP_SUCCESS"] - kp["papermill_end"],
        run_level["RUN_SUCCESS"] - step["STEP_SUCCESS"],
        t_cmd + wall - run_level["RUN_SUCCESS"]), strict=True))
    return result


def _trivial(tmp: str, name: str, source: str) -> Path:
    """A one-cell notebook (no llm_assets): what a bare kernel costs."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = Path(tmp) / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def measure(env: dict, home: Path, repeats: int, baseline: str | None) -> dict:
    import papermill

    python = sys.executable
    r = {k: [] for k in ("python", "import_dagster", "load", "pm_cli", "pm_warm", "pm_kernel",
                         "pm_cells", "pm_teardown", "bare_kernel", "bare_teardown",
                         "dagster_teardown")}
    runs = {v: [] for v, (_, _, _, before) in VARIANTS.items() if baseline or not before}
    with tempfile.TemporaryDirectory() as tmp:
        bare = _trivial(tmp, "bare", "pass")
        with_dagster = _trivial(tmp, "with_dagster", "import dagster")
        # warm-up, not measured: first kernel, first run against the fresh instance
        papermill.execute_notebook(str(NOTEBOOK), f"{tmp}/warmup.ipynb", progress_bar=False)
        for variant in runs:
            _llm_assets_run(env, home, variant, baseline)
        for i in range(repeats):
            r["python"].append(_wall([python, "-c", "pass"], env)[0])
            r["import_dagster"].append(_wall([python, "-c", "import dagster"], env)[0]
                                       - r["python"][-1])
            child = json.loads(_wall([python, "-c", CODE_LOCATION], env)[1].splitlines()[-1])
            r["load"].append(child["load"])
            r["pm_cli"].append(_wall([str(BIN / "papermill"), "--no-progress-bar",
                                      str(NOTEBOOK), f"{tmp}/cli-{i}.ipynb"], env)[0])
            started = time.perf_counter()
            papermill.execute_notebook(str(NOTEBOOK), f"{tmp}/warm-{i}.ipynb",
                                       progress_bar=False)
            r["pm_warm"].append(time.perf_counter() - started)
            kp = kernel_phases(Path(f"{tmp}/warm-{i}.ipynb"))
            r["pm_kernel"].append(kp["kernel"])
            r["pm_cells"].append(kp["cells"])
            r["pm_teardown"].append(kp["teardown"])
            papermill.execute_notebook(str(bare), f"{tmp}/bare-{i}.ipynb", progress_bar=False)
            kp = kernel_phases(Path(f"{tmp}/bare-{i}.ipynb"))
            r["bare_kernel"].append(kp["kernel"])
            r["bare_teardown"].append(kp["teardown"])
            papermill.execute_notebook(str(with_dagster), f"{tmp}/dg-{i}.ipynb",
                                       progress_bar=False)
            r["dagster_teardown"].append(kernel_phases(Path(f"{tmp}/dg-{i}.ipynb"))["teardown"])
            for variant in runs:
                runs[variant].append(_llm_assets_run(env, home, variant, baseline))
    r["runs"] = runs
    return r


def report(r: dict, repeats: int, baseline: str | None, load: tuple[float, float]) -> list[str]:
    m = statistics.median
    warm, cli = m(r["pm_warm"]), m(r["pm_cli"])
    runs = r["runs"]

    def steps(variant: str) -> list[float]:
        return [x["step"] for x in runs[variant]]

    def row(what: str, values: list[float]) -> str:
        return f"| {what} | {_fmt(values)} | {m(values) / cli:.2f} | {m(values) / warm:.2f} |"

    option = f" --baseline {baseline}" if baseline else ""
    out = ["## Notebook overhead\n",
           f"Command: `.venv/bin/python bench/bench_notebook.py --repeats {repeats}{option}`\n",
           "The empty notebook `notebooks/bench/empty.ipynb` (imports `llm_assets.nb`, binds "
           "its parameters, reports 0 rows) as the one-process stream `bench_nb` run by "
           "`dagster job execute -m llm_assets.definitions -j bench_nb`, against the same "
           "notebook run by plain papermill, the original framework's way of running a "
           f"process. Median (min-max) of {repeats} interleaved repeats."
           + (f" **before**: the same runs with the code of `{baseline}` first on the Dagster "
              "commands' path." if baseline else "") + "\n",
           "| what | seconds | ratio to the `papermill` CLI (fresh process) | ratio to "
           "`papermill.execute_notebook` (warm process) |", "|---|---|---:|---:|",
           row("plain papermill: `papermill` CLI (fresh process)", r["pm_cli"]),
           row("plain papermill: `papermill.execute_notebook` in a warm process",
               r["pm_warm"])]
    for variant in runs:
        label = VARIANTS[variant][0]
        out.append(row(f"llm_assets, {label}: the step, STEP_START -> STEP_SUCCESS",
                       steps(variant)))
    for variant in runs:
        label = VARIANTS[variant][0]
        out.append(row(f"llm_assets, {label}: whole `dagster job execute`",
                       [x["wall"] for x in runs[variant]]))
    notebooks = [v for v in runs if v in NOTEBOOK_VARIANTS]
    out += ["", "Where the time goes (median s, from the run's Dagster event timestamps and the "
            "cell timestamps papermill wrote into the executed notebook; `kernel start` is "
            "papermill's start to its first cell: the claim of a pre-started kernel, or the "
            "start of one):\n",
            "| phase | " + " | ".join(VARIANTS[v][0] for v in notebooks)
            + " | plain `papermill.execute_notebook` |",
            "|---|" + "---:|" * (len(notebooks) + 1)]
    plain = {"kernel start": r["pm_kernel"], "notebook cells": r["pm_cells"],
             "kernel teardown + write": r["pm_teardown"]}
    for phase in PHASES:
        values = " | ".join(f"{m(x['phases'][phase] for x in runs[v]):.2f}" for v in notebooks)
        c = f"{m(plain[phase]):.2f}" if phase in plain else ""
        out.append(f"| {phase} | {values} | {c} |")
    out.append("| **the step (STEP_START -> STEP_SUCCESS)** | " + " | ".join(
        f"**{m(steps(v)):.2f}**" for v in notebooks) + f" | **{warm:.2f}** |")
    out += ["", "Fresh-process and bare-kernel costs, measured separately in the same repeats "
            "(median s):\n", "| cost | s |", "|---|---:|",
            f"| python start (`python -c pass`) | {m(r['python']):.2f} |",
            f"| `import dagster` on top | {m(r['import_dagster']):.2f} |",
            f"| import llm_assets.definitions + code-location load (the stream's 2 processes), "
            f"after `import dagster` | {m(r['load']):.2f} |",
            f"| bare kernel start (papermill, one `pass` cell) | {m(r['bare_kernel']):.2f} |",
            f"| bare kernel teardown + write (one `pass` cell) | {m(r['bare_teardown']):.2f} |",
            f"| kernel teardown + write after `import dagster` in the kernel | "
            f"{m(r['dagster_teardown']):.2f} |"]

    out += ["", "Targets: the empty notebook step, default engine, <= 1.2 x the `papermill` "
            "CLI on the same notebook (issue 17); <= 1.5 x plain papermill (issue 8)."]
    for variant in runs:
        ratio = m(steps(variant)) / cli
        verdict = ("met" if ratio <= 1.2 else "**NOT met**") if variant == "dagstermill" else ""
        line = (f"- {VARIANTS[variant][0]}: **{ratio:.2f}** x the papermill CLI"
                + (f" ({verdict})" if verdict else "")
                + f", {m(steps(variant)) / warm:.2f} x a warm `papermill.execute_notebook`.")
        if variant in notebooks and ratio > 1.2:
            extra = {p: m(x["phases"][p] for x in runs[variant]) for p in PHASES[3:9]}
            worst = sorted(extra.items(), key=lambda kv: -kv[1])[:3]
            line += " Largest phases: " + ", ".join(f"{p} {v:.2f} s" for p, v in worst) + "."
        out.append(line)
    out.append(f"- A whole `dagster job execute` also pays, once per run, process start and "
               f"code-location load, the run worker and the step worker "
               f"({m(x['wall'] for x in runs['dagstermill']) - m(steps('dagstermill')):.2f} s "
               f"here beyond the step); a code server pays the load once, not per run.\n")
    out.append(f"(1-minute load average at the start -> end: {load[0]:.2f} -> {load[1]:.2f}; "
               f"{os.cpu_count()} cores)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", default=None,
                        help="a checkout of earlier code to measure the same way (before)")
    args = parser.parse_args()
    with embedded_project("llm-assets-bench-nb-") as (env, home, url):
        seed(url, 0, ROWS)
        start = os.getloadavg()[0]
        results = measure(env, home, args.repeats, args.baseline)
        load = (start, os.getloadavg()[0])
    print("\n".join(report(results, args.repeats, args.baseline, load)))


if __name__ == "__main__":
    main()
