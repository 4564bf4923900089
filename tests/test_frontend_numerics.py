"""The whole frontend against transformers: checkpoint -> trace (meta) -> axh -> axh-raise ->
reference interpreter, compared with the Hugging Face layer on real numbers.

Contract (issue 3): cosine >= 0.99999 and max relative error <= 1e-4 for every output of the
decode group (random history in the cache) and the prefill groups, for every architecture;
the same for layer 0 and the last layer of the real checkpoints when they are pulled.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import ARCHITECTURES, make_tiny_model

from axc.frontend.importer import import_module
from axc.frontend.pipeline import run_pipeline
from axc.frontend.trace import layer_example_inputs, reference_layer_outputs, trace_layer
from axc.frontend.weights import CheckpointReader
from axc.interp import run_function
from axc.models import cached_model_dir
from axc.weight_store import WeightStore

COSINE_MIN = 0.99999
REL_ERR_MAX = 1e-4

#: (name, new tokens, cached rows, start position of the new tokens)
GROUPS = [("decode", 1, 12, 7), ("prefill", 6, 0, 0), ("prefill_kv", 6, 8, 5)]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def max_rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(got - ref).max() / (np.abs(ref).max() + 1e-30))


def compare_layer(model, reader: CheckpointReader, layer_idx: int) -> list[tuple]:
    """Import `layer_idx` as the build does and compare every group's outputs with HF."""
    config = model.config
    rows = []
    for name, seq_len, kv_len, start in GROUPS:
        traced = trace_layer(config, layer_idx, seq_len, kv_len, device="meta")
        module = import_module([(traced, name, traced.weights_for_layer(layer_idx))])
        run_pipeline(module, "axh-raise")
        func_op = next(iter(module.ops))
        store = WeightStore(reader, {k: v.float().numpy() for k, v in traced.buffers.items()})
        gen = torch.Generator().manual_seed(layer_idx * 31 + seq_len)
        inputs = layer_example_inputs(config, seq_len, kv_len, start=start, generator=gen)
        ref = reference_layer_outputs(model, layer_idx, inputs)
        got = run_function(func_op, {k: v.numpy() for k, v in inputs.items()}, store.get)
        for out_name, g, r in zip(traced.output_names, got, ref, strict=True):
            r = r.detach().float().numpy()
            assert g.shape == r.shape, f"{name}/{out_name}: {g.shape} vs {r.shape}"
            rows.append((f"{name}/{out_name}", cosine(g, r), max_rel_err(g, r)))
    return rows


def assert_rows(rows: list[tuple[str, float, float]], what: str) -> None:
    bad = [r for r in rows if r[1] < COSINE_MIN or r[2] > REL_ERR_MAX]
    assert not bad, f"{what}: " + ", ".join(f"{n} cos={c:.7f} rel={e:.2e}" for n, c, e in bad)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_tiny_model_layers_match_transformers(arch: str, tmp_path):
    folder = make_tiny_model(arch, tmp_path / arch)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    reader = CheckpointReader(folder)
    for layer_idx in sorted({0, model.config.num_hidden_layers - 1}):
        assert_rows(compare_layer(model, reader, layer_idx), f"{arch} layer {layer_idx}")


def test_pytorch_bin_and_sharded_checkpoints_import_identically(tmp_path):
    from transformers import AutoModelForCausalLM

    for fmt in ("bin", "sharded-safetensors"):
        folder = make_tiny_model("qwen2", tmp_path / fmt, fmt=fmt)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        assert_rows(compare_layer(model, CheckpointReader(folder), 1), f"qwen2 {fmt}")


@pytest.mark.real_model
@pytest.mark.parametrize("name", ["qwen2.5-coder-0.5b-instruct", "gemma-3-270m"])
def test_real_model_first_and_last_layer_match_transformers(name: str):
    folder = cached_model_dir(name)
    if folder is None:
        pytest.skip(f"{name} is not pulled (axc models pull {name})")
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    reader = CheckpointReader(folder)
    last = model.config.num_hidden_layers - 1
    for layer_idx in (0, last):
        rows = compare_layer(model, reader, layer_idx)
        for row in rows:
            print(f"{name} layer {layer_idx} {row[0]}: cosine {row[1]:.8f} rel {row[2]:.2e}")
        assert_rows(rows, f"{name} layer {layer_idx}")
