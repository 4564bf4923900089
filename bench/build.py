"""Build benchmark: wall time and peak memory of `axc llm_build` on the real model, twice.

    .venv/bin/python bench/build.py [--model DIR] [-w s8] [--prefill_len 128]
                                    [--kv_cache_len 1023] [--parallel 1] [--out DIR]

Runs the build with `-c 0` as a child process (`axc llm_build ...`, so the figures are the
command's own: wall time from here, peak resident memory of the child from
`resource.getrusage(RUSAGE_CHILDREN)`), twice into two fresh folders, then checks that the
two folders are byte-identical. Prints a table with the stage times the build reports, the
wall time, the peak RSS and the issue's goals (< 3 min, < 4 GB; goal 1 min). The default
model is Qwen2.5-Coder-0.5B-Instruct from `axc models pull`.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEFAULT_MODEL = Path.home() / ".cache/axc/models/qwen2.5-coder-0.5b-instruct"
AXC = Path(sys.executable).with_name("axc")
STAGES = ("tracing llm layer kinds", "scheduling llm layer kinds", "building llm decode layers",
          "building llm post layer", "writing embedding and configs")


def run_build(args: argparse.Namespace, out: Path) -> dict:
    cmd = [str(AXC), "llm_build", "--input_path", str(args.model), "--output_path", str(out),
           "--kv_cache_len", str(args.kv_cache_len), "--prefill_len", str(args.prefill_len),
           "-w", args.weight_type, "-t", "bf16", "--chip", "AX650", "-c", "0",
           "--parallel", str(args.parallel)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={
        **__import__("os").environ, "COLUMNS": "200",
        "AXC_COMPILE_CACHE": "off"})  # cold: no schedules from an earlier build
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"build failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stages = {}
    for line in proc.stderr.splitlines():
        for stage in STAGES:
            if line.startswith(stage):
                m = re.search(r"(\d+):(\d\d):(\d\d)\s*$", line)
                if m:
                    stages[stage] = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
    # ru_maxrss of children is the largest child so far: report it only if this run raised it
    return {"wall": wall, "peak_mb": peak_kb / 1024 if peak_kb > before else None,
            "stages": stages}


def same_folders(a: Path, b: Path) -> tuple[bool, list[str]]:
    names = sorted(p.name for p in a.iterdir() if p.is_file())
    other = sorted(p.name for p in b.iterdir() if p.is_file())
    if names != other:
        return False, sorted(set(names) ^ set(other))
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not (mismatch or errors), mismatch + errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("-w", "--weight_type", default="s8")
    parser.add_argument("--prefill_len", type=int, default=128)
    parser.add_argument("--kv_cache_len", type=int, default=1023)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the builds here")
    args = parser.parse_args()
    if not (args.model / "config.json").is_file():
        sys.exit(f"{args.model}: no model; run `axc models pull qwen2.5-coder-0.5b-instruct`")
    root = args.out or Path(tempfile.mkdtemp(prefix="axc-bench-build-"))
    runs = []
    for name in ("first", "second"):
        out = root / name
        shutil.rmtree(out, ignore_errors=True)
        runs.append(run_build(args, out))
    identical, differing = same_folders(root / "first", root / "second")

    console = Console()
    table = Table(title=f"axc llm_build {args.model.name} -w {args.weight_type} prefill "
                  f"{args.prefill_len} kv {args.kv_cache_len} --parallel {args.parallel} "
                  "-c 0 (AX650)")
    table.add_column("figure")
    table.add_column("first build", justify="right")
    table.add_column("second build", justify="right")
    table.add_column("goal", justify="right")
    for stage in STAGES:
        table.add_row(f"  {stage}", *(f"{r['stages'].get(stage, 0)} s" for r in runs), "")
    table.add_row("wall time", *(f"{r['wall']:.1f} s" for r in runs), "< 180 s (goal 60 s)")
    peak = max((r["peak_mb"] or 0) for r in runs)
    table.add_row("peak RSS", f"{peak:.0f} MB", "", "< 4096 MB")
    table.add_row("byte-identical", "yes" if identical else f"NO: {differing}", "", "yes")
    console.print(table)
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
