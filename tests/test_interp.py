"""The axh reference interpreter against numpy/torch formulas, op by op, then whole decoder
layers against Hugging Face: a hand-built Qwen2 layer (also timed at Qwen2.5-0.5B size) and,
when the ATen importer is present, imported tiny models."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from xdsl.builder import ImplicitBuilder
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FileLineColLoc,
    IntAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    bf16,
    f16,
    f32,
    i1,
    i32,
    i64,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.dialects.test import TestOp as ForeignOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from axc.dialects import axh
from axc.interp import _EVALUATORS, InterpreterError, run_function
from axc.numerics import round_bf16, round_fp16

ui32 = IntegerType(32, Signedness.UNSIGNED)
_ELEMENTS = {
    np.dtype(np.float32): f32,
    np.dtype(np.int32): i32,
    np.dtype(np.int64): i64,
    np.dtype(np.uint32): ui32,
    np.dtype(np.bool_): i1,
}
RNG = np.random.default_rng(0)


def T(*shape: int, elem: Attribute = f32) -> TensorType:
    return TensorType(elem, shape)


def randn(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def make_func(
    arg_types: Sequence[TensorType],
    body: Callable[..., SSAValue | Operation | Sequence[SSAValue | Operation]],
    names: Sequence[str] = (),
) -> FuncOp:
    """`func.func @f` whose body is what `body` builds from the arguments."""
    block = Block(arg_types=arg_types)
    for arg, name in zip(block.args, names, strict=False):
        arg.name_hint = name
    with ImplicitBuilder(block):
        built = body(*block.args)
        results = [SSAValue.get(r) for r in (built if isinstance(built, Sequence) else [built])]
        ReturnOp(*results)
    return FuncOp("f", (arg_types, [r.type for r in results]), Region(block))


def run(body, *arrays: np.ndarray, weights=None, hidden_type="fp32", types=None):
    """Build a function of `body` over arguments typed like `arrays` and run it; one result
    is returned bare."""
    types = types or [T(*a.shape, elem=_ELEMENTS[a.dtype]) for a in arrays]
    outs = run_function(make_func(types, body), arrays, weights or {}, hidden_type)
    return outs[0] if len(outs) == 1 else outs


def close(actual, expected, rtol=1e-5, atol=1e-6):
    if isinstance(expected, torch.Tensor):
        expected = expected.numpy()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x)


def test_every_axh_op_has_an_evaluator():
    assert set(axh.AXH.operations) == set(_EVALUATORS)


# -- layers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_bias", [False, True])
def test_linear(with_bias):
    x, w, b = randn(2, 3, 16), randn(8, 16), randn(8)
    weights = {"w": w, "b": b}

    def body(x):
        bias = axh.WeightOp("b", T(8)) if with_bias else None
        return axh.LinearOp(x, axh.WeightOp("w", T(8, 16)), bias)

    close(run(body, x, weights=weights), F.linear(t(x), t(w), t(b) if with_bias else None))


def test_matmul_broadcasts_batch_and_transposes_b():
    a, b = randn(2, 3, 5, 8), randn(3, 7, 8)
    close(run(lambda a, b: axh.MatmulOp(a, b, transpose_b=True), a, b), t(a) @ t(b).mT)
    c = randn(8, 4)
    close(run(lambda a, c: axh.MatmulOp(a, c), a, c), t(a) @ t(c))


def test_embedding_gathers_rows():
    ids, table = np.array([[3, 0, 3]], np.int32), randn(5, 4)
    out = run(
        lambda ids: axh.EmbeddingOp(ids, axh.WeightOp("e", T(5, 4))), ids, weights={"e": table}
    )
    close(out, table[[[3, 0, 3]]], rtol=0, atol=0)


@pytest.mark.parametrize("offset", [0.0, 1.0])
def test_rms_norm(offset):
    x, w = randn(2, 3, 16), randn(16)
    out = run(
        lambda x: axh.RMSNormOp(x, axh.WeightOp("w", T(16)), 1e-6, offset), x, weights={"w": w}
    )
    xt = t(x)
    expected = xt * torch.rsqrt(xt.pow(2).mean(-1, keepdim=True) + 1e-6) * (t(w) + offset)
    close(out, expected)


def test_layer_norm():
    x, w, b = randn(2, 3, 16), randn(16), randn(16)
    weights = {"w": w, "b": b}

    def body(x):
        return axh.LayerNormOp(x, axh.WeightOp("w", T(16)), axh.WeightOp("b", T(16)), 1e-5)

    close(run(body, x, weights=weights), F.layer_norm(t(x), (16,), t(w), t(b), 1e-5), atol=1e-5)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _rotate_every_two(x: torch.Tensor) -> torch.Tensor:
    return torch.stack((-x[..., 1::2], x[..., 0::2]), dim=-1).flatten(-2)


@pytest.mark.parametrize("rotary_dim,interleaved", [(16, False), (8, False), (8, True)])
def test_rope_full_partial_and_interleaved(rotary_dim, interleaved):
    """HF's apply_rotary_pos_emb (phi's partial split; GPT-J's rotate_every_two)."""
    x, cos, sin = randn(1, 3, 5, 16), randn(1, 5, rotary_dim), randn(1, 5, rotary_dim)
    out = run(lambda x, c, s: axh.RopeOp(x, c, s, interleaved), x, cos, sin)
    xt, ct, st = t(x), t(cos).unsqueeze(1), t(sin).unsqueeze(1)
    rot, rest = xt[..., :rotary_dim], xt[..., rotary_dim:]
    rotate = _rotate_every_two if interleaved else _rotate_half
    close(out, torch.cat([rot * ct + rotate(rot) * st, rest], dim=-1))


def _causal_mask(b: int, t_: int, s: int) -> np.ndarray:
    """Additive runtime-style mask [b, t, s]: the last t keys are new and causal."""
    visible = np.arange(s)[None, :] <= np.arange(t_)[:, None] + (s - t_)
    return np.broadcast_to(np.where(visible, 0.0, -65536.0), (b, t_, s)).astype(np.float32)


@pytest.mark.parametrize("mask_shape", ["bts", "b1ts", "bhts"])
def test_gqa_attention_with_mask_matches_sdpa(mask_shape):
    b, hq, hkv, t_, s, d = 2, 6, 2, 4, 9, 8
    q, k, v = randn(b, hq, t_, d), randn(b, hkv, s, d), randn(b, hkv, s, 5)
    mask = _causal_mask(b, t_, s)
    mask4 = mask[:, None]
    if mask_shape == "b1ts":
        mask = mask4
    elif mask_shape == "bhts":
        mask = mask4 = np.ascontiguousarray(
            np.broadcast_to(mask4, (b, hq, t_, s)) + randn(b, hq, t_, s)
        )
    out = run(lambda q, k, v, m: axh.AttentionOp(q, k, v, m, scale=0.3), q, k, v, mask)
    expected = F.scaled_dot_product_attention(
        t(q), t(k), t(v), attn_mask=t(mask4), scale=0.3, enable_gqa=True
    )
    close(out, expected, atol=1e-5)


def test_attention_softcap_matches_gemma2_eager():
    """SDPA has no soft-capping: compare with gemma2's eager attention."""
    b, hq, hkv, t_, s, d, cap = 1, 4, 2, 3, 7, 8, 2.0
    q, k, v = randn(b, hq, t_, d, scale=3.0), randn(b, hkv, s, d), randn(b, hkv, s, d)
    mask = _causal_mask(b, t_, s)

    def body(q, k, v, m):
        return axh.AttentionOp(q, k, v, m, scale=0.25, softcap=cap, sliding_window=4)

    out = run(body, q, k, v, mask)
    kt, vt = (x.repeat_interleave(hq // hkv, dim=1) for x in (t(k), t(v)))
    scores = t(q) @ kt.mT * 0.25
    scores = torch.tanh(scores / cap) * cap + t(mask).unsqueeze(1)
    close(out, torch.softmax(scores, -1) @ vt, atol=1e-5)


# -- activations -------------------------------------------------------------------------------


def test_silu_swiglu():
    g, u = randn(3, 32, scale=4), randn(3, 32)
    close(run(lambda x: axh.SiluOp(x), g), F.silu(t(g)))
    close(run(lambda g, u: axh.SwiGLUOp(g, u), g, u), F.silu(t(g)) * t(u))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_geglu(approximate):
    g, u = randn(3, 32, scale=4), randn(3, 32)
    expected = F.gelu(t(g), approximate=approximate)
    close(run(lambda x: axh.GeluOp(x, approximate), g), expected)
    close(run(lambda g, u: axh.GeGLUOp(g, u, approximate), g, u), expected * t(u))


# -- element-wise ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,fn",
    [
        (axh.AddOp, np.add),
        (axh.SubOp, np.subtract),
        (axh.MulOp, np.multiply),
        (axh.DivOp, np.divide),
    ],
)
def test_arithmetic_broadcasts(op, fn):
    a, b = randn(2, 1, 3), randn(4, 1) + 3
    out = run(lambda a, b: op(a, b), a, b)
    assert out.shape == (2, 4, 3)
    close(out, fn(a, b), rtol=0, atol=0)


def test_integer_division_truncates_toward_zero():
    a, b = np.array([-7, 7, -7, 6], np.int64), np.array([2, -2, -2, 3], np.int64)
    out = run(lambda a, b: axh.DivOp(a, b), a, b)
    assert out.dtype == np.int64 and out.tolist() == [-3, -3, 3, 2]


_TORCH_UNARY = {
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "reciprocal": torch.reciprocal,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "cos": torch.cos,
    "sin": torch.sin,
    "abs": torch.abs,
    "relu": torch.relu,
    "erf": torch.erf,
    "square": torch.square,
}


@pytest.mark.parametrize("kind", list(axh.UnaryKind))
def test_unary(kind):
    x = randn(4, 8, scale=2)
    if kind in ("log", "sqrt", "rsqrt", "reciprocal"):
        x = np.abs(x) + 0.1
    close(run(lambda x: axh.UnaryOp(x, kind), x), _TORCH_UNARY[kind.value](t(x)))


def test_binary_kinds_propagate_nan():
    a, b = np.array([2.0, np.nan, 3.0], np.float32), np.array([3.0, 1.0, 0.5], np.float32)
    for kind, fn in (("pow", torch.pow), ("maximum", torch.maximum), ("minimum", torch.minimum)):
        close(run(lambda a, b, k=kind: axh.BinaryOp(a, b, k), a, b), fn(t(a), t(b)))


def test_compare_is_ordered_and_select_broadcasts():
    a = np.array([np.nan, 1.0, 2.0, 3.0], np.float32)
    b = np.array([1.0, 1.0, np.nan, 2.0], np.float32)
    expected = {
        "eq": [0, 1, 0, 0],
        "ne": [1, 0, 1, 1],
        "lt": [0, 0, 0, 0],
        "le": [0, 1, 0, 0],
        "gt": [0, 0, 0, 1],
        "ge": [0, 1, 0, 1],
    }
    for predicate, want in expected.items():
        out = run(lambda a, b, p=predicate: axh.CompareOp(a, b, p), a, b)
        assert out.dtype == np.bool_ and out.tolist() == [bool(w) for w in want], predicate
    cond, x, y = np.array([[True], [False]]), randn(2, 3), randn(3)
    close(run(lambda c, x, y: axh.SelectOp(c, x, y), cond, x, y), np.where(cond, x, y))


def test_cast_follows_pytorch_rules():
    x = np.array([-2.7, 2.7, -0.5, 0.0, 1.0 / 3.0], np.float32)
    close(run(lambda x: axh.CastOp(x, bf16), x), round_bf16(x), rtol=0, atol=0)
    close(run(lambda x: axh.CastOp(x, f16), x), round_fp16(x), rtol=0, atol=0)
    assert run(lambda x: axh.CastOp(x, i32), x).tolist() == [-2, 2, 0, 0, 0]
    assert run(lambda x: axh.CastOp(x, i1), x).tolist() == [True, True, True, False, True]
    flags = np.array([True, False])
    assert run(lambda x: axh.CastOp(x, f32), flags).tolist() == [1.0, 0.0]
    big = np.array([2**24 + 1, -3], np.int64)
    assert run(lambda x: axh.CastOp(x, f32), big).tolist() == [2.0**24, -3.0]
    indices = np.array([0, 4_000_000_000], np.uint32)
    assert run(lambda x: axh.CastOp(x, i64), indices).tolist() == [0, 4_000_000_000]


# -- reductions --------------------------------------------------------------------------------


def test_reduce_kinds_and_keepdim():
    x = randn(2, 3, 4)
    for kind, fn in (("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min)):
        out = run(lambda x, k=kind: axh.ReduceOp(x, k, [0, 2], keepdim=True), x)
        close(out, fn(x, axis=(0, 2), keepdims=True))
    ints = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    out = run(lambda x: axh.ReduceOp(x, "sum", [-1]), ints)
    assert out.dtype == np.int32 and out.tolist() == ints.sum(-1).tolist()


def test_softmax_along_an_axis():
    x = randn(2, 5, 3, scale=10)
    close(run(lambda x: axh.SoftmaxOp(x, axis=1), x), torch.softmax(t(x), dim=1))


def test_topk_sorts_descending_with_lower_index_first_on_ties():
    x = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, -1.0, 5.0, 5.0, 4.0]], np.float32)
    values, indices = run(lambda x: (op := axh.TopKOp(x, 3)).results, x)
    assert indices.dtype == np.int32
    assert indices.tolist() == [[1, 2, 4], [2, 3, 4]]
    assert values.tolist() == [[3.0, 3.0, 3.0], [5.0, 5.0, 4.0]]


# -- sources and layout ------------------------------------------------------------------------


def test_constant_and_iota():
    values = DenseIntOrFPElementsAttr.from_list(T(3, elem=bf16), [0.1, 1.0, 300.0])
    close(run(lambda: axh.ConstantOp(values)), round_bf16(np.float32([0.1, 1.0, 300.0])), 0, 0)
    flags = DenseIntOrFPElementsAttr.from_list(T(2, 2, elem=i1), [1, 0, 0, 1])
    assert run(lambda: axh.ConstantOp(flags)).tolist() == [[True, False], [False, True]]
    assert run(lambda: axh.IotaOp(T(5, elem=i64), start=3, step=2)).tolist() == [3, 5, 7, 9, 11]
    positions = run(lambda: axh.IotaOp(T(6, elem=bf16), start=255))
    close(positions, round_bf16(np.arange(255, 261, dtype=np.float32)), 0, 0)


def test_layout_ops():
    x = randn(2, 3, 8)
    close(run(lambda x: axh.ReshapeOp(x, [6, 8]), x), x.reshape(6, 8), 0, 0)
    close(run(lambda x: axh.TransposeOp(x, [2, 0, 1]), x), x.transpose(2, 0, 1), 0, 0)
    close(run(lambda x: axh.SliceOp(x, 2, 1, 8, 3), x), x[:, :, 1:8:3], 0, 0)
    close(run(lambda x: axh.SliceOp(x, 1, -2, 3), x), x[:, -2:], 0, 0)
    y = randn(2, 1, 8)
    close(run(lambda x, y: axh.ConcatOp([y, x, y], 1), x, y), np.concatenate([y, x, y], 1), 0, 0)
    close(
        run(lambda y: axh.BroadcastOp(y, [4, 2, 3, 8]), y), np.broadcast_to(y, (4, 2, 3, 8)), 0, 0
    )


# -- hidden types ------------------------------------------------------------------------------

ROUNDERS = {"bf16": round_bf16, "fp16": round_fp16}


@pytest.mark.parametrize("hidden_type", ["bf16", "fp16"])
def test_an_op_result_is_its_fp32_result_rounded_once(hidden_type):
    """Inputs are rounded on entry, weights are used as given, the op computes in fp32 and
    rounds once at its result (attention: not after the scores or the softmax)."""
    rnd = ROUNDERS[hidden_type]
    x, w = randn(1, 4, 32), randn(16, 32)

    def linear(x):
        return axh.LinearOp(x, axh.WeightOp("w", T(16, 32)))

    got = run(linear, x, weights={"w": w}, hidden_type=hidden_type)
    want = run(linear, rnd(x), weights={"w": w})
    close(got, rnd(want), rtol=0, atol=0)
    assert not np.array_equal(got, rnd(run(linear, rnd(x), weights={"w": rnd(w)})))

    q, k, v, mask = randn(1, 4, 3, 8), randn(1, 2, 6, 8), randn(1, 2, 6, 8), _causal_mask(1, 3, 6)

    def attention(q, k, v, m):
        return axh.AttentionOp(q, k, v, m)

    got = run(attention, q, k, v, mask, hidden_type=hidden_type)
    close(got, rnd(run(attention, rnd(q), rnd(k), rnd(v), mask)), rtol=0, atol=0)


def test_weights_pass_unrounded_through_layout_ops():
    w = randn(4, 6)
    out = run(
        lambda: axh.TransposeOp(axh.WeightOp("w", T(4, 6)), [1, 0]),
        weights={"w": w},
        hidden_type="bf16",
    )
    close(out, w.T, 0, 0)


def test_bf16_typed_results_are_bf16_even_in_fp32_mode():
    a, b = randn(8), randn(8)
    out = run(lambda a, b: axh.AddOp(a, b), a, b, types=[T(8, elem=bf16)] * 2)
    close(out, round_bf16(round_bf16(a) + round_bf16(b)), 0, 0)


# -- inputs and errors -------------------------------------------------------------------------


def test_inputs_by_name_or_position():
    func = make_func([T(2), T(2)], lambda a, b: axh.SubOp(a, b), names=["a", "b"])
    a, b = np.float32([1, 2]), np.float32([5, 7])
    assert run_function(func, {"b": b, "a": a}, {})[0].tolist() == [-4, -5]
    assert run_function(func, [a, b], {})[0].tolist() == [-4, -5]
    with pytest.raises(InterpreterError, match=r"missing \['b'\], unexpected \['c'\]"):
        run_function(func, {"a": a, "c": b}, {})
    with pytest.raises(InterpreterError, match=r"input b has shape \[3\]"):
        run_function(func, [a, np.zeros(3, np.float32)], {})


def test_missing_weight_is_named_at_its_op():
    func = make_func([T(2, 4)], lambda x: axh.LinearOp(x, axh.WeightOp("model.w", T(3, 4))))
    x = randn(2, 4)
    with pytest.raises(InterpreterError, match=r"@f, op #0: .*'axh.weight'.*'model.w' is not in"):
        run_function(func, [x], {})

    def store(name: str) -> np.ndarray:
        raise KeyError(name)

    with pytest.raises(InterpreterError, match="'model.w' is not in the weight store"):
        run_function(func, [x], store)
    with pytest.raises(InterpreterError, match=r"'model.w' has shape \[4, 3\], the IR expects"):
        run_function(func, [x], {"model.w": randn(4, 3)})


def test_unsupported_op_is_named_with_its_location():
    func = make_func([T(2)], lambda x: ForeignOp(operands=[x], result_types=[T(2)]))
    with pytest.raises(InterpreterError, match=r"@f, op #0: error: 'test.op' op is not supported"):
        run_function(func, [np.zeros(2, np.float32)], {})
    op = func.body.block.first_op
    op.location = FileLineColLoc(StringAttr("layer.mlir"), IntAttr(3), IntAttr(5))
    with pytest.raises(InterpreterError, match=r"^layer.mlir:3:5: error: 'test.op' op"):
        run_function(func, [np.zeros(2, np.float32)], {})


# -- a whole Qwen2 decoder layer, built by hand ------------------------------------------------


def qwen2_layer(
    hidden: int, heads: int, kv_heads: int, inter: int, seq: int, kv: int, eps: float = 1e-6
) -> FuncOp:
    """The axh a Qwen2 decoder layer raises to, under the runtime contract (DESIGN.md 5)."""
    d = hidden // heads
    p = "model.layers.0."

    def w(name: str, *shape: int) -> axh.WeightOp:
        return axh.WeightOp(name if name.startswith("model.rotary") else p + name, T(*shape))

    def proj(x, name: str, n: int, bias: bool = True) -> axh.LinearOp:
        return axh.LinearOp(
            x, w(f"{name}.weight", n, hidden), w(f"{name}.bias", n) if bias else None
        )

    def to_heads(rows, n: int, length: int) -> axh.TransposeOp:
        return axh.TransposeOp(axh.ReshapeOp(rows, [1, length, n, d]), [0, 2, 1, 3])

    def to_rows(heads_, n: int) -> axh.ReshapeOp:
        return axh.ReshapeOp(axh.TransposeOp(heads_, [0, 2, 1, 3]), [1, seq, n * d])

    def body(x, indices, mask, k_cache, v_cache):
        h = axh.RMSNormOp(x, w("input_layernorm.weight", hidden), eps)
        q = proj(h, "self_attn.q_proj", heads * d)
        k = proj(h, "self_attn.k_proj", kv_heads * d)
        v = proj(h, "self_attn.v_proj", kv_heads * d)
        positions = axh.ReshapeOp(axh.CastOp(indices, f32), [1, seq, 1])
        freqs = axh.MulOp(positions, w("model.rotary_emb.inv_freq", d // 2))
        angles = axh.ConcatOp([freqs, freqs], -1)
        cos, sin = axh.UnaryOp(angles, "cos"), axh.UnaryOp(angles, "sin")
        qh = axh.RopeOp(to_heads(q, heads, seq), cos, sin)
        kh = axh.RopeOp(to_heads(k, kv_heads, seq), cos, sin)
        keys = axh.ConcatOp([to_heads(k_cache, kv_heads, kv), kh], 2)
        values = axh.ConcatOp([to_heads(v_cache, kv_heads, kv), to_heads(v, kv_heads, seq)], 2)
        att = axh.AttentionOp(qh, keys, values, mask)
        x = axh.AddOp(x, proj(to_rows(att, heads), "self_attn.o_proj", hidden, bias=False))
        h = axh.RMSNormOp(x, w("post_attention_layernorm.weight", hidden), eps)
        gate = proj(h, "mlp.gate_proj", inter, bias=False)
        up = proj(h, "mlp.up_proj", inter, bias=False)
        down = axh.LinearOp(axh.SwiGLUOp(gate, up), w("mlp.down_proj.weight", hidden, inter))
        return axh.AddOp(x, down), to_rows(kh, kv_heads), v

    kv_dim = kv_heads * d
    types = [
        T(1, seq, hidden),
        T(1, seq, elem=ui32),
        T(1, seq, kv + seq),
        T(1, kv, kv_dim),
        T(1, kv, kv_dim),
    ]
    return make_func(types, body, names=["input", "indices", "mask", "K_cache", "V_cache"])


@pytest.mark.parametrize("seq,kv,start", [(1, 8, 5), (5, 6, 6), (4, 0, 0)])
def test_hand_built_qwen2_layer_matches_hugging_face(seq, kv, start):
    from tiny_models import tiny_model

    from axc.frontend.trace import layer_example_inputs, reference_layer_outputs

    model = tiny_model("qwen2")
    cfg = model.config
    func = qwen2_layer(
        cfg.hidden_size,
        cfg.num_attention_heads,
        cfg.num_key_value_heads,
        cfg.intermediate_size,
        seq,
        kv,
        cfg.rms_norm_eps,
    )
    weights = {n: p.detach().numpy() for n, p in model.state_dict().items()}
    weights["model.rotary_emb.inv_freq"] = model.model.rotary_emb.inv_freq.numpy()
    inputs = layer_example_inputs(cfg, seq, kv, start, torch.Generator().manual_seed(1))
    outs = run_function(func, {n: v.numpy() for n, v in inputs.items()}, weights)
    for got, want in zip(outs, reference_layer_outputs(model, 0, inputs), strict=True):
        close(got, want, rtol=1e-4, atol=1e-4)


def _best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_qwen2_0_5b_sized_layer_is_fast():
    """Qwen2.5-0.5B: decode against 1023 cache rows < 0.1 s, a 128-token prefill < 1 s."""
    hidden, heads, kv_heads, inter, d = 896, 14, 2, 4864, 64
    shapes = {
        "input_layernorm.weight": (hidden,),
        "post_attention_layernorm.weight": (hidden,),
        "self_attn.q_proj.weight": (hidden, hidden),
        "self_attn.q_proj.bias": (hidden,),
        "self_attn.k_proj.weight": (kv_heads * d, hidden),
        "self_attn.k_proj.bias": (kv_heads * d,),
        "self_attn.v_proj.weight": (kv_heads * d, hidden),
        "self_attn.v_proj.bias": (kv_heads * d,),
        "self_attn.o_proj.weight": (hidden, hidden),
        "mlp.gate_proj.weight": (inter, hidden),
        "mlp.up_proj.weight": (inter, hidden),
        "mlp.down_proj.weight": (hidden, inter),
    }
    weights = {f"model.layers.0.{n}": randn(*s, scale=0.03) for n, s in shapes.items()}
    weights["model.rotary_emb.inv_freq"] = (1e6 ** -(np.arange(0, d, 2) / d)).astype(np.float32)
    for seq, kv, limit in ((1, 1023, 0.1), (128, 0, 1.0)):
        func = qwen2_layer(hidden, heads, kv_heads, inter, seq, kv)
        inputs = [
            randn(1, seq, hidden),
            np.arange(kv, kv + seq, dtype=np.uint32)[None],
            _causal_mask(1, seq, kv + seq),
            randn(1, kv, kv_heads * d),
            randn(1, kv, kv_heads * d),
        ]
        for hidden_type in ("fp32", "bf16"):
            elapsed = _best_time(lambda: run_function(func, inputs, weights, hidden_type))  # noqa: B023
            assert elapsed < limit, f"seq {seq}, {hidden_type}: {elapsed:.3f} s"


# -- imported tiny models ----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")
@pytest.mark.parametrize("arch", ["qwen2", "gemma2", "phi"])
def test_imported_tiny_layers_match_hugging_face(arch):
    """Trace -> import -> interpret, against HF's own layer (bias/GQA, soft-capped sliding
    attention with gemma norms, partial rotary with LayerNorm and tanh-GELU)."""
    importer = pytest.importorskip("axc.frontend.importer")
    from tiny_models import tiny_model

    from axc.frontend.trace import layer_example_inputs, reference_layer_outputs, trace_layer

    model = tiny_model(arch)
    layer, seq, kv = 0, 3, 5
    traced = trace_layer(model, layer, seq, kv)
    func = importer.import_function(traced, "layer")
    state = model.state_dict()
    weights = {
        name: (traced.buffers.get(name, state.get(name))).numpy()
        for name in traced.weights.values()
    }
    inputs = layer_example_inputs(
        model.config, seq, kv, start=4, generator=torch.Generator().manual_seed(2)
    )
    outs = run_function(func, {n: v.numpy() for n, v in inputs.items()}, weights)
    for got, want in zip(outs, reference_layer_outputs(model, layer, inputs), strict=True):
        close(got, want, rtol=1e-4, atol=1e-4)
