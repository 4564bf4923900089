"""The axh dialect from Python: builders infer result types, verifiers reject bad ops with
messages that carry numbers, every op has a round-trip test, and canonicalize folds."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    Builtin,
    DenseIntOrFPElementsAttr,
    ModuleOp,
    TensorType,
    bf16,
    f32,
    i1,
    i32,
    i64,
)
from xdsl.dialects.func import Func, FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.transforms.canonicalize import CanonicalizePass
from xdsl.utils.exceptions import VerifyException

from axc.dialects import axh

ROUNDTRIP = Path(__file__).resolve().parent.parent / "lit_tests" / "dialects" / "axh_roundtrip.mlir"


def val(*shape: int, elem: Attribute = f32) -> SSAValue:
    """A fresh SSA value of type tensor<shape x elem> (a block argument)."""
    return Block(arg_types=[TensorType(elem, shape)]).args[0]


def shape_of(op: Operation, index: int = 0) -> tuple[int, ...]:
    return op.results[index].type.get_shape()


def context() -> Context:
    ctx = Context()
    for dialect in (Builtin, Func, axh.AXH):
        ctx.load_dialect(dialect)
    return ctx


def print_text(op: Operation) -> str:
    out = io.StringIO()
    Printer(stream=out).print_op(op)
    return out.getvalue()


# -- builders infer the result type -------------------------------------------------------------


def test_linear_infers_out_features():
    op = axh.LinearOp(val(1, 5, 64), val(32, 64), val(32))
    op.verify()
    assert shape_of(op) == (1, 5, 32)
    assert axh.LinearOp(val(7, 64), val(128, 64)).result.type == TensorType(f32, [7, 128])


def test_matmul_broadcasts_batch_and_transposes_b():
    op = axh.MatmulOp(val(1, 4, 5, 16), val(4, 7, 16), transpose_b=True)
    op.verify()
    assert shape_of(op) == (1, 4, 5, 7)
    assert op.transpose_b is not None
    assert axh.MatmulOp(val(5, 16), val(16, 3)).transpose_b is None


def test_layer_builders():
    ids, table = val(1, 5, elem=i32), val(128, 64, elem=bf16)
    emb = axh.EmbeddingOp(ids, table)
    assert emb.result.type == TensorType(bf16, [1, 5, 64])
    norm = axh.RMSNormOp(emb, val(64, elem=bf16), 1e-6, weight_offset=1.0)
    ln = axh.LayerNormOp(emb, val(64, elem=bf16), val(64, elem=bf16), 1e-5)
    rope = axh.RopeOp(val(1, 4, 5, 16), val(1, 5, 8), val(1, 5, 8), interleaved=True)
    attn = axh.AttentionOp(val(1, 4, 5, 16), val(1, 2, 7, 16), val(1, 2, 7, 8), val(1, 5, 7))
    for op in (emb, norm, ln, rope, attn):
        op.verify()
    assert norm.weight_offset.value.data == 1.0
    assert rope.rotary_dim.value.data == 8 and rope.interleaved is not None
    assert shape_of(attn) == (1, 4, 5, 8)
    assert attn.scale.value.data == pytest.approx(1 / math.sqrt(16))
    assert attn.softcap is None and attn.sliding_window is None


def test_elementwise_builders_broadcast():
    x, row = val(1, 5, 64), val(64)
    for cls in (axh.AddOp, axh.SubOp, axh.MulOp, axh.DivOp):
        op = cls(x, row)
        op.verify()
        assert shape_of(op) == (1, 5, 64)
    cmp = axh.CompareOp(x, row, "lt")
    assert cmp.result.type == TensorType(i1, [1, 5, 64])
    assert cmp.predicate.data == axh.ComparePredicate.LT
    sel = axh.SelectOp(cmp, row, val(1, 1, 1))
    assert shape_of(sel) == (1, 5, 64)
    ops = [
        cmp,
        sel,
        axh.BinaryOp(x, row, "pow"),
        axh.UnaryOp(x, "rsqrt"),
        axh.CastOp(x, bf16),
        axh.SiluOp(x),
        axh.GeluOp(x, approximate="tanh"),
        axh.SwiGLUOp(x, x),
        axh.GeGLUOp(x, x),
    ]
    for op in ops:
        op.verify()
    assert axh.GeGLUOp(x, x).approximate.data == axh.GeluApproximation.NONE
    with pytest.raises(ValueError):
        axh.UnaryOp(x, "cube")


def test_reduction_builders_normalise_negative_axes():
    x = val(2, 3, 4)
    red = axh.ReduceOp(x, "mean", [-1, 0], keepdim=True)
    red.verify()
    assert red.axes.get_values() == (0, 2)
    assert shape_of(red) == (1, 3, 1)
    assert shape_of(axh.ReduceOp(x, "sum", [1])) == (2, 4)
    soft = axh.SoftmaxOp(x)
    assert soft.axis.value.data == 2
    top = axh.TopKOp(x, 2)
    top.verify()
    assert shape_of(top, 0) == (2, 3, 2)
    assert top.indices.type == TensorType(i32, [2, 3, 2])


def test_layout_builders():
    x = val(1, 5, 64)
    heads = axh.ReshapeOp(x, [1, 5, 4, 16])
    perm = axh.TransposeOp(heads, [0, 2, 1, -1])
    cat = axh.ConcatOp([x, val(1, 3, 64)], axis=-2)
    bcast = axh.BroadcastOp(val(1, 64), [3, 5, 64])
    for op in (heads, perm, cat, bcast):
        op.verify()
    assert perm.get_permutation() == (0, 2, 1, 3)
    assert shape_of(perm) == (1, 4, 5, 16)
    assert shape_of(cat) == (1, 8, 64)


@pytest.mark.parametrize(
    ("start", "end", "step", "expected"),
    [
        (0, 64, 1, (0, 64, 64)),
        (-16, 2**63 - 1, 1, (48, 64, 16)),  # PyTorch's x[..., -16:]
        (1, 10, 4, (1, 10, 3)),
        (40, 10, 1, (40, 40, 0)),  # empty slice
    ],
)
def test_slice_builder_follows_python_slicing(start, end, step, expected):
    op = axh.SliceOp(val(1, 5, 64), -1, start, end, step)
    op.verify()
    assert (op.start.value.data, op.end.value.data, shape_of(op)[2]) == expected
    assert op.axis.value.data == 2


def test_sources():
    weight = axh.WeightOp("model.norm.weight", TensorType(f32, [64]))
    dense = DenseIntOrFPElementsAttr.from_list(TensorType(i64, [2]), [1, 2])
    const = axh.ConstantOp(dense)
    for op in (weight, const):
        op.verify()
    assert weight.weight_name.data == "model.norm.weight"
    assert const.result.type == TensorType(i64, [2])


# -- verifiers ----------------------------------------------------------------------------------

BAD: list[tuple[str, Callable[[], Operation], str]] = [
    ("weight-name", lambda: axh.WeightOp("", TensorType(f32, [4])), "weight name is empty"),
    (
        "constant-size",
        lambda: axh.ConstantOp(
            DenseIntOrFPElementsAttr.from_list(TensorType(f32, [2048]), [0.0] * 2048)
        ),
        "constant has 2048 elements, more than 1024: use axh.weight for tensors",
    ),
    (
        "linear-features",
        lambda: axh.LinearOp(val(1, 5, 16), val(64, 32)),
        "weight has 32 input features but the input has 16",
    ),
    (
        "linear-bias",
        lambda: axh.LinearOp(val(1, 5, 16), val(64, 16), val(10)),
        "bias has 10 elements but the weight has 64 output features",
    ),
    (
        "matmul-k",
        lambda: axh.MatmulOp(val(5, 16), val(8, 7)),
        "lhs has 16 columns but rhs has 8 rows",
    ),
    (
        "rms-norm-epsilon",
        lambda: axh.RMSNormOp(val(1, 5, 64), val(64), 0.0),
        "epsilon must be > 0, got 0.0",
    ),
    (
        "rms-norm-weight",
        lambda: axh.RMSNormOp(val(1, 5, 64), val(32), 1e-6),
        "weight has 32 elements but the input's last dimension is 64",
    ),
    (
        "rope-odd",
        lambda: axh.RopeOp(val(1, 4, 5, 16), val(1, 5, 7), val(1, 5, 7)),
        "rotary_dim must be even and > 0, got 7",
    ),
    (
        "attention-gqa",
        lambda: axh.AttentionOp(val(1, 4, 5, 16), val(1, 3, 7, 16), val(1, 3, 7, 16), val(1, 5, 7)),
        "4 query heads are not a multiple of 3 key/value heads",
    ),
    (
        "attention-mask",
        lambda: axh.AttentionOp(val(1, 4, 5, 16), val(1, 2, 7, 16), val(1, 2, 7, 16), val(1, 5, 6)),
        "mask shape [1, 5, 6] should be [B, 1 or Hq, T, S] = [1, 1 or 4, 5, 7]",
    ),
    (
        "attention-softcap",
        lambda: axh.AttentionOp(
            val(1, 4, 5, 16), val(1, 2, 7, 16), val(1, 2, 7, 16), val(1, 5, 7), softcap=0.0
        ),
        "softcap must be > 0, got 0.0",
    ),
    (
        "reduce-axis",
        lambda: axh.ReduceOp(val(2, 3), "sum", [5]),
        "axis 5 is out of range [0, 2) for rank 2",
    ),
    (
        "reduce-mean-int",
        lambda: axh.ReduceOp(val(2, 3, elem=i32), "mean", [1]),
        "mean needs float elements, got i32",
    ),
    (
        "softmax-axis",
        lambda: axh.SoftmaxOp(val(2, 3), axis=3),
        "axis 3 is out of range [0, 2) for rank 2",
    ),
    ("topk-k", lambda: axh.TopKOp(val(2, 3), 4), "k must be in [1, 3] (the last dimension), got 4"),
    (
        "reshape-count",
        lambda: axh.ReshapeOp(val(2, 3), [4, 2]),
        "reshape from [2, 3] (6 elements) to [4, 2] (8 elements) changes the element count",
    ),
    (
        "transpose-perm",
        lambda: axh.TransposeOp(val(2, 3), [0, 0]),
        "permutation [0, 0] is not a permutation of 0..1 (input rank 2)",
    ),
    (
        "slice-step",
        lambda: axh.SliceOp(val(2, 3), 1, 0, 3, step=0),
        "step must be >= 1, got 0",
    ),
    (
        "concat-dims",
        lambda: axh.ConcatOp([val(2, 3), val(2, 4)], axis=0),
        "input 1 has shape [2, 4] but input 0 has [2, 3]: all dimensions but 0 must match",
    ),
    (
        "broadcast",
        lambda: axh.BroadcastOp(val(2, 3), [2, 4]),
        "input shape [2, 3] does not broadcast to [2, 4]",
    ),
    (
        "cast-shape",
        lambda: axh.CastOp.create(operands=[val(2, 3)], result_types=[TensorType(bf16, [6])]),
        "result shape [6] should be [2, 3] (cast keeps the shape)",
    ),
    (
        "add-types",
        lambda: axh.AddOp(val(3), val(3, elem=bf16)),
        "rhs element type bf16 differs from lhs element type f32",
    ),
    (
        "static-shape",
        lambda: axh.SiluOp(val(DYNAMIC_INDEX, 4)),
        "expected a static-shape tensor of f32, bf16 or f16, got tensor<?x4xf32>",
    ),
]


@pytest.mark.parametrize(("build", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_verifier_rejects(build: Callable[[], Operation], message: str):
    op = build()
    with pytest.raises(VerifyException, match=re.escape(message)):
        op.verify()


def test_builder_rejects_shapes_that_do_not_broadcast():
    with pytest.raises(VerifyException, match=re.escape("shapes [2, 3], [4, 3] do not")):
        axh.AddOp(val(2, 3), val(4, 3))


def test_broadcast_shapes_and_axes():
    assert axh.broadcast_shapes((1, 5, 1), (4, 1, 1, 64)) == (4, 1, 5, 64)
    assert axh.broadcast_shapes() == ()
    assert axh.normalize_axis(-1, 3) == 2
    assert axh.normalize_axis(-4, 3) == -4  # left for the verifier to report


# -- text -------------------------------------------------------------------------------------


def test_every_op_is_in_the_round_trip_test():
    module = Parser(context(), ROUNDTRIP.read_text(), str(ROUNDTRIP)).parse_module()
    seen = {op.name for op in module.walk()}
    missing = sorted({op.name for op in axh.AXH.operations} - seen)
    assert not missing, f"ops without a round-trip test in {ROUNDTRIP.name}: {missing}"


def _function(*ops: Operation) -> ModuleOp:
    """A module with one function computing `ops` (all operands are block arguments)."""
    args = [v for op in ops for v in op.operands if isinstance(v.owner, Block)]
    body = Block(arg_types=[a.type for a in args])
    for old, new in zip(args, body.args, strict=True):
        old.replace_all_uses_with(new)
    body.add_ops([*ops, ReturnOp(ops[-1].results[0])])
    func = FuncOp("f", ([a.type for a in args], [ops[-1].results[0].type]), Region(body))
    return ModuleOp([func])


def test_python_built_ir_prints_and_parses_back():
    x = val(1, 5, 64)
    gelu = axh.GeluOp(x, "tanh")
    red = axh.ReduceOp(gelu, "max", [2], keepdim=True)
    module = _function(gelu, red, axh.SliceOp(red, 1, 1, 5, 2))
    module.verify()
    text = print_text(module)
    assert "axh.gelu %0 approximate = tanh : tensor<1x5x64xf32>" in text
    assert "axh.reduce max %1 {axes = array<i64: 2>, keepdim}" in text
    assert print_text(Parser(context(), text).parse_module()) == text


def test_canonicalize_folds_reshape_and_transpose_chains():
    x = val(2, 3, 4)
    r1 = axh.ReshapeOp(x, [6, 4])
    r2 = axh.ReshapeOp(r1, [2, 3, 4])
    t1 = axh.TransposeOp(r2, [1, 2, 0])
    t2 = axh.TransposeOp(t1, [2, 0, 1])
    module = _function(r1, r2, t1, t2, axh.SiluOp(t2))
    CanonicalizePass().apply(context(), module)
    module.verify()
    names = [op.name for op in module.walk() if op.name.startswith("axh.")]
    assert names == ["axh.silu"]
