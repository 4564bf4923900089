"""`axc info FILE.axmodel [--json] [--mlir]`: what an axmodel holds, without running it.

Groups with their inputs and outputs, instruction counts per EU kind, weight bytes and the
timing model's predicted cycles and milliseconds per group (from the file's metadata; the
file is fully verified and decoded first, so a corrupted file is reported, not shown).
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.axmodel", help="the axmodel to describe")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the metadata document as JSON")
    out.add_argument("--mlir", action="store_true",
                     help="print the program decoded from the instruction streams (axnpu IR)")


def _fmt_shape(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def run(args: argparse.Namespace) -> int:
    from axc.axmodel import read_axmodel

    model = read_axmodel(args.file)
    if args.mlir:
        print(model.program)
        return 0
    if args.json:
        print(json.dumps(model.metadata, indent=1, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.table import Table

    meta = model.metadata
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze the tables into 80 columns
        console = Console(width=160)
    mode = f" {meta['npu_mode']}" if meta.get("npu_mode") else ""
    console.print(f"[bold]{args.file}[/]: program @{meta['program']['name']} for "
                  f"{meta['chip']}{mode}, axmodel format {meta['format_version']}, written by "
                  f"axc {meta['compiler_version']}; weights {meta['weight_bytes']:,} bytes",
                  soft_wrap=True)
    extra = {k: v for k, v in meta.items() if k not in (
        "format", "format_version", "compiler", "compiler_version", "chip", "npu_mode",
        "groups", "blobs", "program", "weight_bytes")}
    if extra:
        console.print("build: " + ", ".join(f"{k}={json.dumps(v)}" for k, v in
                                            sorted(extra.items()) if not isinstance(v, dict)),
                      soft_wrap=True)
    groups = Table(title="groups (predicted on the chip by the timing model)")
    for col in ("#", "group", "instr", "conv", "teng", "sdma", "weight MB",
                "pred. cycles", "pred. ms"):
        groups.add_column(col, justify="left" if col == "group" else "right")
    for g in model.groups:
        n = g.instructions
        groups.add_row(str(g.index), g.name, str(sum(n.values())), str(n.get("conv", 0)),
                       str(n.get("teng", 0)), str(n.get("sdma", 0)), f"{g.weight_bytes / 1e6:.3f}",
                       "-" if g.predicted_cycles is None else f"{g.predicted_cycles:,}",
                       "-" if g.predicted_ms is None else f"{g.predicted_ms:.4f}")
    console.print(groups)
    io = Table(title="inputs and outputs")
    for col in ("group", "direction", "name", "shape", "dtype"):
        io.add_column(col)
    for g in model.groups:
        for direction, tensors in (("input", g.inputs), ("output", g.outputs)):
            for t in tensors:
                io.add_row(g.name, direction, t.name, _fmt_shape(t.shape), t.dtype)
    console.print(io)
    return 0
