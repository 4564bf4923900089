"""fuse-attention: raise the imported attention forms to one `axh.attention` each.

What the import leaves (see axc/frontend/trace.py): sdpa is already `axh.attention`, but its
k and v are HF's `repeat_kv` copies (one per query head) although axh.attention groups KV
heads itself; gemma2 has no sdpa path (soft-capping), so its attention is the eager
`matmul -> scale -> tanh soft-cap -> + mask -> softmax -> matmul`; sliding-window layers
build their window mask in-graph from `indices`, which this pass leaves generic but reads to
state the window on the attention op.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import (
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    ModuleOp,
)
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

#: The runtime's additive "hidden" mask value (axc.frontend.trace.MASK_VALUE); a select that
#: writes this or anything lower hides the key as the runtime mask itself does.
HIDDEN_MASK_VALUE = -65536.0


def _shape(value: SSAValue) -> tuple[int, ...]:
    return tuple(value.type.get_shape())  # type: ignore[attr-defined]


def _element(value: SSAValue):
    return value.type.element_type  # type: ignore[attr-defined]


def _splat(value: SSAValue) -> float | int | None:
    """The value of an `axh.constant` whose every element is equal and whose dimensions are
    all 1 (so it broadcasts without growing anything), else None."""
    op = value.owner
    if not isinstance(op, axh.ConstantOp) or any(d != 1 for d in _shape(value)):
        return None
    attr = op.value
    assert isinstance(attr, DenseIntOrFPElementsAttr)
    return attr.get_values()[0]  # type: ignore[return-value]


def _positive_splat(value: SSAValue) -> float | None:
    scalar = _splat(value)
    if isinstance(scalar, float) and math.isfinite(scalar) and scalar > 0:
        return scalar
    return None


def _single_user(value: SSAValue, cls: type[Operation]) -> Operation | None:
    """value's defining op if it is a `cls` and value has no other user."""
    op = value.owner
    return op if isinstance(op, cls) and value.has_one_use() else None


def _through_reshapes(value: SSAValue) -> Iterator[SSAValue]:
    """The values `value` is a reshape (or identity broadcast) of, nearest first.

    A reshape keeps the row-major order, so every one of them holds the same data."""
    while True:
        yield value
        op = value.owner
        if isinstance(op, axh.ReshapeOp) or (
            isinstance(op, axh.BroadcastOp) and op.result.type == op.input.type
        ):
            value = op.input
        else:
            return


def _as_4d(value: SSAValue, shape: Sequence[int]) -> tuple[list[Operation], SSAValue]:
    """`value` (of the same element count) as [B, H, X, Y]: the nearest reshape-ancestor of
    that shape, else a new reshape (exact either way: reshapes keep row-major order)."""
    for candidate in _through_reshapes(value):
        if _shape(candidate) == tuple(shape):
            return [], candidate
    reshape = axh.ReshapeOp(value, shape)
    return [reshape], reshape.result


def _same_up_to_unit_dims(a: Sequence[int], b: Sequence[int]) -> bool:
    """A reshape between these shapes only adds or drops size-1 axes, so element
    [i, j, ...] of the non-unit axes stays where it was."""
    return [d for d in a if d != 1] == [d for d in b if d != 1]


def _rebuild(op: axh.AttentionOp, **changes) -> axh.AttentionOp:
    """A copy of `op` with some operands or attributes changed."""
    args = {
        "query": op.query,
        "key": op.key,
        "value": op.value,
        "mask": op.mask,
        "scale": op.scale,
        "softcap": op.softcap,
        "sliding_window": op.sliding_window,
    }
    args.update(changes)
    return axh.AttentionOp(**args)


# -- (a) GQA: drop repeat_kv ------------------------------------------------------------------


def _unrepeated(value: SSAValue) -> tuple[list[Operation], SSAValue, int] | None:
    """For HF's `repeat_kv`, `reshape(broadcast(x as [B, Hkv, 1, S, D] -> [B, Hkv, n, S, D])
    -> [B, Hkv*n, S, D])` (reshapes possibly chained or folded): (ops building x as
    [B, Hkv, S, D], that value, n). Repeated head j is KV head j // n, the grouping
    axh.attention applies itself."""
    spread = list(_through_reshapes(value))[-1].owner
    if not isinstance(spread, axh.BroadcastOp) or len(_shape(value)) != 4:
        return None
    b, heads, s, d = _shape(value)
    rep = _shape(spread.result)
    if len(rep) != 5 or rep[:2] + rep[3:] != (b, rep[1], s, d) or rep[1] * rep[2] != heads:
        return None
    hkv, n = rep[1], rep[2]
    if _shape(spread.input) != (b, hkv, 1, s, d):
        return None
    ops, x = _as_4d(spread.input, (b, hkv, s, d))
    return ops, x, n


class DropRepeatKV(RewritePattern):
    """`attention(q, repeat_kv(k, n), repeat_kv(v, n))` -> `attention(q, k, v)`: query head h
    read repeated head h // m, that is KV head h // (m * n), which is what axh.attention
    computes from the un-repeated heads. k and v must both be repeated n times; the repeat
    chain stays if something else reads it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.AttentionOp, rewriter: PatternRewriter, /):
        key, value = _unrepeated(op.key), _unrepeated(op.value)
        if key is None or value is None or key[2] != value[2]:
            return
        (key_ops, k, _), (value_ops, v, _) = key, value
        rewriter.replace(op, [*key_ops, *value_ops, _rebuild(op, key=k, value=v)])


# -- (b) eager attention (gemma2) -------------------------------------------------------------


@dataclass
class _Scores:
    """`scores = softcap?(q @ k^T * scale)`, matched backwards from the scores value; `ops`
    build q or k as [B, H, ., D] when only their flattened [B*H, ., D] form exists."""

    ops: list[Operation]
    query: SSAValue
    key: SSAValue
    scale: float
    softcap: float | None


def _match_softcap(value: SSAValue) -> tuple[SSAValue, float | None]:
    """(x, c) for a single-use `tanh(x / c) * c` (mul in either order), else (value, None)."""
    if (mul := _single_user(value, axh.MulOp)) is not None:
        for tanh_value, cap in ((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)):
            tanh = _single_user(tanh_value, axh.UnaryOp)
            outer = _positive_splat(cap)
            if tanh is None or tanh.kind.data != axh.UnaryKind.TANH or outer is None:
                continue
            div = _single_user(tanh.input, axh.DivOp)
            if div is not None and _positive_splat(div.rhs) == outer:
                return div.lhs, outer
    return value, None


def _match_scale(value: SSAValue) -> tuple[SSAValue, float]:
    """(x, s) for a single-use `x * s` (either order) or `x / (1/s)` with a positive scalar
    constant, else (value, 1.0)."""
    if (mul := _single_user(value, axh.MulOp)) is not None:
        for x, factor in ((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)):
            if (scale := _positive_splat(factor)) is not None:
                return x, scale
    if (div := _single_user(value, axh.DivOp)) is not None:
        if (divisor := _positive_splat(div.rhs)) is not None:
            return div.lhs, 1.0 / divisor
    return value, 1.0


def _transposed_key(value: SSAValue, shape: Sequence[int]) -> SSAValue | None:
    """k when `value` is a reshape of `transpose(k, [0, 1, 3, 2])` of `shape` [B, H, D, S]."""
    for candidate in _through_reshapes(value):
        op = candidate.owner
        if _shape(candidate) == tuple(shape) and isinstance(op, axh.TransposeOp):
            return op.input if op.get_permutation() == (0, 1, 3, 2) else None
    return None


def _match_scores(value: SSAValue) -> _Scores | None:
    """q [B, H, T, D] and k [B, H, S, D] of `softcap?(matmul(q, k^T) * scale)` with value
    [B, H, T, S]; k^T is `transpose(k, [0, 1, 3, 2])` or the matmul's transpose_b. The
    matmul is rank 4 or HF's bmm over [B*H, ., .] reshapes."""
    b, h, t, s = _shape(value)
    scaled, softcap = _match_softcap(value)
    product, scale = _match_scale(scaled)
    if _shape(product) != (b, h, t, s):
        return None
    chain = list(_through_reshapes(product))
    matmul = chain[-1].owner
    if not isinstance(matmul, axh.MatmulOp) or any(not v.has_one_use() for v in chain):
        return None
    lhs, rhs = _shape(matmul.lhs), _shape(matmul.rhs)
    if lhs[:-2] != rhs[:-2] or math.prod(lhs[:-2]) != b * h or lhs[-2] != t:
        return None  # a broadcasting bmm is not one product per (batch, head)
    d = lhs[-1]
    ops, q = _as_4d(matmul.lhs, (b, h, t, d))
    if matmul.transpose_b is not None:
        key_ops, k = _as_4d(matmul.rhs, (b, h, s, d))
        ops += key_ops
    elif (k := _transposed_key(matmul.rhs, (b, h, d, s))) is None:
        return None
    return _Scores(ops, q, k, scale, softcap)


def _attention_mask(
    mask: SSAValue, scores: tuple[int, ...]
) -> tuple[list[Operation], SSAValue] | None:
    """Ops making an additive mask that broadcasts into scores [B, H, T, S] one of
    axh.attention's forms [B, 1 or H, T, S], or None when it does not broadcast."""
    shape = _shape(mask)
    if len(shape) > 4:
        return None
    aligned = (1,) * (4 - len(shape)) + shape
    if any(m not in (1, n) for m, n in zip(aligned, scores, strict=True)):
        return None
    b, _, t, s = scores
    target = (b, aligned[1], t, s)
    ops: list[Operation] = []
    if aligned != shape:
        ops.append(axh.ReshapeOp(mask, aligned))
    if aligned != target:
        ops.append(axh.BroadcastOp(ops[-1] if ops else mask, target))
    return ops, (ops[-1].results[0] if ops else mask)


def _is_float(value: SSAValue) -> bool:
    return isinstance(_element(value), Float32Type | BFloat16Type | Float16Type)


def _skip_float_cast(value: SSAValue) -> SSAValue:
    """The input of a single-use float-to-float cast (HF's `softmax(x, dtype=float32)
    .to(dtype)`), else value: axh.attention's softmax is f32 anyway."""
    cast = _single_user(value, axh.CastOp)
    if cast is not None and _is_float(cast.input) and _is_float(value):
        return cast.input
    return value


class FuseEagerAttention(RewritePattern):
    """`matmul(softmax(softcap?(matmul(q, k^T) * scale) + mask), v)` -> `axh.attention(q, k,
    v, mask) {scale, softcap}`, matched at the second matmul (bmm over [B*H, ...] views of
    [B, H, ...] tensors or rank 4). The score chain must have no other users. Float casts
    around the softmax are dropped since axh.attention's softmax is f32; `x / c` becomes
    scale 1/c rounded to f32 (exact when c is a power of two, as HF's usual sqrt(head_dim)
    for head_dim 4^k)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.MatmulOp, rewriter: PatternRewriter, /):
        lhs, rhs = _shape(op.lhs), _shape(op.rhs)
        if op.transpose_b is not None or lhs[:-2] != rhs[:-2]:
            return
        t, s, dv = lhs[-2], lhs[-1], rhs[-1]
        # The probabilities [B, H, T, S], maybe flattened to [B*H, T, S] for bmm.
        chain = list(_through_reshapes(op.lhs))
        probs = next((p for p in chain if len(_shape(p)) == 4 and _shape(p)[2:] == (t, s)), None)
        if probs is None or any(not p.has_one_use() for p in chain):
            return
        b, h = _shape(probs)[:2]
        if b * h != math.prod(lhs[:-2]):
            return
        softmax = _single_user(_skip_float_cast(probs), axh.SoftmaxOp)
        if softmax is None or softmax.axis.value.data != 3:
            return
        add = _single_user(_skip_float_cast(softmax.input), axh.AddOp)
        if add is None:
            return
        for scores_value, mask in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            if _shape(scores_value) != _shape(add.result):
                continue
            scores = _match_scores(scores_value)
            mask_ops = _attention_mask(mask, _shape(add.result))
            if scores is None or mask_ops is None:
                continue
            if _element(scores.query) != _element(op.result):
                continue
            value_ops, v = _as_4d(op.rhs, (b, h, s, dv))
            ops, mask_value = mask_ops
            attention = axh.AttentionOp(
                scores.query, scores.key, v, mask_value, scores.scale, scores.softcap
            )
            ops = [*scores.ops, *value_ops, *ops, attention]
            if _shape(op.result) != _shape(attention.result):
                ops.append(axh.ReshapeOp(attention, _shape(op.result)))
            rewriter.replace(op, ops)
            return


# -- (c) sliding window -----------------------------------------------------------------------


def _positions_root(value: SSAValue, shape: Sequence[int]) -> SSAValue | None:
    """The rank-2 [B, N] value that `value` (of `shape` up to unit axes) reshapes."""
    for candidate in _through_reshapes(value):
        if len(_shape(candidate)) == 2:
            return candidate if _same_up_to_unit_dims(_shape(candidate), shape) else None
    return None


def _key_positions_match(keys: SSAValue, positions: SSAValue) -> bool:
    """keys [1, S] is the positions trace.py gives the key rows: cache row r holds position
    r and the new rows hold `positions`, i.e. `concat(iota(0..kv_len-1), positions)` (just
    `positions` when the cache is empty)."""
    if keys is positions:
        return True
    concat = keys.owner
    if not isinstance(concat, axh.ConcatOp) or concat.axis.value.data != 1:
        return False
    if len(concat.inputs) != 2 or concat.inputs[1] is not positions:
        return False
    history = list(_through_reshapes(concat.inputs[0]))[-1].owner
    return (
        isinstance(history, axh.IotaOp)
        and history.start.value.data == 0
        and history.step.value.data == 1
        and _shape(concat.inputs[0]) == (1, _shape(history.result)[0])
    )


def _window(cond: SSAValue, mask_shape: Sequence[int], hide_when_true: bool) -> int | None:
    """W when `cond` (broadcast into the mask [B, 1 or H, T, S]) is `q_pos - k_pos >= W`
    (`hide_when_true`) or `q_pos - k_pos < W` (else), with q_pos the query positions and
    k_pos the key positions of the runtime layout; else None."""
    *_, t, s = mask_shape
    compare_value = list(_through_reshapes(cond))[-1]
    compare = compare_value.owner
    if not isinstance(compare, axh.CompareOp):
        return None
    bound = _splat(compare.rhs)
    if not isinstance(bound, int) or isinstance(bound, bool):
        return None
    predicate = compare.predicate.data
    offsets = {True: {"ge": 0, "gt": 1}, False: {"lt": 0, "le": 1}}[hide_when_true]
    if predicate not in offsets:
        return None
    window = bound + offsets[predicate]
    distance = compare.lhs
    sub = distance.owner
    if not isinstance(sub, axh.SubOp) or len(_shape(distance)) != 3:
        return None
    # distance [B, T, S] = q_pos [B, T, 1] - k_pos [B, 1, S], reshaped into the mask's
    # [.., 1, T, S] without moving its axes.
    cond_shape = (1,) * (4 - len(_shape(cond))) + _shape(cond)
    if cond_shape[1] != 1 or cond_shape[2:] != (t, s):
        return None
    if not _same_up_to_unit_dims(_shape(distance), cond_shape):
        return None
    if _shape(distance)[1:] != (t, s) or _shape(compare_value) != _shape(distance):
        return None
    queries = _positions_root(sub.lhs, _shape(sub.lhs))
    keys = _positions_root(sub.rhs, _shape(sub.rhs))
    if queries is None or keys is None:
        return None
    if _shape(sub.lhs)[1:] != (t, 1) or _shape(sub.rhs)[1:] != (1, s):
        return None
    if _shape(queries)[1] != t or not _key_positions_match(keys, queries):
        return None
    return window if window >= 1 else None


def _mask_source(mask: SSAValue) -> SSAValue:
    """The value `mask` is a reshape, broadcast or float cast of, as long as the last two
    (query, key) axes stay the same: row-major order then keeps every [t, s] in place."""
    while isinstance(op := mask.owner, axh.ReshapeOp | axh.BroadcastOp | axh.CastOp):
        if _shape(op.input)[-2:] != _shape(mask)[-2:] or not _is_float(op.input):
            break
        mask = op.input
    return mask


class StateSlidingWindow(RewritePattern):
    """Set `sliding_window = W` on an attention whose mask is
    `select(q_pos - k_pos >= W, hidden, m)` (or `select(q_pos - k_pos < W, m, hidden)`),
    built from the same positions as trace.py's window, so every key at distance >= W is
    already hidden. The mask itself is kept: the attribute is only a statement about it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.AttentionOp, rewriter: PatternRewriter, /):
        if op.sliding_window is not None:
            return
        select = _mask_source(op.mask).owner
        if not isinstance(select, axh.SelectOp):
            return
        mask_shape = (1,) * (4 - len(_shape(select.result))) + _shape(select.result)
        for hidden, hide_when_true in ((select.true_value, True), (select.false_value, False)):
            value = _splat(hidden)
            if not isinstance(value, float) or not value <= HIDDEN_MASK_VALUE:  # NaN too
                continue
            window = _window(select.condition, mask_shape, hide_when_true)
            if window is not None:
                rewriter.replace(op, _rebuild(op, sliding_window=window))
                return


@dataclass(frozen=True)
class FuseAttentionPass(ModulePass):
    """Raise attention to `axh.attention` with native GQA, soft-cap and window.

    Postcondition: no `axh.attention` reads both k and v through HF's repeat_kv (reshape
    -> broadcast over a new head axis -> reshape) with one repeat count: it reads the
    [B, Hkv, S, D] heads; every eager `matmul(softmax(softcap?(q @ k^T * scale) + mask), v)`
    whose intermediates have no other users is one `axh.attention {scale, softcap}`; an
    attention whose mask hides keys at distance >= W through trace.py's in-graph window has
    `sliding_window = W`. Results are those of the generic ops up to f32 rounding of the
    scale (the mask computation stays as it is); dead ops are erased on the way.
    """

    name = "fuse-attention"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = GreedyRewritePatternApplier(
            [FuseEagerAttention(), DropRepeatKV(), StateSlidingWindow()]
        )
        PatternRewriteWalker(patterns).rewrite_module(op)
