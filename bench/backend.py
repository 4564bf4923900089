"""Back-end benchmark: the axnpu passes on one real decoder layer, and the predicted makespan
of each EU-assignment strategy.

    .venv/bin/python bench/backend.py [--model DIR] [--layer 0] [--prefill 128] [--kv 1023]
                                      [--chip AX650] [--npu-mode NPU3] [--iterations 200]

Prints a table per pass (wall time, instructions of the decode and prefill groups after it)
and a table per strategy (`axnpu-assign-eu{strategy=...}`: pass time, makespan from
`axc.sim.timing.simulate_timing`, milliseconds with the group launch, achieved DDR GB/s).
The default model is Qwen2.5-Coder-0.5B-Instruct from `axc models pull` (only its
config.json is read: weights are not needed to schedule). `--synthetic` uses the synthetic
Qwen-shaped layer of tests/axnpu_synthetic.py instead of the real lowering.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer

from axc.chip import load_chip
from axc.dialects.axnpu import AXNPU, GroupOp, ProgramOp
from axc.sim.timing import check_schedule, simulate_timing

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = Path.home() / ".cache/axc/models/qwen2.5-coder-0.5b-instruct"
# the llm-layer pipeline (axc/pipelines.py), one pass at a time
LOWERING = ("quantize{weight-type=s8 group-size=128 hidden-type=bf16}", "fold-constant-casts",
            "canonicalize", "cse", "dce", "convert-axh-to-axnpu", "axnpu-tile",
            "axnpu-build-ops")
SCHEDULING = ("axnpu-insert-ddr-swap", "axnpu-calc-deps")
STRATEGIES = ("heuristic", "onepass", "greedy")


def _groups(module: ModuleOp) -> list[GroupOp]:
    return [g for op in module.walk() if isinstance(op, ProgramOp) for g in op.groups()]


def _counts(module: ModuleOp) -> dict[str, int]:
    return {g.sym_name.data: len(g.instructions()) for g in _groups(module)}


def _clone(module: ModuleOp) -> ModuleOp:
    out = io.StringIO()
    Printer(stream=out).print_op(module)
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(AXNPU)
    return Parser(ctx, out.getvalue()).parse_module()


def _real_layer(args: argparse.Namespace) -> tuple[ModuleOp, list[str]]:
    from transformers import AutoConfig

    from axc.frontend.pipeline import import_layer, shape_groups

    config = AutoConfig.from_pretrained(args.model)
    module = import_layer(config, args.layer, shape_groups(args.prefill, args.kv))
    return module, list(LOWERING)


def _synthetic_layer(args: argparse.Namespace) -> tuple[ModuleOp, list[str]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from axnpu_synthetic import layer_program

    shape = dict(hidden=896, heads=14, kv_heads=2, inter=4864, cache=args.kv, tile_bytes=65536)
    decode = layer_program(tokens=1, name="decode", **shape)
    prefill = layer_program(tokens=args.prefill, name="prefill", **shape)
    # one module, two programs: the passes walk every program
    program = next(op for op in prefill.walk() if isinstance(op, ProgramOp))
    program.detach()
    decode.body.block.add_op(program)
    return decode, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--layer", type=int, default=0)
    parser.add_argument("--prefill", type=int, default=128)
    parser.add_argument("--kv", type=int, default=1023)
    parser.add_argument("--chip", default="AX650")
    parser.add_argument("--npu-mode", default=None)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--synthetic", action="store_true",
                        help="schedule the synthetic Qwen-shaped layer instead")
    args = parser.parse_args(argv)
    console = Console()

    from axc.frontend.pipeline import run_pipeline
    from axc.passes import get_all_passes

    registry = get_all_passes()
    missing = []
    for name in LOWERING[5:]:
        try:
            registry[name]()
        except (ImportError, AttributeError, KeyError):
            missing.append(name)
    if missing and not args.synthetic:
        console.print(f"[red]the lowering passes {', '.join(missing)} are not available yet; "
                      "run with --synthetic to schedule the synthetic layer instead[/red]")
        return 1
    if not args.synthetic and not (args.model / "config.json").exists():
        console.print(f"[red]no config.json in {args.model}; run `axc models pull` or pass "
                      "--model DIR (or --synthetic)[/red]")
        return 1

    t0 = time.perf_counter()
    module, lowering = (_synthetic_layer if args.synthetic else _real_layer)(args)
    import_s = time.perf_counter() - t0
    what = "synthetic Qwen2.5-0.5B-shaped layer" if args.synthetic else (
        f"{args.model.name} layer {args.layer}")
    passes = Table(title=f"axnpu back end: {what} (decode + prefill {args.prefill}, "
                         f"KV {args.kv})")
    passes.add_column("pass")
    passes.add_column("time s", justify="right")
    passes.add_column("decode instr", justify="right")
    passes.add_column("prefill instr", justify="right")

    def row(name: str, seconds: float) -> None:
        counts = _counts(module)
        decode = next((v for k, v in counts.items() if "decode" in k), "-")
        prefill = next((v for k, v in counts.items() if "prefill" in k), "-")
        passes.add_row(name, f"{seconds:.3f}", str(decode), str(prefill))

    row("import" if not args.synthetic else "generate", import_s)
    backend_s = 0.0
    for name in lowering + list(SCHEDULING):
        start = time.perf_counter()
        run_pipeline(module, name)
        seconds = time.perf_counter() - start
        if name.startswith(("convert", "axnpu")):
            backend_s += seconds
        row(name, seconds)
    console.print(passes)

    chip = load_chip(args.chip, args.npu_mode)
    mode = args.npu_mode or chip.npu_mode
    table = Table(title=f"axnpu-assign-eu on {chip.name} {mode}: predicted makespan "
                        "(simulate_timing)")
    for col in ("strategy", "group", "pass s", "makespan cycles", "ms (with launch)",
                "DDR GB/s", "vs heuristic"):
        table.add_column(col, justify="left" if col in ("strategy", "group") else "right")
    base: dict[str, int] = {}
    makespans: dict[tuple[str, str], int] = {}
    assign_s: dict[str, float] = {}
    for strategy in STRATEGIES:
        scheduled = _clone(module)
        start = time.perf_counter()
        options = f"strategy={strategy} iterations={args.iterations}"
        if args.npu_mode:
            options += f" npu-mode={args.npu_mode}"
        run_pipeline(scheduled, f"axnpu-assign-eu{{{options}}}")
        seconds = time.perf_counter() - start
        assign_s[strategy] = seconds
        for group in _groups(scheduled):
            check_schedule(group, chip)  # raises on any invalid dependency or EU
            result = simulate_timing(group, chip)
            name = group.sym_name.data
            makespans[(strategy, name)] = result.makespan_cycles
            base.setdefault(name, result.makespan_cycles)
            gain = 100.0 * (1 - result.makespan_cycles / base[name])
            table.add_row(strategy, name, f"{seconds:.2f}", f"{result.makespan_cycles:,}",
                          f"{result.time_ms:.3f}", f"{result.ddr_gbps:.2f}", f"-{gain:.2f}%")
    console.print(table)
    ok = True
    for name in {n for _, n in makespans}:
        h, o, g = (makespans[(s, name)] for s in STRATEGIES)
        good = g <= o <= h and g < h
        ok &= good
        console.print(f"{name}: greedy {g:,} <= onepass {o:,} <= heuristic {h:,}, greedy < "
                      f"heuristic: {'yes' if good else '[red]NO[/red]'}")
    total = backend_s + assign_s.get("greedy", 0.0)
    console.print(f"whole back end (convert .. assign-eu greedy), decode + prefill: {total:.1f} s "
                  f"(target < 30 s); every schedule passed check_schedule")
    return 0 if ok and total < 30 else 1


if __name__ == "__main__":
    raise SystemExit(main())
