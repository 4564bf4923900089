"""fuse-rope and fuse-attention on real traces of every tiny architecture.

Each decoder layer kind is imported literally for three shapes (decode against 8 cache rows,
prefill of an empty cache, prefill after 8 rows), raised, and checked structurally (one
axh.rope per q and k, no rotate_half left, attention on the un-repeated KV heads, gemma2's
soft-capped eager attention fused, sliding windows stated) and numerically: the raised
function must compute what the literal import computes, in the reference interpreter, on
random inputs and the tiny model's own weights.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from tiny_models import tiny_model
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from axc.dialects import axh
from axc.frontend.pipeline import ShapeGroup, import_layer, run_pipeline
from axc.frontend.trace import layer_example_inputs, layer_sliding_window
from axc.interp import run_function

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")

OWN_PIPELINE = "canonicalize,cse,fuse-rope,fuse-attention,canonicalize,cse,dce"
PIPELINES = (OWN_PIPELINE, "axh-raise")
GROUPS = [ShapeGroup("decode", 1, 8), ShapeGroup("prefill", 5, 0), ShapeGroup("prefill_kv8", 5, 8)]
REL_TOL = 1e-5

# (arch, layer): every layer kind of the tiny models (gemma2/gemma3 sliding and full).
LAYERS = [
    ("qwen2", 0),
    ("llama", 0),
    ("gemma2", 0),
    ("gemma2", 1),
    ("gemma3_text", 0),
    ("gemma3_text", 2),
    ("phi", 0),
    ("phi3", 0),
]


@functools.cache
def _model(arch: str) -> torch.nn.Module:
    return tiny_model(arch)


@functools.cache
def _weights(arch: str) -> dict[str, np.ndarray]:
    """The state dict plus the non-persistent buffers (rotary frequencies): what
    TracedLayer.buffers holds, for every layer type at once."""
    model = _model(arch)
    named = {**model.state_dict(), **dict(model.named_buffers())}
    return {name: t.detach().numpy() for name, t in named.items()}


@functools.cache
def _literal(arch: str, layer: int) -> ModuleOp:
    return import_layer(_model(arch), layer, GROUPS, raise_ops=False)


@functools.cache
def _raised(arch: str, layer: int, pipeline: str) -> ModuleOp:
    module = run_pipeline(_literal(arch, layer).clone(), pipeline)
    module.verify()
    return module


def _functions(module: ModuleOp) -> dict[str, FuncOp]:
    return {op.sym_name.data: op for op in module.ops if isinstance(op, FuncOp)}


def _ops(func: FuncOp, op_type: type) -> list:
    return [op for op in func.walk() if isinstance(op, op_type)]


def _shape(value) -> tuple[int, ...]:
    return tuple(value.type.get_shape())


def _reads_broadcast(value) -> bool:
    """value is a broadcast, or a reshape chain of one (a repeat_kv left in place)."""
    op = value.owner
    while isinstance(op, axh.ReshapeOp):
        op = op.input.owner
    return isinstance(op, axh.BroadcastOp)


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize(("arch", "layer"), LAYERS)
def test_rope_raised(arch: str, layer: int, pipeline: str):
    config = _model(arch).config
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    rotary_dim = head_dim // 2 if arch == "phi" else head_dim  # tiny phi: partial factor 0.5
    for name, func in _functions(_raised(arch, layer, pipeline)).items():
        ropes = _ops(func, axh.RopeOp)
        assert sorted(_shape(r.input)[1] for r in ropes) == [kv_heads, heads], name
        for rope in ropes:
            assert rope.rotary_dim.value.data == rotary_dim, name
            assert _shape(rope.input)[-1] == head_dim
        # rotate_half is gone: no neg, no concat along the head dimension of a 4-D tensor.
        assert not [u for u in _ops(func, axh.UnaryOp) if u.kind.data == axh.UnaryKind.NEG]
        last_axis = [c for c in _ops(func, axh.ConcatOp) if c.axis.value.data == 3]
        assert not last_axis, name


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize(("arch", "layer"), LAYERS)
def test_attention_raised(arch: str, layer: int, pipeline: str):
    config = _model(arch).config
    window = layer_sliding_window(config, layer)
    for name, func in _functions(_raised(arch, layer, pipeline)).items():
        (attention,) = _ops(func, axh.AttentionOp)
        for kv in (attention.key, attention.value):
            assert _shape(kv)[1] == config.num_key_value_heads, name
            assert not _reads_broadcast(kv), name
        assert not _ops(func, axh.SoftmaxOp), name
        # The eager attention's bmm over [heads, T, .] is gone (projections are rank 2).
        assert not [m for m in _ops(func, axh.MatmulOp) if len(_shape(m.result)) > 2], name
        got_window = attention.sliding_window
        assert (None if got_window is None else got_window.value.data) == window, name
        if arch == "gemma2":
            assert attention.softcap is not None
            assert attention.softcap.value.data == config.attn_logit_softcapping
            expected_scale = config.query_pre_attn_scalar**-0.5
            assert attention.scale.value.data == pytest.approx(expected_scale)
            assert not [u for u in _ops(func, axh.UnaryOp) if u.kind.data == axh.UnaryKind.TANH]
        else:
            assert attention.softcap is None


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize(("arch", "layer"), LAYERS)
def test_raised_matches_literal(arch: str, layer: int, pipeline: str):
    """Raising changes no result beyond float rounding (relative to each output's scale)."""
    config, weights = _model(arch).config, _weights(arch)
    literal = _functions(_literal(arch, layer))
    raised = _functions(_raised(arch, layer, pipeline))
    generator = torch.Generator().manual_seed(layer)
    for group in GROUPS:
        example = layer_example_inputs(config, group.seq_len, group.kv_len, generator=generator)
        inputs = {name: t.numpy() for name, t in example.items()}
        want = run_function(literal[group.name], inputs, weights)
        got = run_function(raised[group.name], inputs, weights)
        for index, (w, g) in enumerate(zip(want, got, strict=True)):
            scale = max(float(np.abs(w).max()), 1e-30)
            error = float(np.abs(g - w).max()) / scale
            assert error <= REL_TOL, f"{group.name} output {index}: relative error {error:.2e}"
