"""Run every benchmark and write docs/benchmarks.md (machine, commands, figures).

    .venv/bin/python bench/run_all.py --output docs/benchmarks.md [--quick]
        [--only step,notebook] [--skip ai] [--skip-slow]

Each benchmark is also a script of its own (`bench/bench_<name>.py`), printing its section.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _machine() -> str:
    import dagster

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        mem_gb = f"{int(mem) / 1024 / 1024:.0f} GiB"
    except OSError:
        mem_gb = "unknown"
    return (f"- date: {datetime.date.today().isoformat()}\n- cores: {os.cpu_count()}, "
            f"RAM: {mem_gb}, CPU: {cpu}\n- Python {platform.python_version()}, "
            f"dagster {dagster.__version__}\n")


def _section(args: list[str], timeout: int) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        return (f"## {args[0]}\n\nFAILED (exit {proc.returncode}):\n\n```\n"
                f"{proc.stderr[-2000:]}\n```\n")
    return proc.stdout


BENCHMARKS = {
    # name: (arguments, quick arguments, timeout s)
    # both synthetic shapes (narrow, wide tiers); `dagster definitions validate` at 1k and 10k
    "load": (["bench/bench_load.py", "--sizes", "100,1000,10000", "--shapes", "narrow,wide",
              "--repeats", "2", "--validate-sizes", "1000,10000"],
             ["bench/bench_load.py", "--sizes", "100,1000", "--shapes", "narrow,wide",
              "--repeats", "1", "--validate-sizes", "1000"], 7200),
    "load_phases": (["bench/bench_load_phases.py", "--processes", "10000", "--repeats", "3"],
                    ["bench/bench_load_phases.py", "--processes", "1000", "--repeats", "1"],
                    1800),
    # issue 8 items 3-5, one script each (bench_runs.py holds the helpers they share and
    # still runs all three at once: `bench/bench_runs.py --sections 1,2,3`)
    "step": (["bench/bench_step.py", "--repeats", "3", "--sizes", "10,10000"],
             ["bench/bench_step.py", "--repeats", "1", "--sizes", "10,1000"], 3600),
    "notebook": (["bench/bench_notebook.py", "--repeats", "3"],
                 ["bench/bench_notebook.py", "--repeats", "1"], 1800),
    "stream_latency": (["bench/bench_stream_latency.py", "--repeats", "3"],
                       ["bench/bench_stream_latency.py", "--repeats", "1"], 1800),
    # issue 14: the latency a priority-tier gate adds between tiers, against direct edges
    "tier_gates": (["bench/bench_tier_gates.py", "--repeats", "3"],
                   ["bench/bench_tier_gates.py", "--repeats", "1"], 1800),
    "log_mirror": (["bench/bench_log_mirror.py"],
                   ["bench/bench_log_mirror.py", "--runs", "100"], 900),
    "ai": (["bench/bench_ai.py"], ["bench/bench_ai.py", "--quick"], 1800),
    # issue 16: steps on Celery workers (embedded Redis, real `llm-assets worker` processes)
    "celery": (["bench/bench_celery.py", "--wait", "8", "--workers", "1,2,4",
                "--sizes", "10,10000"],
               ["bench/bench_celery.py", "--wait", "2", "--workers", "1,2", "--sizes", "10"],
               3600),
}


# more than about 5 minutes each on 2 cores (10,000-process loads, 100k-chunk vector store)
SLOW = {"load", "load_phases", "step", "ai", "celery"}


def _block(name: str, text: str) -> str:
    return f"<!-- bench:{name} -->\n{text.strip()}\n<!-- /bench:{name} -->"


def merge(document: str, blocks: dict[str, str]) -> str:
    """Replace each generated block of `document` in place (appending new ones); everything
    outside the markers (the written analysis) is kept."""
    import re

    for name, text in blocks.items():
        pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
        if pattern.search(document):
            replacement = _block(name, text)
            document = pattern.sub(lambda _, r=replacement: r, document)
        else:
            document = document.rstrip() + "\n\n" + _block(name, text) + "\n"
    return document


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default="docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--skip", default="", help="comma-separated benchmarks not to run")
    parser.add_argument("--skip-slow", action="store_true",
                        help="skip " + ", ".join(sorted(SLOW)) + " (their blocks are kept)")
    args = parser.parse_args()
    only = [n for n in args.only.split(",") if n]
    skip = [n for n in args.skip.split(",") if n]
    unknown = sorted(set(only + skip) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if (not only or n in only) and n not in skip
             and not (args.skip_slow and n in SLOW)]
    blocks = {"machine": "## Machine\n\n" + _machine()}
    for name in names:
        full, quick, timeout = BENCHMARKS[name]
        blocks[name] = _section(quick if args.quick else full, timeout)
    output = Path(args.output)
    document = output.read_text() if output.exists() else (
        "# Benchmarks\n\nWritten by `make bench` (`bench/run_all.py`): it rewrites the blocks "
        "between `<!-- bench:... -->` markers and keeps the text around them. Benchmarks are "
        "not tests: `make test` never asserts timings.\n")
    output.write_text(merge(document, blocks))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
