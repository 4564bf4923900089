"""fuse-linear, fuse-rms-norm and fuse-swiglu on real traces of every tiny architecture.

Each decoder layer (decode and prefill) and the post layer are imported literally, raised with
the basic pipeline below, and checked structurally (what is left of the ATen shapes) and
numerically: the raised function must compute what the literal import computes, on random
inputs and the tiny model's own weights, in the reference interpreter.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from tiny_models import ARCHITECTURES, tiny_model
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from axc.dialects import axh
from axc.frontend.pipeline import import_layer, import_post, run_pipeline, shape_groups
from axc.frontend.trace import layer_example_inputs, trace_layer, trace_post

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")

PIPELINE = "canonicalize,cse,fuse-linear,fuse-rms-norm,fuse-swiglu,canonicalize,cse,dce"
PREFILL_LEN, KV_CACHE_LEN = 5, 8
REL_TOL = 1e-5

# Per decoder layer: linears, RMSNorms, and the MLP's activation op.
EXPECTED = {
    "qwen2": (7, 2, axh.SwiGLUOp),
    "llama": (7, 2, axh.SwiGLUOp),
    "gemma2": (7, 4, axh.GeGLUOp),  # input, post-attention, pre- and post-feedforward norms
    "gemma3_text": (7, 6, axh.GeGLUOp),  # gemma2's four + q_norm and k_norm
    "phi": (6, 0, axh.GeluOp),  # LayerNorm; fc1 -> gelu_new (written out) -> fc2
    "phi3": (4, 2, axh.SwiGLUOp),  # fused qkv_proj and gate_up_proj
}


@functools.cache
def _model(arch: str) -> torch.nn.Module:
    return tiny_model(arch)


@functools.cache
def _weights(arch: str) -> dict[str, np.ndarray]:
    """The state dict and the non-persistent buffers (rotary frequencies) the traces read."""
    model = _model(arch)
    state = {name: t.detach().numpy() for name, t in model.state_dict().items()}
    buffers = {**trace_layer(model, 0, 1, 0).buffers, **trace_post(model).buffers}
    return {**state, **{name: t.numpy() for name, t in buffers.items()}}


@functools.cache
def _modules(arch: str, which: str) -> tuple[ModuleOp, ModuleOp]:
    """(literal, raised) module of the layer 0 (decode + prefill) or the post layer."""
    model = _model(arch)
    if which == "layer":
        raw = import_layer(model, 0, shape_groups(PREFILL_LEN, KV_CACHE_LEN), raise_ops=False)
    else:
        raw = import_post(model, raise_ops=False)
    raised = run_pipeline(raw.clone(), PIPELINE)
    raised.verify()
    return raw, raised


def _functions(module: ModuleOp) -> list[FuncOp]:
    return [op for op in module.ops if isinstance(op, FuncOp)]


def _count(func: FuncOp, op_type: type) -> int:
    return sum(isinstance(op, op_type) for op in func.walk())


def _is_weight_matmul(op: axh.MatmulOp) -> bool:
    """A matmul that is a linear layer: its rhs is a (transposed) stored weight."""
    rhs = op.rhs.owner
    if isinstance(rhs, axh.TransposeOp):
        rhs = rhs.input.owner
    return isinstance(rhs, axh.WeightOp)


def _assert_basic_raised(func: FuncOp, linears: int, norms: int) -> None:
    name = func.sym_name.data
    weight_matmuls = [op for op in func.walk() if isinstance(op, axh.MatmulOp)
                      and _is_weight_matmul(op)]
    assert not weight_matmuls, f"@{name}: matmuls of weights left: {weight_matmuls}"
    assert _count(func, axh.LinearOp) == linears, f"@{name}"
    assert _count(func, axh.RMSNormOp) == norms, f"@{name}"
    rsqrts = [op for op in func.walk()
              if isinstance(op, axh.UnaryOp) and op.kind.data == axh.UnaryKind.RSQRT]
    assert not rsqrts, f"@{name}: rsqrt left (an RMSNorm was not raised)"
    for linear in func.walk():
        if isinstance(linear, axh.LinearOp):
            assert isinstance(linear.weight.owner, axh.WeightOp)
            assert len(linear.input.type.get_shape()) == 3, f"@{name}: {linear} is not [B, T, K]"


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_decoder_layer_raised(arch: str):
    linears, norms, activation = EXPECTED[arch]
    _, raised = _modules(arch, "layer")
    funcs = _functions(raised)
    assert [f.sym_name.data for f in funcs] == ["decode", "prefill"]
    for func in funcs:
        _assert_basic_raised(func, linears, norms)
        assert _count(func, activation) == 1, f"@{func.sym_name.data}"
        # what the activation was written with is gone (gemma2's tanh is attention softcap)
        kinds = {op.kind.data for op in func.walk() if isinstance(op, axh.UnaryOp)}
        assert axh.UnaryKind.SIGMOID not in kinds
        assert (axh.UnaryKind.TANH in kinds) == (arch == "gemma2")
        assert _count(func, axh.SiluOp) == 0
        if arch == "phi":
            gelu = next(op for op in func.walk() if isinstance(op, axh.GeluOp))
            assert gelu.approximate.data == axh.GeluApproximation.TANH
        # gemma2's eager attention keeps its two activation x activation products
        assert _count(func, axh.MatmulOp) == (2 if arch == "gemma2" else 0)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_post_layer_raised(arch: str):
    _, raised = _modules(arch, "post")
    (func,) = _functions(raised)
    _assert_basic_raised(func, 1, 0 if arch == "phi" else 1)
    lm_head = next(op for op in func.walk() if isinstance(op, axh.LinearOp))
    tied = _model(arch).config.tie_word_embeddings
    expected = "model.embed_tokens.weight" if tied else "lm_head.weight"
    assert lm_head.weight.owner.weight_name.data == expected


def test_gemma_norms_keep_their_offset():
    _, raised = _modules("gemma3_text", "layer")
    norms = [op for op in _functions(raised)[0].walk() if isinstance(op, axh.RMSNormOp)]
    assert {n.weight_offset.value.data for n in norms} == {1.0}
    per_head = [n for n in norms if len(n.input.type.get_shape()) == 4]
    assert sorted(n.weight.owner.weight_name.data.rsplit(".", 2)[1] for n in per_head) == [
        "k_norm", "q_norm"]


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("which", ["layer", "post"])
def test_raising_is_idempotent(arch: str, which: str):
    _, raised = _modules(arch, which)
    text = str(raised)
    assert str(run_pipeline(raised.clone(), PIPELINE)) == text


def _inputs(arch: str, func: FuncOp, seed: int) -> dict[str, np.ndarray]:
    generator = torch.Generator().manual_seed(seed)
    args = func.body.block.args
    if func.sym_name.data == "post":
        shape = args[0].type.get_shape()
        return {"input": torch.randn(*shape, generator=generator).numpy()}
    seq_len = args[0].type.get_shape()[1]
    kv_len = args[3].type.get_shape()[1]
    config = _model(arch).config
    example = layer_example_inputs(config, seq_len, kv_len, generator=generator)
    return {name: t.numpy() for name, t in example.items()}


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("which", ["layer", "post"])
def test_raised_computes_the_same(arch: str, which: str):
    from axc.interp import run_function

    raw, raised = _modules(arch, which)
    weights = _weights(arch)
    for seed, (before, after) in enumerate(zip(_functions(raw), _functions(raised), strict=True)):
        inputs = _inputs(arch, before, seed)
        expected = run_function(before, inputs, weights)
        actual = run_function(after, inputs, weights)
        for name, e, a in zip(("output", "K_cache_out", "V_cache_out"), expected, actual,
                              strict=False):
            scale = float(np.max(np.abs(e)))
            error = float(np.max(np.abs(a - e)))
            assert error <= REL_TOL * scale, (
                f"{arch} @{before.sym_name.data} {name}: max error {error:.3g} "
                f"for values up to {scale:.3g}"
            )
