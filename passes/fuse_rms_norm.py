"""fuse-rms-norm: raise the written-out RMSNorm of Hugging Face models to `axh.rms_norm`.

HF's RMSNorm modules (llama, qwen2, phi3, gemma's with `1 + weight`, gemma3's per-head
q_norm/k_norm) arrive from ATen as square (or pow 2), mean over the last axis, add epsilon,
rsqrt and two muls, with casts to f32 and back when the model is not f32.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import BFloat16Type, Float16Type, Float32Type, ModuleOp
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from axc.dialects import axh
from axc.passes.canonicalize_axh import splat_value


def _shape(value: SSAValue) -> tuple[int, ...]:
    return value.type.get_shape()  # type: ignore[attr-defined]


def _element(value: SSAValue) -> Attribute:
    return value.type.element_type  # type: ignore[attr-defined]


def _operand_pairs(op: Operation) -> tuple[tuple[SSAValue, SSAValue], ...]:
    """Both orders of a commutative binary op's operands."""
    lhs, rhs = op.operands
    return ((lhs, rhs), (rhs, lhs))


def _widened(value: SSAValue) -> list[SSAValue]:
    """`value` and the values it was cast from, outermost first, following casts to f32 only
    (HF's `.to(torch.float32)`; casting bf16/f16 to f32 is exact)."""
    chain = [value]
    while (
        isinstance(op := chain[-1].owner, axh.CastOp)
        and isinstance(_element(op.result), Float32Type)
        and isinstance(_element(op.input), Float32Type | BFloat16Type | Float16Type)
    ):
        chain.append(op.input)
    return chain


def _is_square_of(value: SSAValue, x: SSAValue) -> bool:
    """square(x), pow(x, 2) or x * x."""
    op = value.owner
    if isinstance(op, axh.UnaryOp):
        return op.kind.data == axh.UnaryKind.SQUARE and op.input == x
    if isinstance(op, axh.BinaryOp):
        return op.kind.data == axh.BinaryKind.POW and op.lhs == x and splat_value(op.rhs) == 2
    return isinstance(op, axh.MulOp) and op.lhs == x and op.rhs == x


def _rms_scale(value: SSAValue) -> tuple[SSAValue, float] | None:
    """(x, eps) when value is rsqrt(mean(x^2, last axis, keepdim) + eps)."""
    rsqrt = value.owner
    if not isinstance(rsqrt, axh.UnaryOp) or rsqrt.kind.data != axh.UnaryKind.RSQRT:
        return None
    add = rsqrt.input.owner
    if not isinstance(add, axh.AddOp):
        return None
    for mean, eps_value in _operand_pairs(add):
        eps = splat_value(eps_value)
        reduce = mean.owner
        if (
            eps is None
            or not eps > 0
            or mean.type != add.result.type  # eps must not broadcast the mean
            or not isinstance(reduce, axh.ReduceOp)
            or reduce.kind.data != axh.ReduceKind.MEAN
            or reduce.keepdim is None
        ):
            continue
        square = reduce.input.owner
        if not isinstance(square, axh.UnaryOp | axh.BinaryOp | axh.MulOp):
            continue
        x = square.operands[0]
        rank = len(_shape(x))
        if tuple(reduce.axes.get_values()) == (rank - 1,) and _is_square_of(reduce.input, x):
            return x, float(eps)
    return None


def _normalized(value: SSAValue) -> tuple[SSAValue, float] | None:
    """(x, eps) when value is x * rsqrt(mean(x^2, -1, keepdim) + eps), in either order, with
    the result of x's shape (the scale broadcasts over the last axis only)."""
    op = value.owner
    if not isinstance(op, axh.MulOp):
        return None
    for x, scale in _operand_pairs(op):
        found = _rms_scale(scale)
        if found is not None and found[0] == x and x.type == op.result.type:
            return found
    return None


def _scale_weight(value: SSAValue) -> tuple[SSAValue, float] | None:
    """(w, weight_offset): (w, 1.0) when value is w + 1 or 1 + w with a splat 1 (gemma stores
    weight - 1), else (value, 0.0); w must be rank 1 (it may be cast to f32)."""
    op = value.owner
    if isinstance(op, axh.AddOp):
        for w, one in _operand_pairs(op):
            if splat_value(one) == 1 and w.type == op.result.type and len(_shape(w)) == 1:
                return w, 1.0
    return (value, 0.0) if len(_shape(value)) == 1 else None


@dataclass(frozen=True)
class _Match:
    x: SSAValue
    """the input as the mean and the mul read it (cast to f32 when the model is not f32)"""
    weight: SSAValue
    epsilon: float
    weight_offset: float


def _match_norm(op: axh.MulOp) -> _Match | None:
    """The RMSNorm that ends in `op`: normalized(x) * weight in either order, the normalized
    value possibly cast first (llama: `weight * hidden_states.to(input_dtype)`)."""
    for normed, scale in _operand_pairs(op):
        found = _normalized(normed)
        if found is None and isinstance(normed.owner, axh.CastOp):
            found = _normalized(normed.owner.input)
        weight = _scale_weight(scale)
        if found is None or weight is None:
            continue
        x, eps = found
        if _shape(weight[0])[0] == _shape(x)[-1] and _shape(op.result) == _shape(x):
            return _Match(x, weight[0], eps, weight[1])
    return None


def _end_and_input(op: axh.MulOp, x: SSAValue) -> tuple[Operation, SSAValue] | None:
    """Which op the norm replaces and which value it normalizes: the cast of `op` back to the
    un-widened input's type when that is op's only user (gemma: `output.type_as(x)`), else
    `op` itself, each with the value of x's cast chain that has that op's result type."""
    ends: list[Operation] = [op]
    users = [use.operation for use in op.result.uses]
    if len(users) == 1 and isinstance(users[0], axh.CastOp):
        ends.insert(0, users[0])
    for end in ends:
        for source in _widened(x):
            if source.type == end.results[0].type:
                return end, source
    return None


class FuseRMSNorm(RewritePattern):
    """x * rsqrt(mean(x^2, -1, keepdim) + eps) * (w | w + 1) -> rms_norm(x, w) {epsilon,
    weight_offset}, rooted at the weight mul, with HF's casts to f32 and back absorbed. The
    fused op computes in f32 and rounds once; HF (llama, non-f32) also rounds the normalized
    value before the weight mul, so the fused form is the same formula, at least as precise.

    The matched chain may have other users; they keep it (only the norm's end is replaced),
    so the rewrite never changes what another op reads."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.MulOp, rewriter: PatternRewriter, /):
        match = _match_norm(op)
        if match is None:
            return
        found = _end_and_input(op, match.x)
        if found is None:
            return
        end, x = found
        weight = next((w for w in _widened(match.weight) if _element(w) == _element(x)), None)
        if weight is None:
            return
        rewriter.replace(end, axh.RMSNormOp(x, weight, match.epsilon, match.weight_offset))


@dataclass(frozen=True)
class FuseRMSNormPass(ModulePass):
    """Raise written-out RMSNorm to `axh.rms_norm`.

    Afterwards every `x * rsqrt(mean(x^2 or pow(x, 2), last axis, keepdim) + eps)` multiplied
    by a rank-1 weight `w` (or gemma's `w + 1`, in either operand order) over x's last
    dimension is one `axh.rms_norm(x, w) {epsilon = eps, weight_offset = 0 or 1}`, with
    HF's casts to f32 around it absorbed; its rsqrt chain is gone unless something else reads
    it. The norm may be over any rank (gemma3's per-head q_norm/k_norm are rank 4).
    """

    name = "fuse-rms-norm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(GreedyRewritePatternApplier([FuseRMSNorm()]))
        walker.rewrite_module(op)
