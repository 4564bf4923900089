"""fuse-rope: raise Hugging Face's `apply_rotary_pos_emb` to `axh.rope`.

The import is literal, so RoPE arrives as `q * cos + rotate_half(q) * sin` with
`rotate_half(x) = concat(-x[..., D/2:], x[..., :D/2])` and cos/sin [B, 1, T, D] (HF's
`unsqueeze(1)`, broadcast over the heads); phi's partial rotary wraps it as
`concat(rope(q[..., :R]), q[..., R:])`. The cos/sin computation itself (inv_freq * positions,
cos, sin) stays generic: it is exact as it is and shared by q and k.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from axc.dialects import axh


def _shape(value: SSAValue) -> tuple[int, ...]:
    return tuple(value.type.get_shape())  # type: ignore[attr-defined]


def _last_axis_view(value: SSAValue) -> tuple[SSAValue, int, int]:
    """(root, start, end): `value` is `root[..., start:end]` through unit-step slices of the
    last axis (so `x[..., :8][..., 4:8]` and `x[..., 4:8]` compare equal)."""
    start, end = 0, _shape(value)[-1]
    while isinstance(op := value.owner, axh.SliceOp):
        rank = len(_shape(op.input))
        if op.axis.value.data != rank - 1 or op.step.value.data != 1:
            break
        offset = op.start.value.data
        start, end = start + offset, end + offset
        value = op.input
    return value, start, end


def _rotated_view(value: SSAValue) -> tuple[SSAValue, int, int] | None:
    """The view (root, start, end) that `value` rotates when it is a single-use
    `concat(neg(x[..., D/2:]), x[..., :D/2])` along the last axis with a single-use neg,
    else None."""
    concat = value.owner
    if not isinstance(concat, axh.ConcatOp) or not value.has_one_use():
        return None
    rank = len(_shape(value))
    if concat.axis.value.data != rank - 1 or len(concat.inputs) != 2:
        return None
    negated, low = concat.inputs
    neg = negated.owner
    if (
        not isinstance(neg, axh.UnaryOp)
        or neg.kind.data != axh.UnaryKind.NEG
        or not negated.has_one_use()
    ):
        return None
    root, start, mid = _last_axis_view(low)
    end = 2 * mid - start
    if mid == start or _last_axis_view(neg.input) != (root, mid, end):
        return None
    return root, start, end


def _heads_free_table(
    table: SSAValue, x_shape: tuple[int, ...]
) -> tuple[list[Operation], SSAValue] | None:
    """(new ops, table): a cos/sin factor of x [B, H, T, D] as RoPE's [B, T, D] table, or
    None when it is not one: it must broadcast to x's shape without growing it and be the
    same for every head (size 1 on the head axis), as HF's `cos.unsqueeze(1)` is."""
    b, _, t, d = x_shape
    shape = _shape(table)
    if len(shape) > 4:
        return None
    aligned = (1,) * (4 - len(shape)) + shape
    if aligned[1] != 1 or any(s not in (1, n) for s, n in zip(aligned, x_shape, strict=True)):
        return None
    ops: list[Operation] = []
    squeezed = (aligned[0], aligned[2], aligned[3])
    # Strip the unsqueeze: a reshape chain keeps the data, so read its [B, T, D] source.
    source = table
    while _shape(source) != squeezed and isinstance(source.owner, axh.ReshapeOp):
        source = source.owner.input
    if _shape(source) != squeezed:
        ops.append(axh.ReshapeOp(table, squeezed))
    if squeezed != (b, t, d):
        ops.append(axh.BroadcastOp(ops[-1] if ops else source, (b, t, d)))
    return ops, (ops[-1].results[0] if ops else source)


def _factors(product: SSAValue) -> list[tuple[SSAValue, SSAValue]]:
    """Both (factor, other) orders of a single-use `axh.mul`, else none."""
    op = product.owner
    if not isinstance(op, axh.MulOp) or not product.has_one_use():
        return []
    return [(op.lhs, op.rhs), (op.rhs, op.lhs)]


class FuseRotateHalfRope(RewritePattern):
    """`x * cos + rotate_half(x) * sin` (mul and add in either order) -> `axh.rope(x, cos,
    sin)` with cos/sin reshaped to [B, T, D]. x is [B, H, T, D] and the rotate_half reads
    exactly x's two halves. Rewrites only when the products, the concat and the neg have
    no other users, so nothing is computed twice."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.AddOp, rewriter: PatternRewriter, /):
        x_shape = _shape(op.result)
        if len(x_shape) != 4:
            return
        for cos_term, sin_term in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            for rotated, sin in _factors(sin_term):
                view = _rotated_view(rotated)
                if view is None:
                    continue
                for x, cos in _factors(cos_term):
                    if _shape(x) != x_shape or _last_axis_view(x) != view:
                        continue
                    cos_table = _heads_free_table(cos, x_shape)
                    sin_table = _heads_free_table(sin, x_shape)
                    if cos_table is None or sin_table is None:
                        continue
                    rope = axh.RopeOp(x, cos_table[1], sin_table[1])
                    rewriter.replace(op, [*cos_table[0], *sin_table[0], rope])
                    return


class FusePartialRope(RewritePattern):
    """`concat(rope(x[..., :R]), x[..., R:])` along the last axis (phi's partial rotary) ->
    `axh.rope(x)` with rotary_dim R, when the inner rope rotates its whole input and has no
    other user."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.ConcatOp, rewriter: PatternRewriter, /):
        shape = _shape(op.result)
        if len(shape) != 4 or op.axis.value.data != 3 or len(op.inputs) != 2:
            return
        rotated, passed = op.inputs
        rope = rotated.owner
        if (
            not isinstance(rope, axh.RopeOp)
            or rope.interleaved is not None
            or not rotated.has_one_use()
        ):
            return
        rotary_dim = rope.rotary_dim.value.data
        if rotary_dim != _shape(rope.input)[-1]:
            return
        root, start, end = _last_axis_view(rope.input)
        if start != 0 or _shape(root) != shape:
            return
        if _last_axis_view(passed) != (root, end, shape[-1]):
            return
        rewriter.replace(op, axh.RopeOp(root, rope.cos, rope.sin))


@dataclass(frozen=True)
class FuseRopePass(ModulePass):
    """Raise rotate_half RoPE (full and partial) to `axh.rope`.

    Postcondition: every `x * cos + rotate_half(x) * sin` on a [B, H, T, D] x whose cos/sin
    are the same for all heads, and whose products, neg and concat have no other users, is
    an `axh.rope` (rotary_dim D) reading [B, T, D] tables; every
    `concat(rope(x[..., :R]), x[..., R:])` is one `axh.rope` of x with rotary_dim R. The
    rotate_half ops they used are gone unless something else reads them (dead ops are
    erased on the way). axh.rope is defined by the same products and sum, so results are
    unchanged.
    """

    name = "fuse-rope"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = GreedyRewritePatternApplier([FuseRotateHalfRope(), FusePartialRope()])
        PatternRewriteWalker(patterns).rewrite_module(op)
