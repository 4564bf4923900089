"""Import an exported (core ATen) program into axh, one ATen node to a few axh ops.

The import is deliberately literal: `mm(x, permute(w))` becomes `axh.matmul` of an
`axh.transpose`, RMSNorm arrives as pow/mean/add/rsqrt/mul, and so on. Recognising those
shapes is the raising passes' job (`fuse-linear`, `fuse-rms-norm`, `fuse-rope`,
`fuse-attention`, `fuse-swiglu`), so every architecture imports through the same small
table and an op no pattern raises still has exact semantics.

Every result type the importer builds is checked against the shape and dtype torch.export
recorded for the node, so a wrong translation fails here, naming the node, instead of
producing silently wrong IR.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    Float16Type,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
    f32,
    i1,
    i32,
    i64,
)
from xdsl.ir import Attribute, Block, Region, SSAValue

from axc.dialects import axh
from axc.errors import AxcError
from axc.frontend.trace import TracedLayer
from axc.state import set_state

aten = torch.ops.aten
ui32 = IntegerType(32, Signedness.UNSIGNED)

_DTYPES: dict[torch.dtype, Attribute] = {
    torch.float32: f32,
    torch.bfloat16: BFloat16Type(),
    torch.float16: Float16Type(),
    torch.int64: i64,
    torch.int32: i32,
    torch.uint32: ui32,
    torch.bool: i1,
}


def element_type(dtype: torch.dtype) -> Attribute:
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise AxcError(f"axh has no element type for torch dtype {dtype}") from None


def tensor_type(val: torch.Tensor) -> TensorType:
    return TensorType(element_type(val.dtype), tuple(int(d) for d in val.shape))


def _shape(value: SSAValue) -> tuple[int, ...]:
    return tuple(value.type.get_shape())  # type: ignore[attr-defined]


def _elem(value: SSAValue) -> Attribute:
    return value.type.element_type  # type: ignore[attr-defined]


class _Importer:
    """Walks the graph once; `self.values` maps fx nodes to SSA values (or tuples of them)."""

    def __init__(self, traced: TracedLayer, weight_names: dict[str, str] | None = None):
        self.traced = traced
        self.program = traced.program
        self.weight_names = weight_names or traced.weights
        self.values: dict[torch.fx.Node, Any] = {}
        self.handlers: dict[Any, Callable[[torch.fx.Node], Any]] = _handlers(self)

    # -- helpers -----------------------------------------------------------------------------

    def v(self, arg: Any) -> SSAValue:
        return self.values[arg]

    def const(self, value: float | int | bool, like: Attribute) -> SSAValue:
        """A rank-0 constant of element type `like`."""
        if isinstance(like, IntegerType) and like.width.data == 1:
            attr = DenseIntOrFPElementsAttr.from_list(TensorType(i1, ()), [int(bool(value))])
        elif isinstance(like, IntegerType):
            attr = DenseIntOrFPElementsAttr.from_list(TensorType(like, ()), [int(value)])
        else:
            attr = DenseIntOrFPElementsAttr.from_list(TensorType(like, ()), [float(value)])
        return axh.ConstantOp(attr).result

    def operand(self, arg: Any, like: Attribute) -> SSAValue:
        """A graph value or a Python scalar, as an SSA value of element type `like`."""
        if isinstance(arg, torch.fx.Node):
            value = self.v(arg)
            return value if _elem(value) == like else axh.CastOp(value, like).result
        return self.const(arg, like)

    @staticmethod
    def out_elem(node: torch.fx.Node) -> Attribute:
        return element_type(node.meta["val"].dtype)

    # -- the walk ----------------------------------------------------------------------------

    def run(self, func_name: str) -> func.FuncOp:
        graph = self.program.graph
        signature = self.program.graph_signature
        user_inputs = list(signature.user_inputs)
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        arg_types = [tensor_type(n.meta["val"]) for n in placeholders if n.name in user_inputs]
        block = Block(arg_types=arg_types)
        user_args = iter(block.args)
        names = iter(self.traced.input_names)
        with ImplicitBuilder(block):
            for node in graph.nodes:
                if node.op == "placeholder":
                    if node.name in user_inputs:
                        arg = next(user_args)
                        arg.name_hint = next(names)
                        self.values[node] = arg
                    else:
                        self.values[node] = self.placeholder(node)
                elif node.op == "call_function":
                    self.values[node] = self.call(node)
                elif node.op == "output":
                    outs = [self.v(a) for a in node.args[0]]
                    func.ReturnOp(*outs)
        result_types = [o.type for o in block.last_op.operands]  # type: ignore[union-attr]
        return func.FuncOp(func_name, (arg_types, result_types), Region(block))

    def placeholder(self, node: torch.fx.Node) -> SSAValue:
        name = self.weight_names.get(node.name)
        if name is None:
            raise AxcError(f"{self.traced.kind}: graph input {node.name!r} is neither a user "
                           "input nor a named weight")
        return axh.WeightOp(name, tensor_type(node.meta["val"])).result

    def call(self, node: torch.fx.Node) -> Any:
        handler = self.handlers.get(node.target)
        if handler is None:
            raise AxcError(
                f"{self.traced.kind}: ATen op {node.target} (node {node.name}) has no axh "
                "import rule; add one in axc/frontend/importer.py"
            )
        result = handler(node)
        self.check(node, result)
        return result

    def check(self, node: torch.fx.Node, result: Any) -> None:
        """The built value has exactly the type torch.export recorded for the node."""
        val = node.meta.get("val")
        if isinstance(val, torch.Tensor) and isinstance(result, SSAValue):
            expected = tensor_type(val)
            if result.type != expected:
                raise AxcError(
                    f"{self.traced.kind}: importing {node.target} (node {node.name}) built "
                    f"{result.type}, but torch.export recorded {expected}"
                )


# -- per-op rules ------------------------------------------------------------------------------


def _handlers(im: _Importer) -> dict[Any, Callable[[torch.fx.Node], Any]]:
    def unary(kind: str):
        return lambda n: axh.UnaryOp(im.operand(n.args[0], im.out_elem(n)), kind).result

    def binary(op_cls, *, alpha_index: int | None = None):
        def rule(n: torch.fx.Node):
            elem = im.out_elem(n)
            lhs, rhs = im.operand(n.args[0], elem), im.operand(n.args[1], elem)
            alpha = n.kwargs.get("alpha", 1)
            if alpha != 1:
                rhs = axh.MulOp(rhs, im.const(alpha, elem)).result
            return op_cls(lhs, rhs).result

        return rule

    def compare(predicate: str):
        def rule(n: torch.fx.Node):
            a = n.args[0]
            elem = _elem(im.v(a)) if isinstance(a, torch.fx.Node) else f32
            return axh.CompareOp(im.operand(a, elem), im.operand(n.args[1], elem),
                                 predicate).result

        return rule

    def to_copy(n: torch.fx.Node):
        src, elem = im.v(n.args[0]), im.out_elem(n)
        return src if _elem(src) == elem else axh.CastOp(src, elem).result

    def reshape(n: torch.fx.Node):
        return axh.ReshapeOp(im.v(n.args[0]), tuple(n.meta["val"].shape)).result

    def identity(n: torch.fx.Node):
        return im.v(n.args[0])

    def matmul(n: torch.fx.Node):
        return axh.MatmulOp(im.v(n.args[0]), im.v(n.args[1])).result

    def addmm(n: torch.fx.Node):
        bias, a, b = (im.v(x) for x in n.args[:3])
        if n.kwargs.get("beta", 1) != 1 or n.kwargs.get("alpha", 1) != 1:
            raise AxcError(f"addmm with beta/alpha (node {n.name}) is not supported")
        return axh.AddOp(axh.MatmulOp(a, b).result, bias).result

    def permute(n: torch.fx.Node):
        return axh.TransposeOp(im.v(n.args[0]), list(n.args[1])).result

    def expand(n: torch.fx.Node):
        return axh.BroadcastOp(im.v(n.args[0]), tuple(n.meta["val"].shape)).result

    def slice_(n: torch.fx.Node):
        x = im.v(n.args[0])
        shape = _shape(x)
        dim = n.args[1] if len(n.args) > 1 else 0
        dim = dim + len(shape) if dim < 0 else dim
        start = n.args[2] if len(n.args) > 2 and n.args[2] is not None else 0
        end = n.args[3] if len(n.args) > 3 and n.args[3] is not None else shape[dim]
        step = n.args[4] if len(n.args) > 4 else 1
        start, end, _ = slice(start, end, step).indices(shape[dim])
        end = max(end, start)
        return axh.SliceOp(x, dim, start, end, step).result

    def cat(n: torch.fx.Node):
        dim = n.args[1] if len(n.args) > 1 else 0
        inputs = [im.v(a) for a in n.args[0] if 0 not in n_shape(a)]
        return axh.ConcatOp(inputs, dim).result if len(inputs) > 1 else inputs[0]

    def n_shape(a: torch.fx.Node) -> tuple[int, ...]:
        return tuple(a.meta["val"].shape)

    def mean(n: torch.fx.Node):
        keepdim = n.args[2] if len(n.args) > 2 else n.kwargs.get("keepdim", False)
        return axh.ReduceOp(im.v(n.args[0]), "mean", list(n.args[1]), keepdim).result

    def pow_scalar(n: torch.fx.Node):
        x = im.v(n.args[0])
        exponent = n.args[1]
        if exponent == 2:
            return axh.UnaryOp(x, "square").result
        return axh.BinaryOp(x, im.const(exponent, _elem(x)), "pow").result

    def gelu(n: torch.fx.Node):
        return axh.GeluOp(im.v(n.args[0]), n.kwargs.get("approximate", "none")).result

    def softmax(n: torch.fx.Node):
        return axh.SoftmaxOp(im.v(n.args[0]), n.args[1]).result

    def where(n: torch.fx.Node):
        elem = im.out_elem(n)
        return axh.SelectOp(im.v(n.args[0]), im.operand(n.args[1], elem),
                            im.operand(n.args[2], elem)).result

    def scalar_tensor(n: torch.fx.Node):
        return im.const(n.args[0], im.out_elem(n))

    def arange(n: torch.fx.Node):
        val = n.meta["val"]
        start = n.args[0] if len(n.args) > 1 else 0
        step = n.args[2] if len(n.args) > 2 else 1
        return axh.IotaOp(tensor_type(val), start, step).result

    def sdpa(n: torch.fx.Node):
        q, k, v = (im.v(a) for a in n.args[:3])
        mask = n.args[3] if len(n.args) > 3 else n.kwargs.get("attn_mask")
        dropout = n.args[4] if len(n.args) > 4 else n.kwargs.get("dropout_p", 0.0)
        causal = n.args[5] if len(n.args) > 5 else n.kwargs.get("is_causal", False)
        scale = n.kwargs.get("scale", n.args[6] if len(n.args) > 6 else None)
        if mask is None or causal or dropout:
            raise AxcError(f"scaled_dot_product_attention (node {n.name}) needs an explicit "
                           "additive mask, no is_causal and no dropout")
        m = im.operand(mask, _elem(q))
        return axh.AttentionOp(q, k, v, m, scale=scale).result

    def layer_norm(n: torch.fx.Node):
        x, normalized, w, b, eps = n.args[:5]
        if len(normalized) != 1:
            raise AxcError(f"layer_norm over {len(normalized)} dims (node {n.name}) unsupported")
        return (axh.LayerNormOp(im.v(x), im.v(w), im.v(b), eps).result, None, None)

    def split_with_sizes(n: torch.fx.Node):
        x = im.v(n.args[0])
        dim = n.args[2] if len(n.args) > 2 else 0
        dim = dim + len(_shape(x)) if dim < 0 else dim
        parts, start = [], 0
        for size in n.args[1]:
            parts.append(axh.SliceOp(x, dim, start, start + size).result)
            start += size
        return tuple(parts)

    def getitem(n: torch.fx.Node):
        return im.v(n.args[0])[n.args[1]]

    def embedding(n: torch.fx.Node):
        return axh.EmbeddingOp(im.v(n.args[1]), im.v(n.args[0])).result

    def full(n: torch.fx.Node):
        val = n.meta["val"]
        if math.prod(val.shape) > axh.MAX_CONSTANT_ELEMENTS:
            raise AxcError(f"full() of {tuple(val.shape)} (node {n.name}) is too large")
        attr = DenseIntOrFPElementsAttr.from_list(tensor_type(val),
                                                  [n.args[1]] * math.prod(val.shape))
        return axh.ConstantOp(attr).result

    return {
        aten._to_copy.default: to_copy,
        aten.add.Tensor: binary(axh.AddOp),
        aten.sub.Tensor: binary(axh.SubOp),
        aten.mul.Tensor: binary(axh.MulOp),
        aten.div.Tensor: binary(axh.DivOp),
        aten.maximum.default: lambda n: axh.BinaryOp(
            im.operand(n.args[0], im.out_elem(n)), im.operand(n.args[1], im.out_elem(n)),
            "maximum").result,
        aten.minimum.default: lambda n: axh.BinaryOp(
            im.operand(n.args[0], im.out_elem(n)), im.operand(n.args[1], im.out_elem(n)),
            "minimum").result,
        aten.addmm.default: addmm,
        aten.mm.default: matmul,
        aten.bmm.default: matmul,
        aten.alias.default: identity,
        aten.clone.default: identity,
        aten.view.default: reshape,
        aten._unsafe_view.default: reshape,
        aten.reshape.default: reshape,
        aten.unsqueeze.default: reshape,
        aten.squeeze.dim: reshape,
        aten.squeeze.dims: reshape,
        aten.permute.default: permute,
        aten.expand.default: expand,
        aten.slice.Tensor: slice_,
        aten.cat.default: cat,
        aten.mean.dim: mean,
        aten.pow.Tensor_Scalar: pow_scalar,
        aten.rsqrt.default: unary("rsqrt"),
        aten.sqrt.default: unary("sqrt"),
        aten.neg.default: unary("neg"),
        aten.exp.default: unary("exp"),
        aten.log.default: unary("log"),
        aten.cos.default: unary("cos"),
        aten.sin.default: unary("sin"),
        aten.tanh.default: unary("tanh"),
        aten.sigmoid.default: unary("sigmoid"),
        aten.reciprocal.default: unary("reciprocal"),
        aten.abs.default: unary("abs"),
        aten.relu.default: unary("relu"),
        aten.erf.default: unary("erf"),
        aten.gelu.default: gelu,
        aten._softmax.default: softmax,
        aten.where.self: where,
        aten.ge.Scalar: compare("ge"),
        aten.ge.Tensor: compare("ge"),
        aten.gt.Scalar: compare("gt"),
        aten.gt.Tensor: compare("gt"),
        aten.le.Scalar: compare("le"),
        aten.le.Tensor: compare("le"),
        aten.lt.Scalar: compare("lt"),
        aten.lt.Tensor: compare("lt"),
        aten.eq.Scalar: compare("eq"),
        aten.eq.Tensor: compare("eq"),
        aten.scalar_tensor.default: scalar_tensor,
        aten.arange.start_step: arange,
        aten.full.default: full,
        aten.scaled_dot_product_attention.default: sdpa,
        aten.native_layer_norm.default: layer_norm,
        aten.split_with_sizes.default: split_with_sizes,
        aten.embedding.default: embedding,
        operator.getitem: getitem,
    }


def import_function(
    traced: TracedLayer, func_name: str, weight_names: dict[str, str] | None = None
) -> func.FuncOp:
    """One traced program as a `func.func` of axh ops (weights by HF name).

    `weight_names` (placeholder -> HF name) lets one trace serve every layer of its kind
    (`TracedLayer.weights_for_layer(i)`).
    """
    return _Importer(traced, weight_names).run(func_name)


def import_module(
    functions: Sequence[tuple[TracedLayer, str, dict[str, str] | None]],
    attributes: dict[str, str] | None = None,
) -> ModuleOp:
    """A module of imported functions, in state `axh`, with extra string attributes."""
    module = ModuleOp([import_function(t, name, w) for t, name, w in functions])
    set_state(module, "axh")
    for key, value in (attributes or {}).items():
        module.attributes[key] = StringAttr(value)
    return module
