"""`axc llm_build`: pulsar2's `llm_build` command line (same flags, same defaults, same output
folder); the work is `axc.build.build`. See docs/llm_build.md."""

from __future__ import annotations

import argparse

from axc.build import CHIPS, HIDDEN_TYPES, POST_WEIGHT_TYPES, WEIGHT_TYPES, BuildOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = BuildOptions()
    parser.add_argument("--input_path", default=d.input_path,
                        help="Hugging Face model folder (config.json + safetensors/bin) or .gguf")
    parser.add_argument("--output_path", default=d.output_path, help="folder to write")
    parser.add_argument("--prefill_len", type=int, default=d.prefill_len,
                        help="tokens per prefill chunk (0: decode-only layers)")
    parser.add_argument("--parallel", type=int, default=d.parallel,
                        help="worker processes that quantize and write layers")
    parser.add_argument("--model_config", default=d.model_config,
                        help="a config.json to use instead of the one in --input_path")
    parser.add_argument("--kv_cache_len", type=int, default=d.kv_cache_len,
                        help="rows of the KV cache (the longest conversation)")
    parser.add_argument("--post_topk", type=int, default=d.post_topk,
                        help="post model returns the top-k ids and probabilities (0: logits)")
    parser.add_argument("--post_weight_type", default=d.post_weight_type,
                        choices=POST_WEIGHT_TYPES)
    parser.add_argument("-t", "--hidden_state_type", default=d.hidden_state_type,
                        choices=HIDDEN_TYPES)
    parser.add_argument("-w", "--weight_type", default=d.weight_type, choices=WEIGHT_TYPES)
    parser.add_argument("-c", "--check_level", type=int, default=d.check_level,
                        choices=(0, 1, 2),
                        help="0: build only; 1: layer 0 cosine vs Hugging Face; 2: simulate "
                        "the whole model on --prompt")
    parser.add_argument("--chip", default=d.chip, choices=CHIPS)
    parser.add_argument("--prompt", default=d.prompt,
                        help="check level 2's prompt (default: the chat-templated '1+1=?'); "
                        "a literal \\n is read as a newline")
    parser.add_argument("--last_kv_cache_len", type=int, action="append", default=[],
                        metavar="N", help="add a prefill group attending to N earlier tokens "
                        "(repeatable), so long prompts prefill in chunks")
    parser.add_argument("--npu_mode", default=d.npu_mode,
                        help="NPU1 | NPU2 | NPU3 on AX650 (default: the chip file's)")
    parser.add_argument("--group_size", type=int, default=d.group_size,
                        help="weight quantization group size of -w s4 and -w s8 (axc "
                        "groups s8 too, docs/accuracy.md; 0 with -w s8: one scale per output "
                        "channel, pulsar2's w8a16)")
    parser.add_argument("--quant_method", default=d.quant_method,
                        choices=("auto", "rtn", "clip", "asym"),
                        help="weight quantization method (axc's own flag): auto = asym for s4 (a "
                        "zero point per group, the most accurate s4, docs/accuracy.md), rtn "
                        "for s8; rtn = pulsar2's symmetric grid")
    parser.add_argument("--strategy", default=d.strategy,
                        choices=("heuristic", "onepass", "greedy"),
                        help="EU assignment strategy of the scheduler (axc's own flag)")
    parser.add_argument("--max_new_tokens", type=int, default=d.max_new_tokens,
                        help="check level 2's token limit")


def run(args: argparse.Namespace) -> int:
    from axc.build import build

    options = BuildOptions(
        input_path=args.input_path, output_path=args.output_path, prefill_len=args.prefill_len,
        parallel=args.parallel, model_config=args.model_config, kv_cache_len=args.kv_cache_len,
        post_topk=args.post_topk, post_weight_type=args.post_weight_type,
        hidden_state_type=args.hidden_state_type, weight_type=args.weight_type,
        check_level=args.check_level, chip=args.chip, prompt=args.prompt,
        last_kv_cache_len=list(args.last_kv_cache_len), npu_mode=args.npu_mode,
        group_size=args.group_size, quant_method=args.quant_method, strategy=args.strategy,
        max_new_tokens=args.max_new_tokens)
    build(options)
    return 0
