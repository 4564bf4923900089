"""fuse-swiglu: raise gated MLP activations to `axh.swiglu` / `axh.geglu`, and the
activations ATen writes out (silu as x * sigmoid(x), HF's gelu_new as its tanh formula) to
`axh.silu` / `axh.gelu`.

The gated forms are what llama/qwen/phi3 (`act(gate) * up`, silu) and gemma (gelu tanh) compute
between their gate/up and down projections; the lowering runs them as one element-wise op.
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
from axc.passes.canonicalize_axh import splat_value

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715
_REL_TOL = 1e-5  # constants arrive rounded to f32

Poly = dict[int, float]
"""A polynomial in one value: exponent -> coefficient."""


def _operand_pairs(op: Operation) -> tuple[tuple[SSAValue, SSAValue], ...]:
    """Both orders of a commutative binary op's operands."""
    lhs, rhs = op.operands
    return ((lhs, rhs), (rhs, lhs))


def _silu_input(value: SSAValue) -> SSAValue | None:
    """g when value is silu(g) or g * sigmoid(g) (either order), of g's type."""
    op = value.owner
    if isinstance(op, axh.SiluOp):
        return op.input
    if not isinstance(op, axh.MulOp):
        return None
    for g, sig in _operand_pairs(op):
        s = sig.owner
        if (
            isinstance(s, axh.UnaryOp)
            and s.kind.data == axh.UnaryKind.SIGMOID
            and s.input == g
            and g.type == op.result.type
        ):
            return g
    return None


# -- written-out GELU -----------------------------------------------------------------------


def _factors(value: SSAValue, root: bool = True) -> list[SSAValue]:
    """The leaves of the product tree rooted at value: muls flattened in any nesting, down to
    values with other users (the x of a written-out activation is read several times)."""
    op = value.owner
    if isinstance(op, axh.MulOp) and (root or value.has_one_use()):
        return _factors(op.lhs, False) + _factors(op.rhs, False)
    return [value]


def _poly_mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ea, ca in a.items():
        for eb, cb in b.items():
            out[ea + eb] = out.get(ea + eb, 0.0) + ca * cb
    return out


def _poly_add(a: Poly, b: Poly, sign: float = 1.0) -> Poly:
    out = dict(a)
    for e, c in b.items():
        out[e] = out.get(e, 0.0) + sign * c
    return out


def _poly(value: SSAValue, x: SSAValue, depth: int = 0) -> Poly | None:
    """value as a polynomial in x (splat constants, +, -, *, / constant, neg, square, small
    integer powers), every non-constant step of x's type; None otherwise."""
    if value == x:
        return {1: 1.0}
    c = splat_value(value)
    if c is not None:
        return {0: float(c)}
    op = value.owner
    if depth > 16 or not isinstance(op, Operation) or value.type != x.type:
        return None
    if isinstance(op, axh.AddOp | axh.SubOp | axh.MulOp):
        a, b = _poly(op.lhs, x, depth + 1), _poly(op.rhs, x, depth + 1)
        if a is None or b is None:
            return None
        if isinstance(op, axh.MulOp):
            return _poly_mul(a, b)
        return _poly_add(a, b, -1.0 if isinstance(op, axh.SubOp) else 1.0)
    if isinstance(op, axh.DivOp):
        a, d = _poly(op.lhs, x, depth + 1), splat_value(op.rhs)
        return None if a is None or not d else {e: c / d for e, c in a.items()}
    if isinstance(op, axh.UnaryOp) and op.kind.data in (axh.UnaryKind.NEG, axh.UnaryKind.SQUARE):
        a = _poly(op.input, x, depth + 1)
        if a is None:
            return None
        if op.kind.data == axh.UnaryKind.NEG:
            return {e: -c for e, c in a.items()}
        return _poly_mul(a, a)
    if isinstance(op, axh.BinaryOp) and op.kind.data == axh.BinaryKind.POW:
        a, n = _poly(op.lhs, x, depth + 1), splat_value(op.rhs)
        if a is None or n is None or n != int(n) or not 1 <= n <= 4:
            return None
        out: Poly = {0: 1.0}
        for _ in range(int(n)):
            out = _poly_mul(out, a)
        return out
    return None


def _poly_equals(p: Poly, expected: Poly) -> bool:
    keys = {e for e, c in p.items() if c != 0.0} | set(expected)
    return all(
        math.isclose(p.get(e, 0.0), expected.get(e, 0.0), rel_tol=_REL_TOL, abs_tol=1e-12)
        for e in keys
    )


def _variable(value: SSAValue) -> SSAValue | None:
    """The first value in value's def tree that is not single-use arithmetic or a constant:
    the x a written-out activation is a function of (and reads several times)."""
    op = value.owner
    if splat_value(value) is not None:
        return None
    if not value.has_one_use():
        return value
    arithmetic = axh.AddOp | axh.SubOp | axh.MulOp | axh.DivOp | axh.BinaryOp
    if isinstance(op, arithmetic):
        lhs = _variable(op.lhs)
        return lhs if lhs is not None else _variable(op.rhs)
    if isinstance(op, axh.UnaryOp) and op.kind.data in (axh.UnaryKind.NEG, axh.UnaryKind.SQUARE):
        return _variable(op.input)
    return value


def _one_plus(value: SSAValue, kind: axh.UnaryKind) -> SSAValue | None:
    """a when value is 1 + kind(a) (either order), of a's type."""
    op = value.owner
    if not isinstance(op, axh.AddOp):
        return None
    for inner, one in _operand_pairs(op):
        u = inner.owner
        if (
            splat_value(one) == 1
            and isinstance(u, axh.UnaryOp)
            and u.kind.data == kind
            and inner.type == op.result.type
        ):
            return u.input
    return None


def _written_gelu(op: axh.MulOp) -> tuple[SSAValue, str] | None:
    """(x, approximate) when op is 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    (HF's gelu_new / gelu_fast, in any product order) or 0.5 * x * (1 + erf(x / sqrt(2)))."""
    factors = _factors(op.result)
    for i, factor in enumerate(factors):
        for kind, approximate in ((axh.UnaryKind.TANH, "tanh"), (axh.UnaryKind.ERF, "none")):
            inner = _one_plus(factor, kind)
            x = None if inner is None else _variable(inner)
            if x is None or x.type != op.result.type:
                continue
            if approximate == "tanh":
                c = _SQRT_2_OVER_PI
                expected_inner: Poly = {1: c, 3: c * _GELU_CUBIC}
            else:
                expected_inner = {1: 1 / math.sqrt(2)}
            inner_poly = _poly(inner, x)
            if inner_poly is None or not _poly_equals(inner_poly, expected_inner):
                continue
            rest: Poly | None = {0: 1.0}
            for other in factors[:i] + factors[i + 1 :]:
                p = _poly(other, x)
                rest = None if p is None or rest is None else _poly_mul(rest, p)
            if rest is not None and _poly_equals(rest, {1: 0.5}):
                return x, approximate
    return None


# -- patterns ---------------------------------------------------------------------------------


class RaiseSilu(RewritePattern):
    """g * sigmoid(g) -> silu(g), either order (ATen's decomposition of silu)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.MulOp, rewriter: PatternRewriter, /):
        g = _silu_input(op.result)
        if g is not None:
            rewriter.replace(op, axh.SiluOp(g))


class RaiseWrittenGelu(RewritePattern):
    """HF's written-out GELU formulas -> gelu(x) with the matching approximation."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.MulOp, rewriter: PatternRewriter, /):
        found = _written_gelu(op)
        if found is not None:
            rewriter.replace(op, axh.GeluOp(*found))


class FuseGated(RewritePattern):
    """silu(gate) * up -> swiglu(gate, up) and gelu(gate) * up -> geglu(gate, up), either
    operand order, silu also as gate * sigmoid(gate). gate, up and the product must have one
    type (no broadcasting). An activation with other users stays for them."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: axh.MulOp, rewriter: PatternRewriter, /):
        for act, up in _operand_pairs(op):
            if up.type != op.result.type:
                continue
            gate = _silu_input(act)
            if gate is not None and gate.type == up.type:
                rewriter.replace(op, axh.SwiGLUOp(gate, up))
                return
            gelu = act.owner
            if isinstance(gelu, axh.GeluOp) and gelu.input.type == up.type:
                rewriter.replace(op, axh.GeGLUOp(gelu.input, up, gelu.approximate))
                return


@dataclass(frozen=True)
class FuseSwiGLUPass(ModulePass):
    """Raise gated activations and written-out silu/gelu.

    Afterwards no `axh.mul` multiplies `silu(g)` (or `g * sigmoid(g)`) or `gelu(g)` by a value
    `up` of g's type: each is `axh.swiglu(g, up)` or `axh.geglu(g, up)` with gelu's
    approximation; a remaining `g * sigmoid(g)` is `axh.silu(g)`; and
    `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))` (phi's gelu_new) or
    `0.5 * x * (1 + erf(x / sqrt(2)))` is `axh.gelu(x)` with approximate tanh or none.
    """

    name = "fuse-swiglu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = [FuseGated(), RaiseSilu(), RaiseWrittenGelu()]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
