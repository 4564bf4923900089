"""fuse-linear: raise `matmul(x, transpose(weight))` (+ bias) to `axh.linear`.

torch.export decomposes `nn.Linear` into `permute(weight, [1, 0])`, `mm` (or `addmm`, which the
importer writes as matmul + add) and the reshapes that flatten the input to 2-D and restore the
result's rank. Lowering and quantization want the layer itself, with the weight as stored.
"""

from __future__ import annotations

import math
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
from axc.passes.canonicalize_axh import FoldIdentityReshape, FoldReshapeOfReshape


def _shape(value: SSAValue) -> tuple[int, ...]:
    return value.type.get_shape()  # type: ignore[attr-defined]


def _stored_weight(rhs: SSAValue, transpose_b: bool) -> SSAValue | None:
    """The [N, K] `axh.weight` that `rhs` ([K, N], or [N, K] with transpose_b) reads, if any.

    Only weights qualify: a transposed activation is a batched product (gemma2's eager
    attention), not a layer, and a weight stored [K, N] would have to be transposed."""
    if not transpose_b:
        op = rhs.owner
        if not isinstance(op, axh.TransposeOp) or op.get_permutation() != (1, 0):
            return None
        rhs = op.input
    return rhs if isinstance(rhs.owner, axh.WeightOp) and len(_shape(rhs)) == 2 else None


def _keeps_last_dim(op: Operation) -> bool:
    """A reshape that keeps the last dimension only regroups whole rows, so a row-wise op
    (linear, bias add) commutes with it."""
    return (
        isinstance(op, axh.ReshapeOp)
        and len(_shape(op.input)) >= 1
        and len(_shape(op.result)) >= 1
        and _shape(op.input)[-1] == _shape(op.result)[-1]
    )


class MatmulToLinear(RewritePattern):
    """matmul(x [..., M, K], transpose(w [N, K], [1, 0])) -> linear(x, w), also for
    matmul(x, w) {transpose_b}. The transpose stays if something else reads it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.MatmulOp, rewriter: PatternRewriter, /):
        if len(_shape(op.rhs)) != 2:  # a rank-2 rhs broadcasts over x's batch dimensions
            return
        weight = _stored_weight(op.rhs, op.transpose_b is not None)
        if weight is None:
            return
        linear = axh.LinearOp(op.lhs, weight)
        if linear.result.type != op.result.type:
            return
        rewriter.replace(op, linear)


class AbsorbBias(RewritePattern):
    """add(linear(x, w), b [N]) -> linear(x, w, b), either operand order, also when a
    reshape that keeps the last dimension sits between the linear and the add (the bias is
    added to each row either way). The linear must have no other user."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.AddOp, rewriter: PatternRewriter, /):
        for value, bias in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            if value.type != op.result.type or len(_shape(bias)) != 1:
                continue
            reshape = value.owner if _keeps_last_dim(value.owner) else None
            if reshape is not None and not reshape.result.has_one_use():
                continue
            inner = reshape.input if reshape is not None else value
            linear = inner.owner
            if (
                not isinstance(linear, axh.LinearOp)
                or linear.bias is not None
                or not linear.result.has_one_use()
                or _shape(bias)[0] != _shape(linear.weight)[0]
            ):
                continue
            new_ops: list[Operation] = [axh.LinearOp(linear.input, linear.weight, bias)]
            if reshape is not None:
                new_ops.append(axh.ReshapeOp(new_ops[0].results[0], _shape(op.result)))
            rewriter.replace(op, new_ops)
            return


def _rows_shape(shape: tuple[int, ...], k: int) -> tuple[int, ...] | None:
    """`shape` with its trailing dimensions merged into one of size k, keeping as many leading
    dimensions as possible ([1, 5, 4, 16], 64 -> [1, 5, 64]); None if no suffix makes k."""
    for j in range(len(shape) - 1, -1, -1):
        if math.prod(shape[j:]) == k:
            return (*shape[:j], k)
    return None


class HoistReshapeInput(RewritePattern):
    """linear(reshape(y -> [M, K])) -> reshape(linear(y' [..., K])): a linear acts on each
    row of K, so the flattening reshape ATen inserts moves to the result, where it meets (and,
    with this pass's reshape folds, cancels) the reshape restoring the original rank. y' is y
    when y already ends in K, else y with its trailing dimensions merged into K (the heads of
    an attention output, [B, T, H, D] -> [B, T, H*D]); the rank never drops."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.LinearOp, rewriter: PatternRewriter, /):
        reshape = op.input.owner
        if not isinstance(reshape, axh.ReshapeOp):
            return
        source = reshape.input
        rows = _rows_shape(_shape(source), _shape(op.input)[-1])
        if rows is None or rows == _shape(op.input) or len(rows) < len(_shape(op.input)):
            return
        new_ops: list[Operation] = []
        if rows != _shape(source):
            new_ops.append(axh.ReshapeOp(source, rows))
            source = new_ops[-1].results[0]
        new_ops.append(linear := axh.LinearOp(source, op.weight, op.bias))
        new_ops.append(axh.ReshapeOp(linear.result, _shape(op.result)))
        rewriter.replace(op, new_ops)


@dataclass(frozen=True)
class FuseLinearPass(ModulePass):
    """Raise ATen's decomposed `nn.Linear` to `axh.linear`.

    Afterwards no `axh.matmul` has a rank-2 rhs that is an `axh.weight` transposed by [1, 0]
    (or used directly with transpose_b): each is an `axh.linear` reading the weight as stored
    ([N, K]), with the rank-1 bias absorbed when the bias add was its only user, applied to
    the un-flattened input ([..., K] -> [..., N]). A linear still reads a reshape only when
    the reshape's source cannot be viewed as rows of K at the same or a higher rank. Products
    of two activations (attention's bmm) are untouched.
    """

    name = "fuse-linear"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = [
            MatmulToLinear(),
            AbsorbBias(),
            HoistReshapeInput(),
            FoldIdentityReshape(),
            FoldReshapeOfReshape(),
        ]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
