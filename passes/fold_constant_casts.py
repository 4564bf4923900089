"""fold-constant-casts: `axh.cast` of a splat `axh.constant` becomes a constant of the new type.

The quantize pass gives the hidden state a 16-bit type and casts the f32 constants it meets
(the -65536 of a sliding-window mask, an epsilon added to a bf16 value) with `axh.cast`.
Casting a constant is work the chip would repeat on every token; folding it at compile time
is free. The folded value is what the cast would have produced: the shared rounding rule
(`axc.numerics.round_hidden`) applied to the constant.

Postcondition: no `axh.cast` reads a splat `axh.constant` whose target type is float.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    ModuleOp,
    TensorType,
)
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from axc.dialects import axh
from axc.numerics import round_hidden
from axc.passes.canonicalize_axh import splat_value

_HIDDEN_NAMES = {BFloat16Type: "bf16", Float16Type: "fp16", Float32Type: "fp32"}


class FoldCastOfSplatConstant(RewritePattern):
    """cast(constant splat c) -> constant splat round(c) of the cast's result type."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.CastOp, rewriter: PatternRewriter, /):
        value = splat_value(op.input)
        result_type = op.result.type
        assert isinstance(result_type, TensorType)
        kind = _HIDDEN_NAMES.get(type(result_type.element_type))
        if value is None or kind is None:
            return
        rounded = float(round_hidden(np.array([value], dtype=np.float32), kind)[0])
        count = int(np.prod(result_type.get_shape()))
        attr = DenseIntOrFPElementsAttr.from_list(result_type, [rounded] * count)
        source = op.input.owner
        rewriter.replace_op(op, axh.ConstantOp(attr))
        if not source.results[0].uses:  # the f32 constant was only there to be cast
            rewriter.erase_op(source)


@dataclass(frozen=True)
class FoldConstantCastsPass(ModulePass):
    """Fold casts of splat constants into constants of the cast type."""

    name = "fold-constant-casts"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FoldCastOfSplatConstant()).rewrite_module(op)
