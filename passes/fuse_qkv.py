"""fuse-qkv: linears that read the same input (q, k, v) become one linear and slices.

One wide matmul streams the input once and keeps the NPU's matmul unit busy with one long
job instead of three short ones (k and v are narrow under GQA). The rewrite:

    %q = axh.linear %x, %wq, %bq ...      %qkv = axh.linear %x, %w, %b ...
    %k = axh.linear %x, %wk, %bk ...  ->  %q = axh.slice %qkv {axis=-1, 0..Nq}
    %v = axh.linear %x, %wv, %bv ...      %k = axh.slice ..., %v = axh.slice ...

Weights, biases, scales and zeros are concatenated along the output dimension N under a new
store name made from the common prefix and suffix of the sources, e.g.
`model.layers.0.self_attn.q+k+v_proj.weight#s8` (+ `.scale`, `...q+k+v_proj.bias#bf16`).
Per-output-channel and per-(channel, group) quantization is row-wise, so concatenating the
quantized rows equals quantizing the concatenation: the pass may run before or after
`quantize` (the build runs it after; calibration Hessians are shared by construction, and are
forwarded to the fused name when the pass runs first). The interpreter gives the same result
either way.

Which linears: every set of >= 2 `axh.linear` ops with one input, the same weight element type,
K, group count and optional operands (bias, scale, zero), all of them `axh.weight` values,
whose results do not feed a gated activation (those are `fuse-gate-up`'s).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from axc.dialects import axh
from axc.weight_store import WeightStore, current_store

_SEPARATORS = "._#"
_GLU = (axh.SwiGLUOp, axh.GeGLUOp)
_OPTIONAL = ("bias", "scale", "zero")


def fused_name(names: Sequence[str]) -> str:
    """`a.q_proj.w`, `a.k_proj.w` -> `a.q+k_proj.w`: common prefix and suffix kept once,
    cut at separators so that a name is never split inside a word."""
    prefix = os.path.commonprefix(list(names))
    prefix = prefix[: max(prefix.rfind(c) for c in _SEPARATORS) + 1]
    rest = [n[len(prefix):] for n in names]
    suffix = os.path.commonprefix([r[::-1] for r in rest])[::-1]
    cuts = [suffix.find(c) for c in _SEPARATORS if c in suffix]
    suffix = suffix[min(cuts):] if cuts else ""
    middles = [r[: len(r) - len(suffix)] for r in rest]
    return prefix + "+".join(middles) + suffix


def _weight_of(value: SSAValue | None) -> axh.WeightOp | None:
    owner = value.owner if value is not None else None
    return owner if isinstance(owner, axh.WeightOp) else None


def _signature(linear: axh.LinearOp) -> tuple | None:
    """What must agree between fused linears; None when an operand is not a weight."""
    parts: list = [linear.input, linear.weight.type.element_type,  # type: ignore[attr-defined]
                   linear.weight.type.get_shape()[1]]  # type: ignore[attr-defined]
    if _weight_of(linear.weight) is None:
        return None
    for name in _OPTIONAL:
        value = getattr(linear, name)
        if value is None:
            parts.append(None)
            continue
        if _weight_of(value) is None:
            return None
        ty = value.type
        parts.append((ty.element_type, tuple(ty.get_shape()[1:])))  # type: ignore[attr-defined]
    return tuple(parts)


def _concat_weight(sources: list[SSAValue], store: WeightStore | None) -> axh.WeightOp:
    """A weight op naming the row-concatenation of `sources`, registered in the store."""
    names = [_weight_of(v).weight_name.data for v in sources]  # type: ignore[union-attr]
    types = [v.type for v in sources]
    rows = sum(t.get_shape()[0] for t in types)  # type: ignore[attr-defined]
    shape = (rows, *types[0].get_shape()[1:])  # type: ignore[attr-defined]
    name = fused_name(names)
    op = axh.WeightOp(name, TensorType(types[0].element_type, shape))  # type: ignore
    if store is not None:
        from axc.quant import HESSIAN_TAG

        store.put_lazy(name, lambda: np.concatenate([store.get(n) for n in names], axis=0))
        if names[0] + HESSIAN_TAG in store:
            store.put(name + HESSIAN_TAG, store.get(names[0] + HESSIAN_TAG))
    return op


def fuse_linears(linears: list[axh.LinearOp], store: WeightStore | None) -> axh.LinearOp:
    """Replace `linears` (same signature) by one linear and slices; returns the new linear."""
    block = linears[0].parent_block()
    assert block is not None
    linears = sorted(linears, key=block.get_operation_index)
    rewriter = Rewriter()
    operands: dict[str, axh.WeightOp | None] = {"weight": _concat_weight(
        [lin.weight for lin in linears], store)}
    for name in _OPTIONAL:
        values = [getattr(lin, name) for lin in linears]
        operands[name] = None if values[0] is None else _concat_weight(values, store)
    new_ops: list[Operation] = [op for op in operands.values() if op is not None]
    fused = axh.LinearOp(linears[0].input, *(operands[n] for n in ("weight", *_OPTIONAL)))
    rewriter.insert_op([*new_ops, fused], InsertPoint.before(linears[0]))
    last_dim = len(fused.result.type.get_shape()) - 1  # type: ignore[attr-defined]
    start = 0
    dead: list[Operation] = []
    anchor: Operation = fused
    for lin in linears:
        width = lin.result.type.get_shape()[-1]  # type: ignore[attr-defined]
        piece = axh.SliceOp(fused, last_dim, start, start + width)
        rewriter.insert_op(piece, InsertPoint.after(anchor))
        anchor = piece
        start += width
        lin.result.replace_all_uses_with(piece.result)
        dead += [v.owner for v in lin.operands[1:] if isinstance(v.owner, axh.WeightOp)]
        rewriter.erase_op(lin)
    for op in dead:
        if op.parent is not None and not op.results[0].uses:
            rewriter.erase_op(op)
    return fused


def _feeds_glu(linear: axh.LinearOp) -> bool:
    return any(isinstance(use.operation, _GLU) for use in linear.result.uses)


@dataclass(frozen=True)
class FuseQKVPass(ModulePass):
    """Fuse sibling linears (q/k/v) into one linear + slices (see the module docstring)."""

    name = "fuse-qkv"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        store = current_store()
        for fn in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            groups: dict[tuple, list[axh.LinearOp]] = {}
            for lin in [o for o in fn.walk() if isinstance(o, axh.LinearOp)]:
                sig = _signature(lin)
                if sig is not None and not _feeds_glu(lin):
                    groups.setdefault(sig, []).append(lin)
            for linears in groups.values():
                if len(linears) >= 2:
                    fuse_linears(linears, store)
