"""The axh reference interpreter: runs a `func.func` of axh ops on numpy arrays.

It is the executable meaning of the axh op docstrings, so passes, the lowering and the
simulator can be checked against it. Values are numpy arrays: every float element type is held
as float32, integers in their own width and signedness, i1 as bool.

Rounding rule for axh (`docs/numerics.md`; the simulator applies the same rule per
instruction, both through `axc.numerics.round_hidden`):

* An op that computes (everything but the data sources and layout ops below) computes in f32,
  matmuls and float reductions accumulating in f32, and rounds its float results only at the
  op's result: to their element type (a no-op for f32), then to the hidden type. With
  `hidden_type="fp32"` an all-f32 function runs entirely in f32, the reference for comparing
  with transformers; with `"bf16"`/`"fp16"` every activation is stored in the hidden type.
* Float function inputs are rounded the same way on entry.
* Once the quantize pass has typed a function (some float argument is bf16/fp16), the IR's
  element types are authoritative: results are rounded to their element type only, so
  values the pass keeps in f32 (rope's cos/sin tables, computed from positions) stay f32.
  Rounding those to the hidden type too would turn position * inv_freq into a bf16 angle,
  off by up to a radian beyond position 256.
* `axh.weight` values are used as given (cast to float32): quantization is applied by the
  quantize pass through the weight store, not here.
* `axh.constant` and `axh.iota` hold exact values of their element type, and the layout ops
  (reshape, transpose, slice, concat, broadcast) move values unchanged, so a weight that is
  transposed or reshaped is still used as given.

Nothing is cached between runs: the same function is run with the weights of every layer of
its kind, and passes rewrite functions in place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue

from axc.diagnostics import format_diagnostic
from axc.dialects import axh
from axc.errors import AxcError
from axc.numerics import HIDDEN_TYPES, dequantize_weight, round_hidden

Weights = Callable[[str], np.ndarray] | Mapping[str, np.ndarray]
Inputs = Mapping[str, np.ndarray] | Sequence[np.ndarray]

_FLOAT_NAMES: dict[type[Attribute], str] = {
    Float32Type: "fp32",
    BFloat16Type: "bf16",
    Float16Type: "fp16",
}
_SQRT_HALF = np.float32(np.sqrt(0.5))
_GELU_TANH_SCALE = np.float32(np.sqrt(2 / np.pi))


class InterpreterError(AxcError):
    """An axh op the interpreter cannot evaluate, located like a compiler diagnostic."""

    def __init__(self, message: str, op: Operation | None = None):
        super().__init__(message)
        self.op = op


def _float_name(element: Attribute) -> str | None:
    """'fp32', 'bf16' or 'fp16' for a float element type, None for integers."""
    return _FLOAT_NAMES.get(type(element))


def _numpy_dtype(element: Attribute) -> np.dtype:
    """How values of an axh element type are held."""
    if type(element) in _FLOAT_NAMES:
        return np.dtype(np.float32)
    if isinstance(element, IntegerType):
        width = element.width.data
        if width == 1:
            return np.dtype(np.bool_)
        if width == 4:  # s4 weights: one value per int8 (packing is the container's business)
            return np.dtype(np.int8)
        if width in (8, 16, 32, 64):
            unsigned = element.signedness.data == Signedness.UNSIGNED
            return np.dtype(f"{'u' if unsigned else ''}int{width}")
    raise ValueError(f"element type {element} has no numpy equivalent")


def _tensor_type(value: SSAValue) -> TensorType[Attribute]:
    return cast(TensorType[Attribute], value.type)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in f32. numpy has none; torch's is vectorised and exact to f32 (imported here so
    that the interpreter loads without torch unless a graph needs erf)."""
    import torch

    return torch.special.erf(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def _gelu(x: np.ndarray, approximate: axh.GeluApproximationAttr) -> np.ndarray:
    if approximate.data == axh.GeluApproximation.TANH:
        inner = _GELU_TANH_SCALE * (x + np.float32(0.044715) * x * x * x)
        return 0.5 * x * (1 + np.tanh(inner))
    return 0.5 * x * (1 + _erf(x * _SQRT_HALF))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _trunc_divide(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Integer division rounding toward zero (numpy's `//` floors)."""
    quotient = np.abs(lhs) // np.abs(rhs)
    return np.where((lhs < 0) != (rhs < 0), -quotient, quotient).astype(lhs.dtype)


def _divide(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    if lhs.dtype == np.float32:
        return lhs / rhs
    return _trunc_divide(lhs, rhs)


_UNARY: dict[axh.UnaryKind, Callable[[np.ndarray], np.ndarray]] = {
    axh.UnaryKind.NEG: np.negative,
    axh.UnaryKind.EXP: np.exp,
    axh.UnaryKind.LOG: np.log,
    axh.UnaryKind.SQRT: np.sqrt,
    axh.UnaryKind.RSQRT: lambda x: 1 / np.sqrt(x),
    axh.UnaryKind.RECIPROCAL: np.reciprocal,
    axh.UnaryKind.TANH: np.tanh,
    axh.UnaryKind.SIGMOID: _sigmoid,
    axh.UnaryKind.COS: np.cos,
    axh.UnaryKind.SIN: np.sin,
    axh.UnaryKind.ABS: np.abs,
    axh.UnaryKind.RELU: lambda x: np.maximum(x, np.float32(0)),
    axh.UnaryKind.ERF: _erf,
    axh.UnaryKind.SQUARE: np.square,
}
_BINARY: dict[axh.BinaryKind, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    axh.BinaryKind.POW: np.power,
    axh.BinaryKind.MAXIMUM: np.maximum,
    axh.BinaryKind.MINIMUM: np.minimum,
}
_COMPARE: dict[axh.ComparePredicate, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    axh.ComparePredicate.EQ: np.equal,
    axh.ComparePredicate.NE: np.not_equal,
    axh.ComparePredicate.LT: np.less,
    axh.ComparePredicate.LE: np.less_equal,
    axh.ComparePredicate.GT: np.greater,
    axh.ComparePredicate.GE: np.greater_equal,
}
_REDUCE: dict[axh.ReduceKind, Callable[..., np.ndarray]] = {
    axh.ReduceKind.SUM: np.sum,
    axh.ReduceKind.MEAN: np.mean,
    axh.ReduceKind.MAX: np.max,
    axh.ReduceKind.MIN: np.min,
}


class Interpreter:
    """Evaluates axh functions against one weight store in one hidden type.

    `weights` maps a weight name to its array (a Mapping, or a callable such as
    `CheckpointReader.get`). Each axh op class `axh.<name>` is evaluated by `_eval_<name>`,
    which receives the op and its operand arrays and returns the result array(s) in f32 (or
    the integer type); `run` then rounds them by the module's rule.
    """

    #: Ops whose float results are exact values of their type (sources and layout moves).
    _EXACT = (
        axh.ConstantOp,
        axh.IotaOp,
        axh.ReshapeOp,
        axh.TransposeOp,
        axh.SliceOp,
        axh.ConcatOp,
        axh.BroadcastOp,
    )

    def __init__(self, weights: Weights, hidden_type: str = "fp32"):
        if hidden_type not in HIDDEN_TYPES:
            raise ValueError(f"unknown hidden type {hidden_type!r}; expected one of {HIDDEN_TYPES}")
        self.hidden_type = hidden_type
        self._weight = weights.__getitem__ if isinstance(weights, Mapping) else weights
        self._typed = False

    # -- driving ---------------------------------------------------------------------------

    def run(self, func_op: FuncOp, inputs: Inputs) -> list[np.ndarray]:
        """The function's results for `inputs` (by argument name, or in argument order)."""
        block = func_op.body.block
        self._typed = any(
            _float_name(_tensor_type(a).element_type) not in (None, "fp32")
            for a in block.args if isinstance(a.type, TensorType)
        )
        env: dict[SSAValue, np.ndarray] = {
            arg: self._input(arg, value)
            for arg, value in zip(block.args, self._order_inputs(func_op, inputs), strict=True)
        }
        with np.errstate(all="ignore"):  # inf and NaN are values here, as on the device
            for index, op in enumerate(block.ops):
                if isinstance(op, ReturnOp):
                    return [np.ascontiguousarray(env[v]) for v in op.arguments]
                try:
                    self._step(op, env)
                except Exception as error:
                    raise self._error(func_op, index, op, error) from error
        raise InterpreterError(f"@{func_op.sym_name.data} has no func.return")

    def _step(self, op: Operation, env: dict[SSAValue, np.ndarray]) -> None:
        evaluate = _EVALUATORS.get(type(op))
        if evaluate is None:
            raise InterpreterError("is not supported by the axh interpreter")
        results = evaluate(self, op, *(env[v] for v in op.operands))
        if isinstance(results, np.ndarray):
            results = (results,)
        for value, array in zip(op.results, results, strict=True):
            env[value] = self._result(op, value, array)

    def _result(self, op: Operation, value: SSAValue, array: np.ndarray) -> np.ndarray:
        """The array in its storage form, rounded by the module's rule."""
        ty = _tensor_type(value)
        array = np.asarray(array, dtype=_numpy_dtype(ty.element_type))
        if array.shape != ty.get_shape():
            raise InterpreterError(
                f"computed shape {list(array.shape)} but the result type is {ty}"
            )
        name = _float_name(ty.element_type)
        if name is None or isinstance(op, axh.WeightOp):
            return array
        if name != "fp32":
            array = round_hidden(array, name)
        if isinstance(op, self._EXACT) or name == self.hidden_type or self._typed:
            return array
        return round_hidden(array, self.hidden_type)

    def _order_inputs(self, func_op: FuncOp, inputs: Inputs) -> list[np.ndarray]:
        args = func_op.body.block.args
        fname = func_op.sym_name.data
        if not isinstance(inputs, Mapping):
            if len(inputs) != len(args):
                raise InterpreterError(
                    f"@{fname} takes {len(args)} inputs, {len(inputs)} were given"
                )
            return list(inputs)
        names = [arg.name_hint for arg in args]
        if None in names:
            raise InterpreterError(f"@{fname} has unnamed arguments; pass inputs as a sequence")
        missing = [n for n in names if n not in inputs]
        extra = sorted(set(inputs) - set(names))
        if missing or extra:
            raise InterpreterError(
                f"@{fname} takes inputs {names}; missing {missing}, unexpected {extra}"
            )
        return [inputs[n] for n in names]

    def _input(self, arg: BlockArgument, value: np.ndarray) -> np.ndarray:
        ty = _tensor_type(arg)
        array = np.asarray(value)
        if array.shape != ty.get_shape():
            raise InterpreterError(
                f"input {arg.name_hint or f'#{arg.index}'} has shape "
                f"{list(array.shape)}, the function expects {ty}"
            )
        array = array.astype(_numpy_dtype(ty.element_type), copy=False)
        name = _float_name(ty.element_type)
        if name is None:
            return array
        return round_hidden(round_hidden(array, name), self.hidden_type)

    @staticmethod
    def _error(func_op: FuncOp, index: int, op: Operation, error: Exception) -> InterpreterError:
        """`error` raised while evaluating `op`, located at the op (or its place in the body)."""
        message = str(error) if isinstance(error, InterpreterError) else f"failed: {error!r}"
        where = f"@{func_op.sym_name.data}, op #{index}"
        return InterpreterError(format_diagnostic(op, message, fallback_file=where), op)

    # -- sources ---------------------------------------------------------------------------

    def _eval_weight(self, op: axh.WeightOp) -> np.ndarray:
        name = op.weight_name.data
        try:
            value = self._weight(name)
        except KeyError:
            raise InterpreterError(f"weight {name!r} is not in the weight store") from None
        array = np.asarray(value)
        expected = _tensor_type(op.result).get_shape()
        if array.shape != expected:
            raise InterpreterError(
                f"weight {name!r} has shape {list(array.shape)}, the IR expects {list(expected)}"
            )
        return array

    def _eval_constant(self, op: axh.ConstantOp) -> np.ndarray:
        ty = _tensor_type(op.result)
        values = np.array(op.value.get_values()).reshape(ty.get_shape())
        return values != 0 if _numpy_dtype(ty.element_type) == np.bool_ else values

    def _eval_iota(self, op: axh.IotaOp) -> np.ndarray:
        (count,) = _tensor_type(op.result).get_shape()
        return op.start.value.data + op.step.value.data * np.arange(count, dtype=np.int64)

    # -- layers ----------------------------------------------------------------------------

    def _eval_embedding(self, op: axh.EmbeddingOp, ids: np.ndarray, table: np.ndarray):
        return np.take(table, ids, axis=0)

    def _eval_linear(self, op: axh.LinearOp, x, weight, *extra) -> np.ndarray:
        named = iter(extra)
        bias = next(named) if op.bias is not None else None
        scale = next(named) if op.scale is not None else None
        zero = next(named) if op.zero is not None else None
        if scale is not None:
            weight = dequantize_weight(weight, scale, zero)
        # 2-D so that numpy hands one (transposed) GEMM to BLAS
        out = np.matmul(x.reshape(-1, x.shape[-1]), weight.T.astype(np.float32, copy=False))
        out = out.reshape(*x.shape[:-1], weight.shape[0])
        return out if bias is None else out + bias

    def _eval_matmul(self, op: axh.MatmulOp, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return np.matmul(lhs, np.swapaxes(rhs, -1, -2) if op.transpose_b else rhs)

    def _eval_rms_norm(self, op: axh.RMSNormOp, x: np.ndarray, weight: np.ndarray):
        mean_square = np.mean(np.square(x), axis=-1, keepdims=True)
        normed = x * (1 / np.sqrt(mean_square + np.float32(op.epsilon.value.data)))
        return normed * (weight + np.float32(op.weight_offset.value.data))

    def _eval_layer_norm(self, op: axh.LayerNormOp, x, weight, bias) -> np.ndarray:
        centred = x - np.mean(x, axis=-1, keepdims=True)
        variance = np.mean(np.square(centred), axis=-1, keepdims=True)
        normed = centred * (1 / np.sqrt(variance + np.float32(op.epsilon.value.data)))
        return normed * weight + bias

    def _eval_rope(self, op: axh.RopeOp, x, cos, sin) -> np.ndarray:
        r = op.rotary_dim.value.data
        part = x[..., :r]
        if op.interleaved:
            rotated = np.empty_like(part)
            rotated[..., 0::2] = -part[..., 1::2]
            rotated[..., 1::2] = part[..., 0::2]
        else:
            rotated = np.concatenate([-part[..., r // 2 :], part[..., : r // 2]], axis=-1)
        out = part * cos[:, None] + rotated * sin[:, None]  # [B, 1, T, R]: over the heads
        return out if r == x.shape[-1] else np.concatenate([out, x[..., r:]], axis=-1)

    def _eval_attention(self, op: axh.AttentionOp, q, k, v, mask) -> np.ndarray:
        b, hq, t, d = q.shape
        hkv, s = k.shape[1], k.shape[2]
        # query heads h = kv * group + g share KV head kv: one GEMM per KV head, no repeat
        rows = q.reshape(b, hkv, hq // hkv * t, d)
        scores = np.matmul(rows, np.swapaxes(k, -1, -2)).reshape(b, hq, t, s)
        scores *= np.float32(op.scale.value.data)
        if op.softcap is not None:
            cap = np.float32(op.softcap.value.data)
            scores = cap * np.tanh(scores / cap)
        scores += mask if mask.ndim == 4 else mask[:, None]
        probs = _softmax(scores, axis=-1).reshape(b, hkv, hq // hkv * t, s)
        return np.matmul(probs, v).reshape(b, hq, t, v.shape[-1])

    # -- activations -----------------------------------------------------------------------

    def _eval_silu(self, op: axh.SiluOp, x: np.ndarray) -> np.ndarray:
        return x * _sigmoid(x)

    def _eval_gelu(self, op: axh.GeluOp, x: np.ndarray) -> np.ndarray:
        return _gelu(x, op.approximate)

    def _eval_swiglu(self, op: axh.SwiGLUOp, gate: np.ndarray, up: np.ndarray) -> np.ndarray:
        return gate * _sigmoid(gate) * up

    def _eval_geglu(self, op: axh.GeGLUOp, gate: np.ndarray, up: np.ndarray) -> np.ndarray:
        return _gelu(gate, op.approximate) * up

    # -- element-wise ----------------------------------------------------------------------

    def _eval_add(self, op: axh.AddOp, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return np.add(lhs, rhs)

    def _eval_sub(self, op: axh.SubOp, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return np.subtract(lhs, rhs)

    def _eval_mul(self, op: axh.MulOp, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return np.multiply(lhs, rhs)

    def _eval_div(self, op: axh.DivOp, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return _divide(lhs, rhs)

    def _eval_unary(self, op: axh.UnaryOp, x: np.ndarray) -> np.ndarray:
        return _UNARY[op.kind.data](x)

    def _eval_binary(self, op: axh.BinaryOp, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return _BINARY[op.kind.data](lhs, rhs)

    def _eval_compare(self, op: axh.CompareOp, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return _COMPARE[op.predicate.data](lhs, rhs)

    def _eval_select(self, op: axh.SelectOp, cond, true_value, false_value) -> np.ndarray:
        return np.where(cond, true_value, false_value)

    def _eval_cast(self, op: axh.CastOp, x: np.ndarray) -> np.ndarray:
        # float targets are rounded to their type by `_result`; numpy's float -> int cast
        # truncates toward zero, and anything -> bool is `x != 0`
        target = _numpy_dtype(_tensor_type(op.result).element_type)
        return x != 0 if target == np.bool_ else x.astype(target)

    # -- reductions ------------------------------------------------------------------------

    def _eval_reduce(self, op: axh.ReduceOp, x: np.ndarray) -> np.ndarray:
        axes = tuple(cast(tuple[int, ...], op.axes.get_values()))
        return _REDUCE[op.kind.data](x, axis=axes, keepdims=op.keepdim is not None)

    def _eval_softmax(self, op: axh.SoftmaxOp, x: np.ndarray) -> np.ndarray:
        return _softmax(x, axis=op.axis.value.data)

    def _eval_topk(self, op: axh.TopKOp, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # a stable sort of -x puts the lower index first among equal values
        order = np.argsort(-x, axis=-1, kind="stable")[..., : op.k.value.data]
        return np.take_along_axis(x, order, axis=-1), order.astype(np.int32)

    # -- layout ----------------------------------------------------------------------------

    def _eval_reshape(self, op: axh.ReshapeOp, x: np.ndarray) -> np.ndarray:
        return x.reshape(_tensor_type(op.result).get_shape())

    def _eval_transpose(self, op: axh.TransposeOp, x: np.ndarray) -> np.ndarray:
        return np.transpose(x, op.get_permutation())

    def _eval_slice(self, op: axh.SliceOp, x: np.ndarray) -> np.ndarray:
        axis = op.axis.value.data
        span = slice(op.start.value.data, op.end.value.data, op.step.value.data)
        return x[(slice(None),) * axis + (span,)]

    def _eval_concat(self, op: axh.ConcatOp, *inputs: np.ndarray) -> np.ndarray:
        return np.concatenate(inputs, axis=op.axis.value.data)

    def _eval_broadcast(self, op: axh.BroadcastOp, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, _tensor_type(op.result).get_shape())


#: `axh.<name>` -> `Interpreter._eval_<name>`; an op without a method is reported unsupported.
_EVALUATORS: dict[type[Operation], Callable[..., np.ndarray | tuple[np.ndarray, ...]]] = {
    op: getattr(Interpreter, f"_eval_{op.name.removeprefix('axh.')}")
    for op in axh.AXH.operations
    if hasattr(Interpreter, f"_eval_{op.name.removeprefix('axh.')}")
}


def run_function(
    func_op: FuncOp, inputs: Inputs, weights: Weights, hidden_type: str = "fp32"
) -> list[np.ndarray]:
    """Evaluate an axh `func.func` on `inputs` (by argument name, or in order); see the
    module docstring for the rounding rule `hidden_type` selects."""
    return Interpreter(weights, hidden_type).run(func_op, inputs)
