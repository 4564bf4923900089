"""quantize: choose the weight and hidden-state types of a layer, pulsar2's `-w` and `-t`.

Postcondition (state `axh-quantized`):
- every `axh.linear` with a float `axh.weight` reads the weight in `weight-type`: s8 (i8,
  one bf16 scale per output channel, or per output channel and group of `s8-group-size`
  input features when that is > 0), s4 (i4, one bf16 scale per output channel and group of
  `group-size` input features), or bf16/fp16/fp32 floats; integer weights already in the IR
  (GPTQ/AWQ checkpoints) are kept as they are;
- float values on the activation path (everything computed from a float function argument:
  the hidden state, the mask, the KV cache) have the `hidden-type` element type, and so do
  the weights they combine with (norm weights, biases); values computed from positions only
  (rope's cos/sin tables) stay f32, as Hugging Face computes them;
- the module records `axc.weight_type`, `axc.hidden_type`, `axc.group_size` and
  `axc.quant_method`.

`method` (rtn | clip | gptq | awq | awq-gptq | asym | auto) picks the algorithm of
`axc.quant` (`auto` = asym for s4, rtn for s8: `axc.quant.resolve_method`; gptq reads
calibration Hessians `<weight>#calib.hessian` from the store, clip uses their diagonal as
feature importance when present). awq and awq-gptq (integer weight
types only) also rewrite the IR: the rms_norm weight read only by linears becomes
`<norm weight>#awq` = (w + offset) / s - offset, and the up linear read only by a
swiglu/geglu read only by linears gets its bias renamed `<bias>#awq` = b / s; the store holds
the input scales as `<first linear weight>#awq.in_scale`. Shapes and types do not change.
asym gives each quantized linear a zero point operand `<weight>#s4g128.zero` (bf16 [N, G]
holding integers of the weight type's range, exactly) beside its integers and bf16 scales:
`w = (q - zero) * scale`, the dequantisation the runtime already applies to GPTQ/AWQ
checkpoints.
Without a store only the IR changes.

GPTQ/AWQ checkpoints: when the store's checkpoint has `<prefix>.qweight` (and `.scales`,
`.qzeros`, optionally `.g_idx`) instead of `<prefix>.weight`, the linear reads its own
integers as `<weight>#gptq` / `#awq` (i4 or i8, signed: unsigned - 2^(bits-1)), its fp16
scales as `<weight>#gptq.scale` (f16, kept exact) and, unless every zero point is the
midpoint (symmetric GPTQ), its zeros as `<weight>#gptq.zero` (same integer type).

The IR names the quantized arrays `<weight>#s8` / `<weight>#s8.scale` (see
`axc.weight_store`); when a weight store is active the pass registers how to compute them
(lazily: a layer is quantized when it is first read), otherwise it only rewrites the IR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    FunctionType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from axc.diagnostics import OpError
from axc.dialects import axh
from axc.numerics import WEIGHT_TYPES, round_hidden
from axc.quant import (
    AWQ_METHODS,
    QUANT_METHODS,
    ZERO_POINT_METHODS,
    awq_scales,
    checkpoint_quantization,
    hessian_of,
    quantize_asymmetric,
    quantize_weight,
    read_packed_linear,
    resolve_method,
)
from axc.state import require_state, set_state
from axc.weight_store import WeightStore, current_store

_FLOAT_TYPES: dict[str, Attribute] = {
    "bf16": BFloat16Type(),
    "fp16": Float16Type(),
    "fp32": Float32Type(),
}
_FLOATS = (BFloat16Type, Float16Type, Float32Type)


def _is_float_tensor(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and isinstance(value.type.element_type, _FLOATS)


def _retype(value: SSAValue, element: Attribute) -> None:
    """Give `value` the same shape with another element type (in place)."""
    ty = value.type
    assert isinstance(ty, TensorType)
    value._type = TensorType(element, ty.get_shape())  # noqa: SLF001 - xDSL has no setter


def _is_packed(store: WeightStore, name: str) -> bool:
    """A linear of a GPTQ/AWQ checkpoint: `.qweight` where the float `.weight` would be."""
    if name in store or not name.endswith(".weight"):
        return False
    return f"{name.removesuffix('.weight')}.qweight" in store


def _float_weight(linear: axh.LinearOp) -> axh.WeightOp | None:
    """The float `axh.weight` a not yet quantized linear reads, if any."""
    owner = linear.weight.owner
    if linear.weight_is_quantized or not isinstance(owner, axh.WeightOp):
        return None
    return owner


@dataclass(frozen=True)
class QuantizePass(ModulePass):
    """Quantize linear weights and set the hidden-state type (see the module docstring)."""

    name = "quantize"

    weight_type: str = "s8"
    group_size: int = 128
    hidden_type: str = "bf16"
    method: str = "auto"
    s8_group_size: int = 0
    """s8 scale groups: 0 = one scale per output channel (pulsar2's w8a16); N = per group
    of N input features, as s4, in every linear whose K it divides (the others keep one
    scale per channel). `axc llm_build` passes its --group_size: 3.7x lower KL on
    Qwen2.5-0.5B for 1.6% more weight bytes (docs/accuracy.md)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_state(op, self.name, "axh")
        if self.weight_type not in WEIGHT_TYPES:
            raise OpError(op, f"quantize: weight-type {self.weight_type!r} is not one of "
                          f"{', '.join(WEIGHT_TYPES)}")
        if self.hidden_type not in _FLOAT_TYPES:
            raise OpError(op, f"quantize: hidden-type {self.hidden_type!r} is not one of "
                          f"{', '.join(_FLOAT_TYPES)}")
        if self.method not in QUANT_METHODS:
            raise OpError(op, f"quantize: method {self.method!r} is not one of "
                          f"{', '.join(QUANT_METHODS)}")
        store = current_store()
        reader = getattr(store, "_reader", None)
        packed = checkpoint_quantization(reader) if reader is not None else None
        for fn in op.ops:
            if isinstance(fn, func.FuncOp):
                folds: dict[str, tuple[str | None, str | None]] = {}
                if self.method in AWQ_METHODS and self.weight_type in ("s4", "s8"):
                    folds = self._fold_awq(fn, store)
                for linear in [o for o in fn.walk() if isinstance(o, axh.LinearOp)]:
                    self._quantize_linear(linear, store, packed, folds)
                self._set_hidden_type(fn, store)
        set_state(op, "axh-quantized")
        op.attributes["axc.weight_type"] = StringAttr(self.weight_type)
        op.attributes["axc.hidden_type"] = StringAttr(self.hidden_type)
        op.attributes["axc.group_size"] = IntegerAttr(self.group_size, i64)
        if self.weight_type == "s8" and self.s8_group_size:
            op.attributes["axc.s8_group_size"] = IntegerAttr(self.s8_group_size, i64)
        op.attributes["axc.quant_method"] = StringAttr(self.resolved_method)

    @property
    def resolved_method(self) -> str:
        """The concrete method (`auto` resolved for the weight type)."""
        return resolve_method(self.method, self.weight_type, has_hessian=True)

    # -- weights ---------------------------------------------------------------------------

    def _quantize_linear(
        self, linear: axh.LinearOp, store: WeightStore | None, packed: dict | None,
        folds: dict[str, tuple[str | None, str | None]],
    ) -> None:
        weight_op = linear.weight.owner
        if linear.weight_is_quantized or not isinstance(weight_op, axh.WeightOp):
            return
        name = weight_op.weight_name.data
        n, k = linear.weight.type.get_shape()  # type: ignore[attr-defined]
        rewriter = Rewriter()
        if store is not None and packed is not None and _is_packed(store, name):
            self._read_packed(linear, store, packed, name, n, k)
            if not weight_op.result.uses:  # its float weight does not exist in the checkpoint
                rewriter.erase_op(weight_op)
            return
        if self.weight_type in _FLOAT_TYPES:
            if self.weight_type == "fp32":
                return
            new_w = axh.WeightOp(f"{name}#{self.weight_type}",
                                 TensorType(_FLOAT_TYPES[self.weight_type], (n, k)))
            rewriter.insert_op(new_w, InsertPoint.before(linear))
            linear.operands[1] = new_w.result
            if store is not None:
                store.put_lazy(new_w.weight_name.data,
                               lambda: round_hidden(store.get(name), self.weight_type))
            return
        if self.weight_type == "s8":  # groups where they fit, else pulsar2's per channel
            group = self.s8_group_size if self.s8_group_size and k % self.s8_group_size == 0 else k
            option = "s8-group-size"
        else:
            group, option = self.group_size, "group-size"
        if group <= 0 or k % group:
            raise OpError(linear, f"quantize: {option} {group} does not divide the {k} input "
                          f"features of {name}; choose a divisor of {k}")
        tag = f"{self.weight_type}g{group}" if group != k or self.weight_type == "s4" else "s8"
        width = 8 if self.weight_type == "s8" else 4
        new_w = axh.WeightOp(f"{name}#{tag}", TensorType(IntegerType(width), (n, k)))
        new_s = axh.WeightOp(f"{name}#{tag}.scale", TensorType(BFloat16Type(), (n, k // group)))
        new_z = None
        if self.resolved_method in ZERO_POINT_METHODS:
            # bf16 holding the integer zero points exactly: the NPU's matmul takes float
            # zeros (its dequantisation is (q - zero) * scale in fp32)
            new_z = axh.WeightOp(f"{name}#{tag}.zero", TensorType(BFloat16Type(),
                                                                 (n, k // group)))
        rewriter.insert_op([new_w, new_s] + ([new_z] if new_z else []),
                           InsertPoint.before(linear))
        bias = linear.bias
        new_linear = axh.LinearOp(linear.input, new_w, bias, new_s, new_z)
        rewriter.replace_op(linear, new_linear)
        if store is not None and new_z is not None:
            self._register_asymmetric(store, name, tag, group)
        elif store is not None:
            if self.method in ("gptq", "awq-gptq") and hessian_of(store, name) is None:
                raise OpError(linear, f"quantize: method {self.method} needs a calibration "
                              f"Hessian for {name} (axc.quant.calibrate + attach_calibration)")
            self._register_quantized(store, name, tag, group, folds.get(name, (None, None)))

    def _read_packed(self, linear: axh.LinearOp, store: WeightStore, qcfg: dict, name: str,
                     n: int, k: int) -> None:
        """Keep a GPTQ/AWQ checkpoint's own integers, scales and zeros (see module doc)."""
        prefix = name.removesuffix(".weight")
        reader = store._reader  # noqa: SLF001 - packed words must be read raw, not as float
        values, scales, zeros, bits = read_packed_linear(reader, prefix, qcfg, n, k)
        tag = str(qcfg["quant_method"]).lower()
        groups = scales.shape[1]
        ints = IntegerType(bits)
        new_w = axh.WeightOp(f"{name}#{tag}", TensorType(ints, (n, k)))
        new_s = axh.WeightOp(f"{name}#{tag}.scale", TensorType(Float16Type(), (n, groups)))
        ops: list[Operation] = [new_w, new_s]
        new_z = None
        if zeros is not None:
            new_z = axh.WeightOp(f"{name}#{tag}.zero", TensorType(ints, (n, groups)))
            ops.append(new_z)
            store.put(new_z.weight_name.data, zeros)
        store.put(new_w.weight_name.data, values)
        store.put(new_s.weight_name.data, scales)
        rewriter = Rewriter()
        rewriter.insert_op(ops, InsertPoint.before(linear))
        rewriter.replace_op(linear, axh.LinearOp(linear.input, new_w, linear.bias, new_s, new_z))

    def _register_quantized(self, store: WeightStore, name: str, tag: str, group: int,
                            fold: tuple[str | None, str | None]) -> None:
        """Quantize lazily; `fold` names the AWQ input scales s (columns: W diag(s), and the
        Hessian becomes diag(1/s) H diag(1/s)) and output scales r (rows: diag(1/r) W)."""
        cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        cols, rows = fold

        def both() -> tuple[np.ndarray, np.ndarray]:
            if "q" not in cache:
                weight, hessian = store.get(name), hessian_of(store, name)
                if rows is not None:
                    weight = weight / store.get(rows)[:, None]
                if cols is not None:
                    s = store.get(cols)
                    weight = weight * s[None, :]
                    if hessian is not None:
                        hessian = hessian / s[:, None] / s[None, :]
                cache["q"] = quantize_weight(weight, self.weight_type, group, self.method,
                                             hessian)
            return cache["q"]

        store.put_lazy(f"{name}#{tag}", lambda: both()[0])
        store.put_lazy(f"{name}#{tag}.scale", lambda: both()[1])

    def _register_asymmetric(self, store: WeightStore, name: str, tag: str, group: int) -> None:
        cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

        def part(i: int):
            def get() -> np.ndarray:
                if "q" not in cache:
                    cache["q"] = quantize_asymmetric(store.get(name), self.weight_type, group)
                return cache["q"][i]
            return get

        for i, suffix in enumerate(("", ".scale", ".zero")):
            store.put_lazy(f"{name}#{tag}{suffix}", part(i))

    # -- AWQ -------------------------------------------------------------------------------

    def _fold_awq(
        self, fn: func.FuncOp, store: WeightStore | None
    ) -> dict[str, tuple[str | None, str | None]]:
        """Find where AWQ input scales can be folded exactly and rewrite those producers.

        * rms_norm -> linears only (q/k/v, gate/up): the norm weight becomes
          `<norm weight>#awq` = (w + offset) / s - offset;
        * swiglu/geglu -> linears only (down), its `up` operand a linear read only there: the
          up linear's rows (and bias, `<bias>#awq`) are divided by s.
        Linears whose input comes from anywhere else (o_proj: the attention output; fused
        linears) are quantized by RTN (`awq`) or GPTQ (`awq-gptq`). Returns, per linear
        weight name, the store names of its column scales and row scales (None: none)."""
        folds: dict[str, tuple[str | None, str | None]] = {}
        rewriter = Rewriter()
        for op in list(fn.walk()):
            if isinstance(op, axh.RMSNormOp):
                target = op.weight.owner
            elif isinstance(op, (axh.SwiGLUOp, axh.GeGLUOp)):
                target = op.up.owner
                if not (isinstance(target, axh.LinearOp) and len(list(op.up.uses)) == 1
                        and _float_weight(target) is not None):
                    continue
            else:
                continue
            uses = list(op.results[0].uses)
            readers = [use.operation for use in uses]
            if not uses or not all(isinstance(use.operation, axh.LinearOp) and use.index == 0
                                   and _float_weight(use.operation) is not None
                                   for use in uses):
                continue
            if isinstance(op, axh.RMSNormOp) and not isinstance(target, axh.WeightOp):
                continue
            names = sorted(_float_weight(r).weight_name.data for r in readers)  # type: ignore
            key = f"{names[0]}#awq.in_scale"
            for name in names:
                folds[name] = (key, folds.get(name, (None, None))[1])
            if isinstance(op, axh.RMSNormOp):
                self._fold_into_norm(op, key, store, rewriter)
            else:
                self._fold_into_rows(target, key, store, rewriter, folds)  # type: ignore
            if store is not None and key not in store:
                if hessian_of(store, names[0]) is None:
                    raise OpError(readers[0], f"quantize: method {self.method} needs a "
                                  f"calibration Hessian for {names[0]} "
                                  "(axc.quant.calibrate + attach_calibration)")
                group = None if self.weight_type == "s8" else self.group_size
                store.put_lazy(key, lambda n=names, g=group: awq_scales(
                    [store.get(x) for x in n], hessian_of(store, n[0]), self.weight_type,
                    g or store.get(n[0]).shape[1]))
        return folds

    def _fold_into_norm(self, norm: axh.RMSNormOp, key: str, store: WeightStore | None,
                        rewriter: Rewriter) -> None:
        old = norm.weight.owner
        assert isinstance(old, axh.WeightOp)
        name = old.weight_name.data
        new = axh.WeightOp(f"{name}#awq", norm.weight.type)
        rewriter.insert_op(new, InsertPoint.before(norm))
        norm.operands[1] = new.result
        if not old.result.uses:
            rewriter.erase_op(old)
        offset = float(norm.weight_offset.value.data)
        if store is not None:
            store.put_lazy(new.weight_name.data, lambda: (
                (store.get(name) + offset) / store.get(key) - offset).astype(np.float32))

    def _fold_into_rows(self, up: axh.LinearOp, key: str, store: WeightStore | None,
                        rewriter: Rewriter, folds: dict) -> None:
        name = _float_weight(up).weight_name.data  # type: ignore[union-attr]
        folds[name] = (folds.get(name, (None, None))[0], key)
        bias = up.bias.owner if up.bias is not None else None
        if isinstance(bias, axh.WeightOp):
            bname = bias.weight_name.data
            new = axh.WeightOp(f"{bname}#awq", up.bias.type)  # type: ignore[union-attr]
            rewriter.insert_op(new, InsertPoint.before(up))
            up.operands[2] = new.result
            if not bias.result.uses:
                rewriter.erase_op(bias)
            if store is not None:
                store.put_lazy(new.weight_name.data, lambda: (
                    store.get(bname) / store.get(key)).astype(np.float32))

    # -- hidden state ----------------------------------------------------------------------

    def _set_hidden_type(self, fn: func.FuncOp, store: WeightStore | None) -> None:
        hidden = _FLOAT_TYPES[self.hidden_type]
        if hidden == f32:
            return
        activation: set[SSAValue] = set()
        for arg in fn.body.block.args:
            if _is_float_tensor(arg):
                _retype(arg, hidden)
                activation.add(arg)
        rewriter = Rewriter()
        for op in list(fn.body.block.ops):
            if isinstance(op, func.ReturnOp):
                continue
            if not any(v in activation for v in op.operands):
                continue
            self._harmonise_operands(op, activation, hidden, rewriter, store)
            for result in op.results:
                if _is_float_tensor(result):
                    _retype(result, hidden)
                    activation.add(result)
        fn.function_type = FunctionType.from_lists(
            [a.type for a in fn.body.block.args],
            [v.type for v in fn.body.block.last_op.operands],  # type: ignore[union-attr]
        )

    def _harmonise_operands(
        self,
        op: Operation,
        activation: set[SSAValue],
        hidden: Attribute,
        rewriter: Rewriter,
        store: WeightStore | None,
    ) -> None:
        """Give an op's other float operands the hidden type: float weights become
        `<name>#<hidden>` weights, computed values get an `axh.cast`; rope tables and the
        scales/weights of a linear stay as they are."""
        keep: set[int] = set()
        if isinstance(op, axh.RopeOp):
            keep = {1, 2}
        elif isinstance(op, axh.LinearOp):
            keep = {1} | ({len(op.operands) - 1} if op.scale is not None else set())
            if op.zero is not None:
                keep |= {len(op.operands) - 2, len(op.operands) - 1}
        for index, value in enumerate(op.operands):
            if index in keep or value in activation or not _is_float_tensor(value):
                continue
            if value.type.element_type == hidden:  # type: ignore[attr-defined]
                continue
            owner = value.owner
            if isinstance(owner, axh.WeightOp):
                name = owner.weight_name.data
                new = axh.WeightOp(f"{name}#{self.hidden_type}",
                                   TensorType(hidden, value.type.get_shape()))  # type: ignore
                if store is not None:
                    store.put_lazy(new.weight_name.data,
                                   lambda n=name: round_hidden(store.get(n), self.hidden_type))
            else:
                new = axh.CastOp(value, hidden)
            insert_at = (InsertPoint.before(op) if isinstance(value, BlockArgument)
                         or isinstance(owner, axh.WeightOp) else InsertPoint.after(owner))
            rewriter.insert_op(new, insert_at)
            op.operands[index] = new.results[0]
