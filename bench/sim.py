"""Speed of the functional simulator: time per instruction kind and per group.

    python bench/sim.py                  # synthetic Qwen2.5-0.5B decode layer (s8, kv 1023)
    python bench/sim.py --runs 20 --hidden 64 --intermediate 128 --heads 4 --kv-heads 2
    python bench/sim.py --model qwen2.5-coder-0.5b-instruct   # + a compiled real layer 0
    python bench/sim.py --decode-step qwen2.5-coder-0.5b-instruct [--kv 1023] [--steps 5]

The synthetic layer is what the lowering produces in structure (weight tiles double-buffered
through OCM, per-tile s8 matmuls, GQA attention against the KV cache, rope, rms norms,
swiglu), built directly with the dialect's constructors, so it runs whatever state the
lowering is in; `--model` adds layer 0 of a pulled checkpoint compiled by the real pipeline
(decode and prefill groups).

`--decode-step` is the speed goal of issue 6: it builds the real model's 24 layer axmodels
and its post model (w8a16, compiled once per layer kind, written and read back as files),
then times one decode step through all layers and the post model in `InferenceSession`s
(the simulator), side by side with transformers' float32 model doing the same step against a
KV cache of the same length, and prints both tokens/s.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

import numpy as np

from axc.dialects.axnpu import (
    BufferOp,
    DmaLoadOp,
    DmaStoreOp,
    EltwiseOp,
    GroupOp,
    MatmulOp,
    ProgramOp,
    Region,
    RmsNormOp,
    RopeOp,
    SoftmaxOp,
    View,
)
from axc.numerics import bf16_bits, quantize_symmetric
from axc.sim.functional import FunctionalSimulator

_BITS = {"f32": 32, "bf16": 16, "s8": 8, "u32": 32}


@dataclass
class _Builder:
    ocm_bytes: int
    ddr: int = 0
    ocm: int = 0
    buffers: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    weights: dict = field(default_factory=dict)

    def buffer(self, name, shape, dtype, kind, data=None):
        nbytes = int(np.prod(shape)) * _BITS[dtype] // 8
        view = View("ddr", self.ddr, list(shape), dtype)
        self.ddr += -(-nbytes // 64) * 64
        self.buffers.append(BufferOp(name, view, kind))
        if data is not None:
            self.weights[name] = np.ascontiguousarray(data).tobytes()
        return view

    def alloc(self, shape, dtype):
        nbytes = int(np.prod(shape)) * _BITS[dtype] // 8
        view = View("ocm", self.ocm, list(shape), dtype)
        self.ocm += -(-nbytes // 64) * 64
        assert self.ocm <= self.ocm_bytes, "synthetic layer does not fit the OCM"
        return view

    def load(self, ddr: View, ocm: View):
        n = ddr.access().nbytes
        self.ops.append(DmaLoadOp(Region("ddr", ddr.offset.data, n),
                                  Region("ocm", ocm.offset.data, n)))

    def store(self, ocm: View, ddr: View):
        n = ocm.access().nbytes
        self.ops.append(DmaStoreOp(Region("ocm", ocm.offset.data, n),
                                   Region("ddr", ddr.offset.data, n)))


def synthetic_decode_layer(hidden=896, intermediate=4864, heads=14, kv_heads=2, head_dim=64,
                           kv=1023, tile_bytes=256 << 10, ocm_bytes=2 << 20, seed=0):
    """(program, inputs, weights) of one s8 decode layer of a Qwen2-shaped model."""
    rng = np.random.default_rng(seed)
    b = _Builder(ocm_bytes)
    kvw = kv_heads * head_dim
    inputs = {
        "input": rng.standard_normal((1, 1, hidden)).astype(np.float32),
        "indices": np.array([[kv]], np.uint32),
        "mask": np.zeros((1, 1, kv + 1), np.float32),
        "K_cache": rng.standard_normal((1, kv, kvw)).astype(np.float32),
        "V_cache": rng.standard_normal((1, kv, kvw)).astype(np.float32),
    }
    d_in = b.buffer("input", [1, 1, hidden], "bf16", "input")
    d_idx = b.buffer("indices", [1, 1], "u32", "input")
    d_mask = b.buffer("mask", [1, 1, kv + 1], "bf16", "input")
    d_k = b.buffer("K_cache", [1, kv, kvw], "bf16", "input")
    d_v = b.buffer("V_cache", [1, kv, kvw], "bf16", "input")
    d_out = b.buffer("output", [1, 1, hidden], "bf16", "output")
    d_kout = b.buffer("K_cache_out", [1, 1, kvw], "bf16", "output")
    d_vout = b.buffer("V_cache_out", [1, 1, kvw], "bf16", "output")

    def weight(name, n, k):
        q, s = quantize_symmetric(rng.standard_normal((n, k)).astype(np.float32) * 0.05,
                                  "s8", k)
        w = b.buffer(f"model.layers.0.{name}.weight", [n, k], "s8", "weight", q)
        sc = b.buffer(f"model.layers.0.{name}.scales", [n, 1], "bf16", "weight", bf16_bits(s))
        return w, sc

    def vec(name, n, values=None):
        values = rng.standard_normal(n).astype(np.float32) if values is None else values
        dtype = "f32" if name.endswith("inv_freq") else "bf16"
        data = values if dtype == "f32" else bf16_bits(values)
        return b.buffer(f"model.layers.0.{name}", [n], dtype, "weight", data)

    lin = {name: weight(name, n, k) for name, n, k in (
        ("self_attn.q_proj", heads * head_dim, hidden), ("self_attn.k_proj", kvw, hidden),
        ("self_attn.v_proj", kvw, hidden), ("self_attn.o_proj", hidden, heads * head_dim),
        ("mlp.gate_proj", intermediate, hidden), ("mlp.up_proj", intermediate, hidden),
        ("mlp.down_proj", hidden, intermediate))}
    norms = {n: vec(n + ".weight", hidden) for n in ("input_layernorm",
                                                     "post_attention_layernorm")}
    biases = {n: vec(f"self_attn.{n}.bias", w) for n, w in (
        ("q_proj", heads * head_dim), ("k_proj", kvw), ("v_proj", kvw))}
    inv = (1.0 / 1e6 ** (np.arange(0, head_dim, 2) / head_dim)).astype(np.float32)
    d_inv = vec("rotary.inv_freq", head_dim // 2, inv)

    # OCM: weight tile double buffers first, then activations
    wbuf = [b.alloc([tile_bytes], "s8") for _ in range(2)]
    sbuf = [b.alloc([tile_bytes // hidden + 64], "bf16") for _ in range(2)]
    x = b.alloc([1, hidden], "bf16")
    b.load(d_in, x)
    idx = b.alloc([1], "u32")
    b.load(d_idx, idx)
    mask = b.alloc([1, kv + 1], "bf16")
    b.load(d_mask, mask)
    kc, vc = b.alloc([kv + 1, kvw], "bf16"), b.alloc([kv + 1, kvw], "bf16")
    b.load(d_k, View("ocm", kc.offset.data, [kv, kvw], "bf16"))
    b.load(d_v, View("ocm", vc.offset.data, [kv, kvw], "bf16"))
    small = {}
    for name, ddr in [*norms.items(), *biases.items(), ("inv", d_inv)]:
        small[name] = b.alloc(ddr.get_shape(), ddr.dtype.data)
        b.load(ddr, small[name])
    tile = [0]

    def linear(name, xin, out, bias=None):
        w, s = lin[name]
        n, k = w.get_shape()
        rows = max(1, min(n, tile_bytes // k))
        for n0 in range(0, n, rows):
            nt = min(rows, n - n0)
            t = tile[0] % 2
            tile[0] += 1
            wt = View("ocm", wbuf[t].offset.data, [nt, k], "s8")
            st = View("ocm", sbuf[t].offset.data, [nt, 1], "bf16")
            b.ops.append(DmaLoadOp(Region("ddr", w.offset.data + n0 * k, nt * k),
                                   Region("ocm", wt.offset.data, nt * k)))
            b.ops.append(DmaLoadOp(Region("ddr", s.offset.data + 2 * n0, 2 * nt),
                                   Region("ocm", st.offset.data, 2 * nt)))
            ot = View("ocm", out.offset.data + 2 * n0, [1, nt], "bf16")
            bt = None if bias is None else View("ocm", bias.offset.data + 2 * n0, [1, nt],
                                                "bf16")
            b.ops.append(MatmulOp(xin, wt, ot, scale=st, bias=bt))

    h = b.alloc([1, hidden], "bf16")
    b.ops.append(RmsNormOp(x, h, eps=1e-6, weight=small["input_layernorm"]))
    q = b.alloc([1, heads * head_dim], "bf16")
    k = View("ocm", kc.offset.data + kv * kvw * 2, [1, kvw], "bf16")  # new row of the cache
    v = View("ocm", vc.offset.data + kv * kvw * 2, [1, kvw], "bf16")
    linear("self_attn.q_proj", h, q, small["q_proj"])
    linear("self_attn.k_proj", h, k, small["k_proj"])
    linear("self_attn.v_proj", h, v, small["v_proj"])
    b.ops.append(RopeOp(q, idx, small["inv"], q, head_dim=head_dim))
    b.ops.append(RopeOp(k, idx, small["inv"], k, head_dim=head_dim))
    b.store(k, d_kout)
    b.store(v, d_vout)
    group = heads // kv_heads
    attn = b.alloc([1, heads * head_dim], "bf16")
    scores = b.alloc([group, kv + 1], "f32")
    probs = b.alloc([group, kv + 1], "bf16")
    for g in range(kv_heads):
        qg = View("ocm", q.offset.data + 2 * g * group * head_dim, [group, head_dim], "bf16")
        kg = View("ocm", kc.offset.data + 2 * g * head_dim, [kv + 1, head_dim], "bf16",
                  2 * kvw)
        vg = View("ocm", vc.offset.data + 2 * g * head_dim, [kv + 1, head_dim], "bf16",
                  2 * kvw)
        og = View("ocm", attn.offset.data + 2 * g * group * head_dim, [group, head_dim],
                  "bf16")
        b.ops.append(MatmulOp(qg, kg, scores))
        b.ops.append(SoftmaxOp(scores, probs, mask=mask, scale=head_dim ** -0.5))
        b.ops.append(MatmulOp(probs, vg, og, w_kn=True))
    o = b.alloc([1, hidden], "bf16")
    linear("self_attn.o_proj", attn, o)
    b.ops.append(EltwiseOp("add", o, o, b=x))
    h2 = b.alloc([1, hidden], "bf16")
    b.ops.append(RmsNormOp(o, h2, eps=1e-6, weight=small["post_attention_layernorm"]))
    gate, up = b.alloc([1, intermediate], "bf16"), b.alloc([1, intermediate], "bf16")
    linear("mlp.gate_proj", h2, gate)
    linear("mlp.up_proj", h2, up)
    b.ops.append(EltwiseOp("swiglu", gate, gate, b=up))
    y = b.alloc([1, hidden], "bf16")
    linear("mlp.down_proj", gate, y)
    b.ops.append(EltwiseOp("add", y, y, b=o))
    b.store(y, d_out)
    grp = GroupOp("decode", 0, [*b.buffers, *b.ops])
    program = ProgramOp("synthetic_l0", chip="AX650", ocm_bytes=ocm_bytes, ddr_bytes=b.ddr,
                        cores=3, conv_per_core=2, groups=[grp])
    return program, inputs, b.weights


def bench_group(sim: FunctionalSimulator, group, inputs, weights, runs: int):
    """(cold seconds, best and median warm seconds per run, per-label profile)."""
    start = time.perf_counter()
    compiled = sim.compiled(group)
    compiled.run(inputs, weights)
    cold = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        compiled.run(inputs, weights)
        times.append(time.perf_counter() - start)
    profile: dict[str, list[float]] = {}
    for _ in range(runs):
        compiled.run(inputs, weights, profile=profile)
    return cold, min(times), float(np.median(times)), profile


def report(title: str, program: ProgramOp, inputs, weights, runs: int) -> None:
    """Print, per group, the run times and a table of time per instruction kind."""
    sim = FunctionalSimulator(program)
    for group in program.groups():
        name = group.sym_name.data
        group_inputs = inputs[name] if name in inputs else inputs
        cold, best, median, profile = bench_group(sim, name, group_inputs, weights, runs)
        count = len(group.instructions())
        print(f"{title} @{name}: {count} instructions; cold {cold * 1e3:.1f} ms (compile + "
              f"first run); warm best {best * 1e3:.2f} ms, median {median * 1e3:.2f} ms "
              f"({best / count * 1e6:.1f} us/instruction); weight cache {sim.hits} hits, "
              f"{sim.misses} misses")
        total = sum(t for t, _ in profile.values())
        print(f"  {'instruction':<18} {'count':>6} {'ms/run':>8} {'us/each':>8} {'share':>6}")
        for label, (t, n) in sorted(profile.items(), key=lambda kv: -kv[1][0]):
            print(f"  {label:<18} {n // runs:>6} {t / runs * 1e3:>8.3f} "
                  f"{t / n * 1e6:>8.1f} {100 * t / total:>5.1f}%")


def lowered_layer(model: str, kv: int, prefill: int, weight_type: str = "s8"):
    """(program, {group: inputs}, weights) of layer 0 of a pulled checkpoint, compiled by the
    axnpu pipeline (needs the lowering passes)."""
    import torch
    from transformers import AutoConfig

    from axc.frontend.importer import import_module
    from axc.frontend.pipeline import run_pipeline, shape_groups
    from axc.frontend.trace import layer_example_inputs, trace_layer
    from axc.frontend.weights import CheckpointReader
    from axc.lowering_layout import pack_weights
    from axc.models import cached_model_dir
    from axc.weight_store import WeightStore, use_store

    folder = cached_model_dir(model)
    if folder is None:
        raise SystemExit(f"{model} is not pulled (axc models pull {model})")
    config = AutoConfig.from_pretrained(folder)
    groups = shape_groups(prefill, kv)[: 2 if prefill else 1]
    traced = [trace_layer(config, 0, g.seq_len, g.kv_len, device="meta") for g in groups]
    module = import_module([(t, g.name, t.weights_for_layer(0))
                            for t, g in zip(traced, groups, strict=True)])
    run_pipeline(module, "axh-raise")
    store = WeightStore(CheckpointReader(folder),
                        {k: v.float().numpy() for k, v in traced[0].buffers.items()})
    with use_store(store):
        run_pipeline(module, f"quantize{{weight-type={weight_type} hidden-type=bf16}},"
                             "canonicalize,cse,convert-axh-to-axnpu,axnpu-tile,axnpu-build-ops,"
                             "axnpu-insert-ddr-swap,axnpu-calc-deps")
    program = next(op for op in module.walk() if isinstance(op, ProgramOp))
    gen = torch.Generator().manual_seed(0)
    inputs = {g.name: {k: v.numpy() for k, v in layer_example_inputs(
        config, g.seq_len, g.kv_len, start=g.kv_len, generator=gen).items()} for g in groups}
    return program, inputs, pack_weights(program, store)


def build_axmodels(model: str, out_dir, kv: int, prefill: int, weight_type: str = "s8"):
    """(layer paths, post path, llm): the model's layers and post model as axmodel files."""
    from pathlib import Path

    from axc.axmodel import write_axmodel
    from axc.compile_cache import CompileCache
    from axc.frontend.config import LLMConfig
    from axc.frontend.pipeline import import_layer, import_post, run_pipeline, shape_groups
    from axc.frontend.trace import trace_post
    from axc.frontend.weights import CheckpointReader
    from axc.lowering_layout import pack_weights
    from axc.models import cached_model_dir
    from axc.weight_store import WeightStore, use_store

    folder = cached_model_dir(model)
    if folder is None:
        raise SystemExit(f"{model} is not pulled (axc models pull {model})")
    llm = LLMConfig.from_pretrained_dir(folder)
    reader = CheckpointReader(folder)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = CompileCache()
    backend = 'llm-backend{chip="AX650" strategy=onepass}'
    quant = f"llm-layer-quantize{{weight-type={weight_type} hidden-type=bf16}}"
    bases: dict = {}
    paths = []
    for i in range(llm.num_hidden_layers):
        key = str(llm.layer_kinds()[i])
        if key not in bases:
            buffers: dict = {}
            bases[key] = (import_layer(llm.hf, i, shape_groups(prefill, kv),
                                       relative_weights=True, buffers=buffers), buffers)
        base, buffers = bases[key]
        store = WeightStore(reader, buffers, prefix=f"model.layers.{i}.")
        module = base.clone()
        with use_store(store):
            run_pipeline(module, quant)
        program = next(iter(cache.compile(module, backend).ops))
        paths.append(write_axmodel(out / f"{llm.model_type}_p{prefill}_l{i}_together.axmodel",
                                   program, pack_weights(program, store)))
        print(f"\rbuilt layer {i + 1}/{llm.num_hidden_layers}", end="", flush=True)
    traced = trace_post(llm.hf, device="meta")
    store = WeightStore(reader, {k: v.numpy() for k, v in traced.buffers.items()})
    post = import_post(llm.hf)
    with use_store(store):
        run_pipeline(post, f"llm-post-quantize{{post-weight-type={weight_type} "
                           "hidden-type=bf16}")
    program = next(iter(cache.compile(post, backend).ops))
    post_path = write_axmodel(out / f"{llm.model_type}_post.axmodel", program,
                              pack_weights(program, store))
    print(f"\rbuilt {len(paths)} layers and the post model ({cache.misses} schedules)")
    return paths, post_path, llm, folder


def decode_step_bench(model: str, kv: int, steps: int, out_dir: str) -> dict:
    """Tokens/s of one decode step: simulator (24 layer axmodels + post) vs transformers."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import torch
    from transformers import AutoModelForCausalLM

    from axc.frontend.config import LLMConfig
    from axc.models import cached_model_dir
    from axc.runtime.session import InferenceSession

    # build in a child process: its memory (checkpoint arrays, IR) is returned to the OS
    # before the timed part holds transformers' model and the simulator's weight caches
    out = Path(out_dir or tempfile.mkdtemp())
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--build-only", model, "--kv", str(kv),
                    "--out", str(out)], check=True)
    build_s = time.perf_counter() - t0
    folder = cached_model_dir(model)
    llm = LLMConfig.from_pretrained_dir(folder)
    paths = [out / f"{llm.model_type}_p16_l{i}_together.axmodel"
             for i in range(llm.num_hidden_layers)]
    post_path = out / f"{llm.model_type}_post.axmodel"
    t0 = time.perf_counter()
    layers = [InferenceSession(p) for p in paths]
    post = InferenceSession(post_path)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    kv_dim = llm.num_key_value_heads * llm.head_dim
    caches = [(rng.standard_normal((1, kv, kv_dim)).astype(np.float32),
               rng.standard_normal((1, kv, kv_dim)).astype(np.float32)) for _ in layers]
    x0 = rng.standard_normal((1, 1, llm.hidden_size)).astype(np.float32) * 0.05
    feeds = {"indices": np.array([[kv]], dtype=np.uint32),
             "mask": np.zeros((1, 1, kv + 1), dtype=np.float32)}

    def sim_step() -> np.ndarray:
        x = x0
        for sess, (k, v) in zip(layers, caches, strict=True):
            x = sess.run(["output"], {**feeds, "input": x, "K_cache": k, "V_cache": v}, 0)[0]
        return post.run(None, {"input": x}, 0)[0]

    t0 = time.perf_counter()
    sim_step()  # first step: compiles the groups, copies and dequantises the weights
    sim_first = time.perf_counter() - t0
    hf = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.no_grad():
        cache = hf(torch.zeros((1, kv), dtype=torch.long), use_cache=True).past_key_values
        tok = torch.tensor([[1]])

        def hf_step() -> None:
            hf(tok, past_key_values=cache, use_cache=True)
            cache.crop(-1)

        hf_step()
        sim_t, hf_t = [], []
        for _ in range(steps):  # interleaved: both see the same machine load
            t0 = time.perf_counter()
            sim_step()
            sim_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            hf_step()
            hf_t.append(time.perf_counter() - t0)
    sim_ms, hf_ms = 1e3 * float(np.median(sim_t)), 1e3 * float(np.median(hf_t))
    result = {
        "model": model, "kv_cache_len": kv, "steps": steps,
        "build_s": round(build_s, 1), "load_s": round(load_s, 2),
        "sim_first_step_ms": round(1e3 * sim_first, 1),
        "sim_step_ms": round(sim_ms, 1), "hf_float32_step_ms": round(hf_ms, 1),
        "sim_tokens_per_s": round(1e3 / sim_ms, 2),
        "hf_float32_tokens_per_s": round(1e3 / hf_ms, 2),
        "ratio": round(hf_ms / sim_ms, 3),
        "predicted_chip_ms": round(sum(s.predicted_ms(0) or 0.0 for s in layers)
                                   + (post.predicted_ms(0) or 0.0), 3),
        "torch_threads": torch.get_num_threads(),
    }
    print(f"one decode step of {model} (kv {kv}): simulator {sim_ms:.1f} ms "
          f"({result['sim_tokens_per_s']} tokens/s; first step {1e3 * sim_first:.0f} ms), "
          f"transformers float32 {hf_ms:.1f} ms ({result['hf_float32_tokens_per_s']} "
          f"tokens/s): the simulator runs at {result['ratio']:.2f}x transformers' speed "
          f"(goal >= 0.5x); predicted on the AX650: {result['predicted_chip_ms']} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=896)
    parser.add_argument("--intermediate", type=int, default=4864)
    parser.add_argument("--heads", type=int, default=14)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--kv", type=int, default=1023)
    parser.add_argument("--model", help="also compile layer 0 of this pulled checkpoint "
                        "(e.g. qwen2.5-coder-0.5b-instruct) and run its groups")
    parser.add_argument("--prefill", type=int, default=0,
                        help="also a prefill group of this length (0: decode only)")
    parser.add_argument("--decode-step", metavar="MODEL",
                        help="time one decode step of a pulled model (all layers + post) in "
                        "the simulator vs transformers float32, side by side")
    parser.add_argument("--steps", type=int, default=5, help="--decode-step: timed steps")
    parser.add_argument("--out", default="", help="--decode-step: folder for the axmodels")
    parser.add_argument("--build-only", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build_axmodels(args.build_only, args.out, args.kv, 16)
        return
    if args.decode_step:
        decode_step_bench(args.decode_step, args.kv, args.steps, args.out)
        return
    program, inputs, weights = synthetic_decode_layer(
        args.hidden, args.intermediate, args.heads, args.kv_heads, args.head_dim, args.kv)
    mb = sum(len(w) for w in weights.values()) / 1e6
    report(f"synthetic decode layer ({mb:.1f} MB of weights)", program, inputs, weights,
           args.runs)
    if args.model:
        program, inputs, weights = lowered_layer(args.model, args.kv, args.prefill)
        mb = sum(len(w) for w in weights.values()) / 1e6
        report(f"{args.model} layer 0 ({mb:.1f} MB of weights)", program, inputs, weights,
               args.runs)


if __name__ == "__main__":
    main()
