"""Canonicalization patterns of the axh dialect, applied by xDSL's `canonicalize` pass.

The ops declare these patterns through `HasCanonicalizationPatternsTrait` subclasses in
`axc.dialects.axh`, which import this module lazily. After `-p canonicalize`:
- no reshape feeds a reshape and no transpose feeds a transpose;
- no reshape, transpose, slice, cast or broadcast returns its operand unchanged;
- unused axh ops are gone (they are all Pure, and canonicalize removes dead Pure ops).
"""

from __future__ import annotations

from axc.dialects import axh
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern


class FoldReshapeOfReshape(RewritePattern):
    """reshape(reshape(x)) -> reshape(x): a reshape keeps row-major order, so only the last
    shape matters. The inner reshape stays if something else uses it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.ReshapeOp, rewriter: PatternRewriter, /):
        inner = op.input.owner
        if isinstance(inner, axh.ReshapeOp):
            rewriter.replace(op, axh.ReshapeOp(inner.input, op.result.type.get_shape()))


class FoldIdentityReshape(RewritePattern):
    """reshape(x) to x's own type -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.ReshapeOp, rewriter: PatternRewriter, /):
        if op.result.type == op.input.type:
            rewriter.replace(op, [], [op.input])


class FoldTransposeOfTranspose(RewritePattern):
    """transpose(transpose(x, p), q) -> transpose(x, r) with r[i] = p[q[i]], or x when r is
    the identity. The inner transpose stays if something else uses it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.TransposeOp, rewriter: PatternRewriter, /):
        inner = op.input.owner
        if not isinstance(inner, axh.TransposeOp):
            return
        p = inner.get_permutation()
        composed = [p[i] for i in op.get_permutation()]
        if composed == list(range(len(composed))):
            rewriter.replace(op, [], [inner.input])
        else:
            rewriter.replace(op, axh.TransposeOp(inner.input, composed))


class FoldIdentityTranspose(RewritePattern):
    """transpose(x, [0, 1, ..., n-1]) -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.TransposeOp, rewriter: PatternRewriter, /):
        perm = op.get_permutation()
        if list(perm) == list(range(len(perm))):
            rewriter.replace(op, [], [op.input])


class FoldFullSlice(RewritePattern):
    """A slice that keeps every element -> its input. That is exactly when the result type
    equals the input type: [0:dim:1], or any step on a dimension of size 1 (a verified slice
    with step >= 2 on a longer dimension drops elements, so its type differs)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.SliceOp, rewriter: PatternRewriter, /):
        if op.result.type == op.input.type:
            rewriter.replace(op, [], [op.input])


class FoldIdentityCast(RewritePattern):
    """cast(x) to x's own type -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.CastOp, rewriter: PatternRewriter, /):
        if op.result.type == op.input.type:
            rewriter.replace(op, [], [op.input])


class FoldIdentityBroadcast(RewritePattern):
    """broadcast(x) to x's own type -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.BroadcastOp, rewriter: PatternRewriter, /):
        if op.result.type == op.input.type:
            rewriter.replace(op, [], [op.input])
