"""`axc run` against transformers float32 on the same prompt, side by side.

    .venv/bin/python bench/run.py OUTPUT_DIR [--model_dir DIR] [--prompt "who are you?"]
                                  [--max_new_tokens 32] [--skip-axc] [--interp_check]
                                  [--json FILE]

Both get the same chat-template ids (`axc.runtime.tokenizer.LocalTokenizer`) and decode
greedily. Prints one table: TTFT and decode tokens/s measured on this host for transformers
(float32, KV cache) and for the axc runtime (the functional simulator), the chip's predicted
figures, the answers and whether their first sentences agree. "CPU s/token" is the process
CPU time per decode step (all threads): on a shared machine it is steadier than wall time.
The default model folder is Qwen2.5-Coder-0.5B-Instruct from `axc models pull`.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

DEFAULT_MODEL = Path.home() / ".cache/axc/models/qwen2.5-coder-0.5b-instruct"


def run_transformers(model_dir: Path, ids: list[int], eos: set[int], max_new: int) -> dict:
    """Greedy decode with transformers float32 and its KV cache, timed per token."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    out: list[int] = []
    with torch.inference_mode():
        t0 = time.perf_counter()
        res = model(torch.tensor([ids]), use_cache=True)
        token = int(res.logits[0, -1].argmax())
        t_first, c_first = time.perf_counter(), time.process_time()
        past = res.past_key_values
        while token not in eos and len(out) < max_new:
            out.append(token)
            res = model(torch.tensor([[token]]), past_key_values=past, use_cache=True)
            past = res.past_key_values
            token = int(res.logits[0, -1].argmax())
        t_end, c_end = time.perf_counter(), time.process_time()
    steps = max(len(out) - 1, 0)  # the decode steps that produced tokens 2..n
    return {"tokens": out, "ttft_ms": (t_first - t0) * 1000,
            "tokens_per_s": steps / (t_end - t_first) if steps else 0.0,
            "cpu_s_per_token": (c_end - c_first) / steps if steps else 0.0}


def run_axc(folder: Path, ids: list[int], max_new: int) -> dict:
    from axc.runtime.engine import LLMEngine

    engine = LLMEngine(folder, progress=False)
    out, cpu = [], []
    for token in engine.generate(ids, max_new_tokens=max_new):
        out.append(token)
        cpu.append(time.process_time())
    s = engine.stats
    steps = len(out) - 1
    return {"tokens": out, "ttft_ms": s.ttft_ms, "tokens_per_s": s.decode_tokens_per_s,
            "cpu_s_per_token": (cpu[-1] - cpu[0]) / steps if steps > 0 else 0.0,
            "predicted_ttft_ms": s.predicted_ttft_ms,
            "predicted_tokens_per_s": s.predicted_decode_tokens_per_s,
            "chip": engine.config.get("chip", "chip"), "stop_reason": engine.stop_reason}


def interp_teacher_forced(model_dir: Path, folder: Path, ids: list[int],
                          answer: list[int]) -> list[int]:
    """The build's quantized layers and post model run by the axh interpreter over the prompt
    and the answer at once (one pass, no chunking, no KV cache): the greedy choice at each
    answer position. If it equals `answer` token for token, the unchunked model's greedy
    continuation is `answer` too."""
    from axc.accuracy import AccuracyOptions, QuantizedModel, _add_missing_buffers, load_model
    from axc.embedding import embed_tokens
    from axc.frontend.trace import runtime_mask
    from axc.frontend.weights import CheckpointReader
    from axc.interp import run_function
    from axc.weight_store import WeightStore

    cfg = json.loads((folder / "config.json").read_text())
    model, _ = load_model(model_dir)
    store = WeightStore(CheckpointReader(model_dir))
    _add_missing_buffers(model, store)
    seq = list(ids) + list(answer[:-1])
    n = len(seq)
    options = AccuracyOptions(weight_type=cfg["weight_type"], group_size=cfg["group_size"],
                              post_weight_type=cfg["post_weight_type"],
                              hidden_type=cfg["hidden_state_type"], fuse=False)
    qmodel = QuantizedModel(model, store, options, [("whole", n, 0)])
    hidden = embed_tokens(store, model.config, seq)[None]
    kv_dim = int(cfg["kv_dim"])
    empty = np.zeros((1, 0, kv_dim), np.float32)
    for i in range(model.config.num_hidden_layers):
        fn = qmodel.layer(i)["whole"]
        hidden = run_function(fn, {"input": hidden, "indices": np.arange(n, dtype=np.uint32)[None],
                                   "mask": runtime_mask(n, 0, 0).numpy(), "K_cache": empty,
                                   "V_cache": empty}, store.get, options.hidden_type)[0]
        store.drop(f"model.layers.{i}.")
    rows = hidden[:, len(ids) - 1:]
    logits = run_function(qmodel.post(rows.shape[1]), [rows], store.get,
                          options.hidden_type)[0][0]
    return [int(t) for t in np.asarray(logits).argmax(-1)]


def first_sentence(text: str) -> str:
    match = re.match(r"\s*(.+?[.!?。！？])(\s|$)", text, re.S)
    return (match.group(1) if match else text).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", type=Path, help="a folder built by axc llm_build")
    parser.add_argument("--model_dir", type=Path, default=DEFAULT_MODEL,
                        help="the Hugging Face folder the build came from")
    parser.add_argument("--prompt", default="who are you?")
    parser.add_argument("--max_new_tokens", type=int, default=32)
    parser.add_argument("--skip-axc", action="store_true", help="transformers only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--interp_check", action="store_true",
                        help="also compare the axc answer with the axh interpreter over the "
                        "whole prompt at once (same numerics, no chunking)")
    args = parser.parse_args()

    from axc.runtime.tokenizer import LocalTokenizer

    tok = LocalTokenizer(args.output_dir)
    ids = tok.encode_chat(args.prompt)
    rows = {"transformers float32": run_transformers(args.model_dir, ids, set(tok.eos_ids),
                                                     args.max_new_tokens)}
    if not args.skip_axc:
        rows["axc run (simulator)"] = run_axc(args.output_dir, ids, args.max_new_tokens)

    table = Table(title=f"{args.prompt!r}: {len(ids)} prompt tokens, greedy, at most "
                  f"{args.max_new_tokens} new")
    for col in ("runtime", "TTFT ms (host)", "token/s (host)", "CPU s/token", "new tokens",
                "answer"):
        table.add_column(col)
    for name, r in rows.items():
        r["answer"] = tok.decode(r["tokens"])
        table.add_row(name, f"{r['ttft_ms']:.1f}", f"{r['tokens_per_s']:.2f}",
                      f"{r['cpu_s_per_token']:.3f}", str(len(r["tokens"])), r["answer"])
    axc = rows.get("axc run (simulator)")
    if axc:
        table.add_row(f"{axc['chip']} predicted", f"{axc['predicted_ttft_ms']:.1f}",
                      f"{axc['predicted_tokens_per_s']:.2f}", "", "", "")
    console = Console()
    console.print(table)
    if axc:
        ref = rows["transformers float32"]
        same = first_sentence(ref["answer"]) == first_sentence(axc["answer"])
        pairs = zip(ref["tokens"], axc["tokens"], strict=False)
        common = next((i for i, (a, b) in enumerate(pairs) if a != b),
                      min(len(ref["tokens"]), len(axc["tokens"])))
        console.print(f"same first sentence: {same}; identical first {common} tokens")
    if axc and args.interp_check and axc["tokens"]:
        ref = interp_teacher_forced(args.model_dir, args.output_dir, ids, axc["tokens"])
        agree = next((i for i, (a, b) in enumerate(zip(ref, axc["tokens"], strict=True))
                      if a != b), len(ref))
        axc["interp_greedy"] = ref
        console.print(f"axh interpreter, whole prompt at once: greedy choice equals axc's for "
                      f"the first {agree} of {len(ref)} answer tokens")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
