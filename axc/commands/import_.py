"""`axc import --input_path D [--layer I]`: print (or write) the axh IR of one layer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input_path", required=True, help="model folder, its config.json, "
                        "or a .gguf file (only the configuration is read)")
    parser.add_argument("--layer", type=int, default=0, help="decoder layer index, or -1 for "
                        "the post layer (final norm + lm_head)")
    parser.add_argument("--prefill_len", type=int, default=128)
    parser.add_argument("--kv_cache_len", type=int, default=1023)
    parser.add_argument("--raw", action="store_true", help="the literal ATen import, before "
                        "the axh-raise pipeline")
    parser.add_argument("-o", "--output", default=None, help="write the IR to this file")


def run(args: argparse.Namespace) -> int:
    from axc.errors import AxcError
    from axc.frontend.config import LLMConfig
    from axc.frontend.pipeline import import_layer, import_post, shape_groups

    llm = LLMConfig.from_pretrained_dir(args.input_path)
    print(llm.format_block(), file=sys.stderr)
    config = llm.hf
    if args.prefill_len > args.kv_cache_len:
        raise AxcError(f"--prefill_len {args.prefill_len} exceeds --kv_cache_len "
                       f"{args.kv_cache_len}")
    n_layers = config.num_hidden_layers
    if args.layer == -1:
        module = import_post(config, raise_ops=not args.raw)
    elif 0 <= args.layer < n_layers:
        groups = shape_groups(args.prefill_len, args.kv_cache_len)
        module = import_layer(config, args.layer, groups, raise_ops=not args.raw)
    else:
        raise AxcError(f"--layer {args.layer} is out of range: the model has {n_layers} layers")
    text = str(module) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0
