"""`axc accuracy --input_path D [-w ...]`: how far a quantized build is from the float model.

Prints a rich table: per-layer cosine similarity (decode and prefill) between the quantized
layer run by the axh interpreter and the Hugging Face float32 layer on real hidden states,
then teacher-forced top-1 agreement and perplexity on the shipped evaluation text, float32
beside quantized. `--json` prints the same as JSON. See axc/accuracy.py and docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from axc.numerics import HIDDEN_TYPES, WEIGHT_TYPES
    from axc.quant import QUANT_METHODS

    parser.add_argument("--input_path", required=True, help="Hugging Face model folder")
    parser.add_argument("-w", "--weight_type", default="s8", choices=WEIGHT_TYPES)
    parser.add_argument("-t", "--hidden_type", default="bf16", choices=HIDDEN_TYPES)
    parser.add_argument("--group_size", type=int, default=128,
                        help="group size of s4 and s8 weights (0 with -w s8: per channel)")
    parser.add_argument("--quant_method", default="auto", choices=QUANT_METHODS,
                        help="s4/s8 algorithm: auto = asym for s4, rtn for s8; rtn = pulsar2's "
                        "symmetric grid; asym = rtn with zero points (the best measured at "
                        "w4a16, docs/accuracy.md); clip, gptq, awq "
                        "and awq-gptq calibrate on axc/data/calib.txt first")
    parser.add_argument("--post_weight_type", default="bf16", choices=("bf16", "s8", "fp32"))
    parser.add_argument("--tokens", type=int, default=1024,
                        help="tokens of the evaluation text (a multiple of --chunk)")
    parser.add_argument("--chunk", type=int, default=256, help="prefill chunk length")
    parser.add_argument("--layers", type=int, nargs="*", default=None,
                        help="layers of the per-layer cosine table (default: all)")
    parser.add_argument("--no_fuse", action="store_true",
                        help="skip fuse-qkv / fuse-gate-up (the results are the same)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("-o", "--output", default=None, help="also write the JSON report here")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from axc.accuracy import AccuracyOptions, evaluate, format_rows, save_json

    options = AccuracyOptions(
        weight_type=args.weight_type, group_size=args.group_size,
        quant_method=args.quant_method, post_weight_type=args.post_weight_type,
        hidden_type=args.hidden_type, tokens=args.tokens, chunk=args.chunk,
        layers=args.layers, fuse=not args.no_fuse)
    console = Console(stderr=True)
    with console.status("accuracy") as status:
        report = evaluate(args.input_path, options,
                          progress=lambda m: status.update(f"accuracy: {m}"))
    if args.output:
        save_json(report, args.output)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    method = options.quant_method if options.weight_type == "s4" else "-"
    title = (f"{args.input_path}: w={options.weight_type} g={options.group_size} "
             f"method={method} hidden={options.hidden_type} post={options.post_weight_type}")
    table = Table(title=title)
    table.add_column("layer", justify="right")
    table.add_column("cosine decode", justify="right")
    table.add_column("cosine prefill", justify="right")
    for row in report.layers:
        table.add_row(str(row["layer"]), f"{row['decode']:.6f}", f"{row['prefill']:.6f}")
    out = Console()
    out.print(table)
    summary = Table(show_header=False)
    for key, value in format_rows(report):
        summary.add_row(key, value)
    summary.add_row("wall time", ", ".join(f"{k} {v}s" for k, v in report.seconds.items()))
    out.print(summary)
    return 0
