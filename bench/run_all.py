"""Run every benchmark and write docs/benchmarks.md (machine, commands, figures).

    .venv/bin/python bench/run_all.py --output docs/benchmarks.md [--quick]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default="docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = ["--quick"] if args.quick else []
    sections = [
        _section(["bench/bench_load.py", "--sizes", "100,1000" if args.quick
                  else "100,1000,10000", "--repeats", "1" if args.quick else "2"], 1800),
        _section(["bench/bench_log_mirror.py", *(["--runs", "100"] if args.quick else [])],
                 900),
        _section(["bench/bench_ai.py", *quick], 1800),
    ]
    body = ("# Benchmarks\n\nWritten by `make bench` (`bench/run_all.py`). Benchmarks are not "
            "tests: `make test` never asserts timings.\n\n## Machine\n\n" + _machine()
            + "\n" + "\n\n".join(s.strip() for s in sections) + "\n")
    Path(args.output).write_text(body)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
