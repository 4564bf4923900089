"""Canonicalization patterns of the axh dialect, applied by xDSL's `canonicalize` pass.

The ops declare these patterns through `HasCanonicalizationPatternsTrait` subclasses in
`axc.dialects.axh`, which import this module lazily. After `-p canonicalize`:
- no reshape feeds a reshape and no transpose feeds a transpose;
- no reshape, transpose, slice, cast or broadcast returns its operand unchanged;
- no add or sub of a splat 0 and no mul or div by a splat 1 keeps its other operand's type
  (those return the operand itself);
- unused axh ops are gone (they are all Pure, and canonicalize removes dead Pure ops).
"""

from __future__ import annotations

from xdsl.ir import SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from axc.dialects import axh


def splat_value(value: SSAValue) -> float | int | None:
    """The element of `value` when it is a splat `axh.constant` (every element equal), else
    None. The raising passes use it too, to read epsilons and the constants of written-out
    formulas."""
    op = value.owner
    if not isinstance(op, axh.ConstantOp):
        return None
    values = op.value.get_values()
    if not values or values.count(values[0]) != len(values):
        return None
    return values[0]  # type: ignore[return-value]


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


def _fold_to_operand(
    op: axh.AddOp | axh.SubOp | axh.MulOp | axh.DivOp,
    rewriter: PatternRewriter,
    identity: float,
    commutative: bool,
) -> None:
    """Replace `op` by the operand that `identity` (a splat on the other side) leaves as it is,
    when that operand already has the result's type (so broadcasting changes nothing)."""
    pairs = [(op.lhs, op.rhs), (op.rhs, op.lhs)] if commutative else [(op.lhs, op.rhs)]
    for kept, other in pairs:
        if kept.type == op.result.type and splat_value(other) == identity:
            rewriter.replace(op, [], [kept])
            return


class FoldAddZero(RewritePattern):
    """x + 0 -> x (either order). Exact except that -0.0 + 0.0 is +0.0 in IEEE arithmetic;
    like fast-math's no-signed-zeros we keep -0.0, which no transformer can tell apart."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.AddOp, rewriter: PatternRewriter, /):
        _fold_to_operand(op, rewriter, 0, commutative=True)


class FoldSubZero(RewritePattern):
    """x - 0 -> x (exact, signed zeros included)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.SubOp, rewriter: PatternRewriter, /):
        _fold_to_operand(op, rewriter, 0, commutative=False)


class FoldMulOne(RewritePattern):
    """x * 1 -> x (either order; exact). Real traces multiply cos/sin by HF's
    attention_scaling, which is 1.0 for plain RoPE."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.MulOp, rewriter: PatternRewriter, /):
        _fold_to_operand(op, rewriter, 1, commutative=True)


class FoldDivOne(RewritePattern):
    """x / 1 -> x (exact)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.DivOp, rewriter: PatternRewriter, /):
        _fold_to_operand(op, rewriter, 1, commutative=False)
