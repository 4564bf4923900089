"""`axc estimate --input_path D|config.json --chip AX650 ...`: predicted TTFT, decode
tokens/s and memory footprint from the configuration alone (no weights are read)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input_path", required=True,
                        help="model folder, its config.json, or a .gguf (config only)")
    parser.add_argument("--chip", default="AX650", help="chip name or chip-file path "
                        "(AX650, AX620E/AX630C)")
    parser.add_argument("--npu_mode", default=None, help="NPU1 | NPU2 | NPU3 (default: the "
                        "chip file's)")
    parser.add_argument("-w", "--weight_type", default="s8",
                        choices=["s8", "s4", "bf16", "fp16", "fp32"])
    parser.add_argument("--group_size", type=int, default=128, help="s4 group size")
    parser.add_argument("--s8_group_size", type=int, default=0,
                        help="s8 scale group (default 0: one scale per output channel, the "
                        "pulsar2 builds of BOARDS.md; 128: axc llm_build's default)")
    parser.add_argument("-t", "--hidden_state_type", default="bf16",
                        choices=["bf16", "fp16", "fp32"])
    parser.add_argument("--post_weight_type", default="s8", choices=["s8", "bf16"])
    parser.add_argument("--prefill_len", type=int, default=128)
    parser.add_argument("--kv_cache_len", type=int, default=1023)
    parser.add_argument("--strategy", default="greedy", choices=["heuristic", "onepass", "greedy"],
                        help="EU assignment strategy")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from axc.estimate import EstimateOptions, estimate, print_report

    options = EstimateOptions(
        chip=args.chip, npu_mode=args.npu_mode, weight_type=args.weight_type,
        group_size=args.group_size, s8_group_size=args.s8_group_size,
        hidden_type=args.hidden_state_type,
        post_weight_type=args.post_weight_type, prefill_len=args.prefill_len,
        kv_cache_len=args.kv_cache_len, strategy=args.strategy)
    report = estimate(args.input_path, options)
    if args.json:
        print(report.to_json())
    else:
        print_report(report)
    return 0
