"""Functional simulator: every axnpu op against numpy formulas with the shared rounding rules,
plus the properties the design asks for (mutation changes results, dependence-respecting
shuffles do not, the weight cache never changes a result)."""

from __future__ import annotations

import numpy as np
import pytest

from axc.dialects.axnpu import (
    BarrierOp,
    BufferOp,
    DmaCopyOp,
    DmaLoadOp,
    DmaStoreOp,
    EltwiseKind,
    EltwiseOp,
    GatherOp,
    GroupOp,
    LayerNormOp,
    MatmulOp,
    ProgramOp,
    ReduceOp,
    Region,
    RmsNormOp,
    RopeOp,
    SoftmaxOp,
    TopKOp,
    TransposeOp,
    View,
)
from axc.numerics import (
    bf16_bits,
    bf16_to_f32,
    dequantize_weight,
    pack_s4,
    quantize_symmetric,
    round_bf16,
    round_fp16,
)
from axc.sim.functional import (
    FunctionalSimulator,
    SimulationError,
    run_group,
    run_program,
    simulator_for,
)

_NP = {"f32": np.float32, "f16": np.float16, "s8": np.int8, "i32": np.int32, "u32": np.uint32}
_BITS = {"f32": 32, "bf16": 16, "f16": 16, "s8": 8, "s4": 4, "i32": 32, "u32": 32}


def _storage(values: np.ndarray, dtype: str) -> np.ndarray:
    """Values as the bytes of `dtype` (s4: already packed uint8 expected)."""
    if dtype == "bf16":
        return bf16_bits(np.asarray(values, np.float32))
    if dtype == "s4":
        return np.asarray(values, np.uint8)
    return np.asarray(values).astype(_NP[dtype])


def _exact(values: np.ndarray, dtype: str) -> np.ndarray:
    """The fp32 values a dtype holds for `values` (what the simulator reads back)."""
    if dtype == "bf16":
        return round_bf16(np.asarray(values, np.float32))
    if dtype == "f16":
        return round_fp16(np.asarray(values, np.float32))
    return np.asarray(values, np.float32)


class Prog:
    """A tiny assembler: DDR buffers loaded into OCM, ops on OCM views, stores to outputs."""

    def __init__(self) -> None:
        self.ddr = 0
        self.ocm = 0
        self.buffers: list[BufferOp] = []
        self.ops: list = []
        self.inputs: dict[str, np.ndarray] = {}
        self.weights: dict[str, bytes] = {}

    def _ddr(self, nbytes: int) -> int:
        at, self.ddr = self.ddr, self.ddr + -(-nbytes // 64) * 64
        return at

    def alloc(self, shape, dtype: str) -> View:
        nbytes = int(np.prod(shape)) * _BITS[dtype] // 8
        at, self.ocm = self.ocm, self.ocm + -(-nbytes // 64) * 64
        return View("ocm", at, list(shape), dtype)

    def _buffer(self, name: str, shape, dtype: str, kind: str) -> View:
        nbytes = int(np.prod(shape)) * _BITS[dtype] // 8
        view = View("ddr", self._ddr(nbytes), list(shape), dtype)
        self.buffers.append(BufferOp(name, view, kind))
        return view

    def _load(self, ddr: View, shape, dtype: str) -> View:
        ocm = self.alloc(shape, dtype)
        nbytes = ddr.access().nbytes
        self.ops.append(DmaLoadOp(Region("ddr", ddr.offset.data, nbytes),
                                  Region("ocm", ocm.offset.data, nbytes)))
        return ocm

    def input(self, name: str, values: np.ndarray, dtype: str, load: bool = True) -> View:
        values = np.asarray(values)
        ddr = self._buffer(name, values.shape, dtype, "input")
        self.inputs[name] = values
        return self._load(ddr, values.shape, dtype) if load else ddr

    def weight(self, name: str, stored: np.ndarray, shape, dtype: str,
               load: bool = True) -> View:
        ddr = self._buffer(name, shape, dtype, "weight")
        self.weights[name] = np.ascontiguousarray(stored).tobytes()
        return self._load(ddr, shape, dtype) if load else ddr

    def output(self, name: str, view: View) -> None:
        ddr = self._buffer(name, view.get_shape(), view.dtype.data, "output")
        nbytes = view.access().nbytes
        self.ops.append(DmaStoreOp(Region("ocm", view.offset.data, nbytes),
                                   Region("ddr", ddr.offset.data, nbytes)))

    def add(self, op):
        self.ops.append(op)
        return op

    def build(self, ocm_bytes: int = 1 << 18) -> ProgramOp:
        group = GroupOp("decode", 0, [*self.buffers, *self.ops])
        program = ProgramOp("t", chip="AX650", ocm_bytes=ocm_bytes,
                            ddr_bytes=max(self.ddr, 64), cores=3, conv_per_core=2,
                            groups=[group])
        program.verify()
        self.program = program
        return program

    def run(self, **kw) -> dict[str, np.ndarray]:
        program = self.build()
        return FunctionalSimulator(program, **kw).run(0, self.inputs, self.weights)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _unary(p: Prog, kind: str, a: np.ndarray, dtype: str = "bf16", out: str = "bf16"):
    x = p.input("a", a, dtype)
    o = p.alloc(a.shape, out)
    p.add(EltwiseOp(kind, x, o))
    p.output("out", o)
    return p.run()["out"]


# -- SDMA ----------------------------------------------------------------------------------


def test_dma_strided_load_copy_store_and_broadcast():
    p = Prog()
    data = np.arange(256, dtype=np.uint8)
    src = p.input("input", data.astype(np.int8).view(np.int8), "s8", load=False)
    # rows of 16 bytes every 32 -> packed; then a broadcast of one row; then a re-layout
    p.add(DmaLoadOp(Region("ddr", src.offset.data + 8, 7 * 32 + 16), Region("ocm", 0, 128),
                    rows=8, row_bytes=16, src_stride_bytes=32, dst_stride_bytes=16))
    p.add(DmaLoadOp(Region("ddr", src.offset.data + 100, 12), Region("ocm", 128, 4 * 64 - 52),
                    rows=4, row_bytes=12, src_stride_bytes=0, dst_stride_bytes=64))
    p.add(DmaCopyOp(Region("ocm", 0, 3 * 40 + 16), Region("ocm", 512, 4 * 16),
                    rows=4, row_bytes=16, src_stride_bytes=40, dst_stride_bytes=16))
    p.ocm = 1024
    out1 = p.alloc([128], "s8")
    p.add(DmaCopyOp(Region("ocm", 0, 128), Region("ocm", out1.offset.data, 128)))
    out3 = View("ocm", 512, [64], "s8")
    buf2 = p._buffer("b", [4, 12], "s8", "output")
    p.add(DmaStoreOp(Region("ocm", 128, 3 * 64 + 12), Region("ddr", buf2.offset.data, 48),
                     rows=4, row_bytes=12, src_stride_bytes=64, dst_stride_bytes=12))
    p.output("a", out1)
    p.output("c", out3)
    res = p.run()
    expect_a = np.concatenate([data[8 + 32 * r: 24 + 32 * r] for r in range(8)])
    assert np.array_equal(res["a"].view(np.uint8), expect_a)
    assert np.array_equal(res["b"].view(np.uint8), np.tile(data[100:112], (4, 1)))
    ocm = np.zeros(512, np.uint8)
    ocm[:128] = expect_a
    for r in range(4):
        ocm[128 + 64 * r: 140 + 64 * r] = data[100:112]
    expect_c = np.concatenate([ocm[40 * r: 40 * r + 16] for r in range(4)])
    assert np.array_equal(res["c"].view(np.uint8), expect_c)


# -- CONV ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [False, True])
def test_matmul_s8_per_channel(bias):
    rng = _rng(1)
    x = rng.standard_normal((3, 64)).astype(np.float32)
    w = rng.standard_normal((32, 64)).astype(np.float32)
    q, scale = quantize_symmetric(w, "s8", 64)
    b = rng.standard_normal(32).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    wv = p.weight("w", q, [32, 64], "s8")
    sv = p.weight("w.scales", bf16_bits(scale), [32, 1], "bf16")
    bv = p.weight("b", bf16_bits(b), [1, 32], "bf16") if bias else None
    o = p.alloc([3, 32], "bf16")
    p.add(MatmulOp(xv, wv, o, scale=sv, bias=bv))
    p.output("out", o)
    got = p.run()["out"]
    acc = _exact(x, "bf16") @ dequantize_weight(q, scale).T
    if bias:
        acc = acc + _exact(b, "bf16")
    assert np.array_equal(got, round_bf16(acc))


def test_matmul_s4_groups_zero_f32_out():
    rng = _rng(2)
    x = rng.standard_normal((2, 64)).astype(np.float32)
    q = rng.integers(-8, 8, (16, 64)).astype(np.int8)
    scale = round_bf16(rng.uniform(0.01, 0.1, (16, 2)).astype(np.float32))
    zero = round_bf16(rng.uniform(-1, 1, (16, 2)).astype(np.float32))
    p = Prog()
    xv = p.input("x", x, "bf16")
    wv = p.weight("w", pack_s4(q), [16, 64], "s4")
    sv = p.weight("s", bf16_bits(scale), [16, 2], "bf16")
    zv = p.weight("z", bf16_bits(zero), [16, 2], "bf16")
    o = p.alloc([2, 16], "f32")
    p.add(MatmulOp(xv, wv, o, scale=sv, zero=zv, group_size=32))
    p.output("out", o)
    got = p.run()["out"]
    expect = _exact(x, "bf16") @ dequantize_weight(q, scale, zero).T
    np.testing.assert_array_equal(got, expect.astype(np.float32))


def test_matmul_float_weights_w_kn_and_accumulate_strided_tiles():
    rng = _rng(3)
    x = rng.standard_normal((2, 64)).astype(np.float32)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    v = rng.standard_normal((64, 8)).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    wv = p.weight("w", bf16_bits(w), [16, 64], "bf16")
    vv = p.input("v", v, "f16")
    acc = p.alloc([2, 16], "f32")
    # K split in two strided tiles of 32 columns; the second accumulates
    for k0 in (0, 32):
        xt = View("ocm", xv.offset.data + 2 * k0, [2, 32], "bf16", 128)
        wt = View("ocm", wv.offset.data + 2 * k0, [16, 32], "bf16", 128)
        p.add(MatmulOp(xt, wt, acc, accumulate=k0 > 0))
    o2 = p.alloc([2, 8], "bf16")
    p.add(MatmulOp(xv, vv, o2, w_kn=True))
    p.output("acc", acc)
    p.output("pv", o2)
    got = p.run()
    xe, we = _exact(x, "bf16"), _exact(w, "bf16")
    first = xe[:, :32] @ we[:, :32].T
    expect = first + xe[:, 32:] @ we[:, 32:].T
    np.testing.assert_allclose(got["acc"], expect, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got["pv"], round_bf16(xe @ _exact(v, "f16")))


# -- TENG ----------------------------------------------------------------------------------

_UNARY_REF = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x), "recip": lambda x: 1 / x, "square": np.square,
    "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "silu": lambda x: x / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
    "cos": np.cos, "sin": np.sin,
    "gelu": lambda x: 0.5 * x * (1 + np.vectorize(__import__("math").erf)(x / np.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "erf": np.vectorize(__import__("math").erf), "trunc": np.trunc,
}
_CMP_REF = {"cmp_eq": np.equal, "cmp_ne": np.not_equal, "cmp_lt": np.less,
            "cmp_le": np.less_equal, "cmp_gt": np.greater, "cmp_ge": np.greater_equal}
_BINARY_REF = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "max": np.maximum, "min": np.minimum, "pow": np.power,
    "swiglu": lambda a, b: a / (1 + np.exp(-a)) * b,
    "geglu": lambda a, b: _UNARY_REF["gelu"](a) * b,
    "geglu_tanh": lambda a, b: _UNARY_REF["gelu_tanh"](a) * b,
}


def _close_bf16(got: np.ndarray, expect: np.ndarray) -> None:
    """fp32 formulas may differ in the last fp32 bit (e.g. erf); after rounding to bf16 that
    is at most one bf16 ulp."""
    expect = np.asarray(expect, np.float64)
    np.testing.assert_allclose(got, expect, rtol=2 ** -7, atol=1e-6)
    assert np.mean(got == round_bf16(expect.astype(np.float32))) > 0.95


@pytest.mark.parametrize("kind", sorted(_UNARY_REF))
def test_eltwise_unary(kind):
    a = _rng(4).uniform(0.1, 3, (4, 32)).astype(np.float32)
    if kind in ("neg", "abs", "relu", "tanh", "silu", "gelu", "gelu_tanh", "sin", "cos", "erf",
                "trunc"):
        a = a - 1.5
    got = _unary(Prog(), kind, a)
    _close_bf16(got, _UNARY_REF[kind](_exact(a, "bf16").astype(np.float64)))
    if kind in ("neg", "abs", "square", "relu", "exp", "sqrt", "log", "trunc"):
        assert np.array_equal(got, round_bf16(_UNARY_REF[kind](_exact(a, "bf16"))))


@pytest.mark.parametrize("kind", sorted(_BINARY_REF))
def test_eltwise_binary_broadcast_and_scalar(kind):
    rng = _rng(5)
    a = rng.uniform(0.5, 2, (3, 4, 16)).astype(np.float32)
    b = rng.uniform(0.5, 2, (4, 1)).astype(np.float32)
    p = Prog()
    av, bv = p.input("a", a, "bf16"), p.input("b", b, "f32")
    o = p.alloc(a.shape, "bf16")
    p.add(EltwiseOp(kind, av, o, b=bv))
    p.output("out", o)
    if kind in ("add", "sub", "mul", "div", "max", "min", "pow"):
        o2 = p.alloc(a.shape, "f32")
        p.add(EltwiseOp(kind, av, o2, scalar=1.5))
        p.output("out2", o2)
    got = p.run()
    ea = _exact(a, "bf16")
    _close_bf16(got["out"], _BINARY_REF[kind](ea.astype(np.float64), b.astype(np.float64)))
    if kind in ("add", "sub", "mul", "max", "min"):
        assert np.array_equal(got["out"], round_bf16(_BINARY_REF[kind](ea, b)))
        assert np.array_equal(got["out2"], _BINARY_REF[kind](ea, np.float32(1.5)))


@pytest.mark.parametrize("kind", sorted(_CMP_REF))
def test_eltwise_compare_and_select(kind):
    rng = _rng(18)
    a = rng.integers(-3, 4, (4, 8)).astype(np.float32)
    b = rng.integers(-3, 4, (1, 8)).astype(np.float32)
    t = rng.standard_normal((4, 8)).astype(np.float32)
    e = rng.standard_normal((8,)).astype(np.float32)
    p = Prog()
    av, bv = p.input("a", a, "bf16"), p.input("b", b, "i32")
    tv, ev = p.input("t", t, "bf16"), p.input("e", e, "f32")
    cond = p.alloc(a.shape, "s8")
    p.add(EltwiseOp(kind, av, cond, b=bv))
    o = p.alloc(a.shape, "bf16")
    p.add(EltwiseOp("select", cond, o, b=tv, c=ev))
    s = p.alloc(a.shape, "f32")
    p.add(EltwiseOp(kind, av, s, scalar=1.0))
    p.output("cond", cond)
    p.output("out", o)
    p.output("s", s)
    got = p.run()
    expect = _CMP_REF[kind](a, b)
    assert np.array_equal(got["cond"], expect.astype(np.int8))
    assert np.array_equal(got["out"], round_bf16(np.where(expect, _exact(t, "bf16"), e)))
    assert np.array_equal(got["s"], _CMP_REF[kind](a, 1.0).astype(np.float32))


def test_eltwise_integer_arithmetic():
    a = np.array([7, -7, 100, -2**20, 5], np.int64)
    b = np.array([2, 2, -3, 3, 0], np.int64)
    p = Prog()
    av, bv = p.input("a", a, "i32"), p.input("b", b, "i32")
    outs = {}
    for kind in ("add", "sub", "mul", "div", "max", "min"):
        o = p.alloc([5], "i32")
        p.add(EltwiseOp(kind, av, o, b=bv))
        p.output(kind, o)
        outs[kind] = o
    o = p.alloc([5], "s8")
    p.add(EltwiseOp("min", av, o, b=bv))  # saturates to s8
    p.output("min_s8", o)
    got = p.run()
    assert list(got["add"]) == list(a + b) and list(got["sub"]) == list(a - b)
    assert list(got["mul"]) == list(a * b)
    assert list(got["div"]) == [3, -3, -33, -349525, 2**31 - 1]  # toward zero; x/0 saturates
    assert list(got["max"]) == list(np.maximum(a, b))
    assert list(got["min_s8"]) == list(np.clip(np.minimum(a, b), -128, 127))


def test_vocm_pre_allocation_space():
    """IR before allocation puts temporaries in the unbounded `vocm`; it runs the same."""
    x = _rng(19).standard_normal((2, 32)).astype(np.float32)
    p = Prog()
    xv = p.input("input", x, "bf16", load=False)
    far = 1 << 40
    p.add(DmaLoadOp(Region("ddr", xv.offset.data, 128), Region("vocm", far, 128)))
    v = View("vocm", far, [2, 32], "bf16")
    o = View("vocm", far + 4096, [2, 32], "bf16")
    p.add(EltwiseOp("exp", v, o))
    out = p._buffer("output", [2, 32], "bf16", "output")
    p.add(DmaStoreOp(Region("vocm", far + 4096, 128), Region("ddr", out.offset.data, 128)))
    got = p.run()["output"]
    assert np.array_equal(got, round_bf16(np.exp(_exact(x, "bf16"))))


def test_eltwise_in_place_and_copy_broadcast():
    a = _rng(6).standard_normal((1, 32)).astype(np.float32)
    p = Prog()
    av = p.input("a", a, "bf16")
    p.add(EltwiseOp("mul", av, av, scalar=3.0))
    o = p.alloc([4, 32], "bf16")
    p.add(EltwiseOp("copy", av, o))
    p.output("out", o)
    got = p.run()["out"]
    assert np.array_equal(got, np.tile(round_bf16(_exact(a, "bf16") * 3), (4, 1)))


@pytest.mark.parametrize(
    "src,dst,values",
    [
        ("f32", "bf16", [1.00390625, 1.01171875, -3.3e38, np.nan, 1e-40]),
        ("f32", "f16", [1e5, 0.1, -2.5, 65504.0, 3e-8]),
        ("f32", "s8", [2.5, 3.5, -200.0, 127.4, np.nan]),
        ("bf16", "i32", [3e9, -3e9, -2.5, 1.5, 0.0]),
        ("f32", "u32", [-1.0, 5e9, 2.5, 7.0, 1e9]),
        ("i32", "bf16", [16777217 + 2 * 4096, 257, -(2**31), 2**31 - 1, 33554435]),
        ("i32", "f32", [16777217, 3, -7, 2**31 - 1, 0]),
        ("u32", "i32", [2**32 - 1, 5, 0, 2**31, 7]),
        ("bf16", "f16", [1e-8, 0.333, 7e4, -1.0, 2.0]),
    ],
)
def test_eltwise_cast(src, dst, values):
    values = np.array(values, dtype=np.float64)
    p = Prog()
    stored = values.astype(np.int64) if src in ("i32", "u32") else values.astype(np.float32)
    av = p.input("a", stored, src)
    o = p.alloc([5], dst)
    p.add(EltwiseOp("cast", av, o))
    p.output("out", o)
    got = p.run()["out"]
    exact = stored.astype(np.float64) if src in ("i32", "u32") else _exact(stored, src)
    if dst in ("s8", "i32", "u32"):
        lo, hi = {"s8": (-128, 127), "i32": (-(2**31), 2**31 - 1), "u32": (0, 2**32 - 1)}[dst]
        exact = exact.astype(np.float64)
        expect = np.where(np.isnan(exact), 0, np.clip(np.rint(exact), lo, hi))
        if src in ("i32", "u32"):
            expect = np.clip(exact, lo, hi)
        assert np.array_equal(got.astype(np.int64), expect.astype(np.int64))
    elif dst == "bf16" and src in ("i32", "u32"):
        # correctly rounded from the exact integer (not through f32): compare in float64
        finite = bf16_to_f32(np.arange(65536, dtype=np.uint16))
        cands = finite[np.isfinite(finite)].astype(np.float64)
        for g, e in zip(got, exact, strict=True):
            best = cands[np.argsort(np.abs(cands - e), kind="stable")[:2]]
            assert g in best
    else:
        ref = _exact(exact.astype(np.float32), dst)
        np.testing.assert_array_equal(got, ref)


def test_rms_norm_weight_offset_and_layer_norm():
    rng = _rng(7)
    x = rng.standard_normal((3, 64)).astype(np.float32)
    w = rng.standard_normal(64).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    wv = p.weight("w", bf16_bits(w), [64], "bf16")
    bv = p.weight("b", bf16_bits(b), [64], "bf16")
    o1, o2, o3 = p.alloc([3, 64], "bf16"), p.alloc([3, 64], "bf16"), p.alloc([3, 64], "f32")
    p.add(RmsNormOp(xv, o1, eps=1e-6, weight=wv, weight_offset=1.0))
    p.add(RmsNormOp(xv, o2, eps=1e-5))
    p.add(LayerNormOp(xv, o3, eps=1e-5, weight=wv, bias=bv))
    for name, o in (("o1", o1), ("o2", o2), ("o3", o3)):
        p.output(name, o)
    got = p.run()
    xe, we, be = _exact(x, "bf16"), _exact(w, "bf16"), _exact(b, "bf16")
    rms = xe * (1 / np.sqrt(np.mean(xe * xe, -1, keepdims=True) + np.float32(1e-6)))
    assert np.array_equal(got["o1"], round_bf16(rms * (we + np.float32(1))))
    rms = xe * (1 / np.sqrt(np.mean(xe * xe, -1, keepdims=True) + np.float32(1e-5)))
    assert np.array_equal(got["o2"], round_bf16(rms))
    c = xe - xe.mean(-1, keepdims=True)
    ln = c * (1 / np.sqrt(np.mean(c * c, -1, keepdims=True) + np.float32(1e-5))) * we + be
    np.testing.assert_allclose(got["o3"], ln, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("style", ["half", "interleaved"])
def test_rope_partial_with_scaling(style):
    rng = _rng(8)
    tokens, heads, hd, rot = 3, 2, 16, 8
    x = rng.standard_normal((tokens, heads * hd)).astype(np.float32)
    pos = np.array([0, 5, 1023], dtype=np.uint32)
    inv = (1.0 / 10000 ** (np.arange(0, rot, 2) / rot)).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    pv = p.input("indices", pos, "u32")
    fv = p.weight("inv_freq", inv, [rot // 2], "f32")
    o = p.alloc(x.shape, "bf16")
    p.add(RopeOp(xv, pv, fv, o, head_dim=hd, style=style, scaling=1.25))
    p.output("out", o)
    got = p.run()["out"]
    xe = _exact(x, "bf16").reshape(tokens, heads, hd)
    ang = pos.astype(np.float32)[:, None] * inv[None, :]
    c = round_bf16(np.cos(ang) * np.float32(1.25))[:, None]
    s = round_bf16(np.sin(ang) * np.float32(1.25))[:, None]
    i = np.arange(rot // 2)
    j, k = (i, i + rot // 2) if style == "half" else (2 * i, 2 * i + 1)
    out = xe.copy()
    out[..., j] = xe[..., j] * c - xe[..., k] * s
    out[..., k] = xe[..., k] * c + xe[..., j] * s
    assert np.array_equal(got, round_bf16(out.reshape(tokens, -1)))


def test_softmax_mask_scale_softcap():
    rng = _rng(9)
    x = (rng.standard_normal((2, 3, 16)) * 4).astype(np.float32)
    mask = np.where(rng.random((3, 16)) < 0.3, -65536.0, 0.0).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "f32")
    mv = p.input("mask", mask, "bf16")
    o1, o2 = p.alloc(x.shape, "bf16"), p.alloc(x.shape, "f32")
    p.add(SoftmaxOp(xv, o1, mask=mv, scale=0.25, softcap=5.0))
    p.add(SoftmaxOp(xv, o2))
    p.output("a", o1)
    p.output("b", o2)
    got = p.run()
    s = x * np.float32(0.25)
    s = np.float32(5) * np.tanh(s / np.float32(5)) + mask
    e = np.exp(s - s.max(-1, keepdims=True))
    assert np.array_equal(got["a"], round_bf16(e / e.sum(-1, keepdims=True)))
    e = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_array_equal(got["b"], e / e.sum(-1, keepdims=True))


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
def test_reduce(kind):
    x = _rng(10).standard_normal((3, 4, 8)).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    o = p.alloc([3, 1, 8], "f32")
    p.add(ReduceOp(kind, xv, o, axis=1))
    p.output("out", o)
    got = p.run()["out"]
    ref = getattr(np, kind)(_exact(x, "bf16"), axis=1, keepdims=True)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)


def test_transpose_and_gather_from_ddr():
    rng = _rng(11)
    x = rng.standard_normal((2, 3, 8)).astype(np.float32)
    table = rng.standard_normal((10, 16)).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    o = p.alloc([8, 2, 3], "bf16")
    p.add(TransposeOp(xv, o, perm=[2, 0, 1]))
    tv = p.weight("embed", bf16_bits(table), [10, 16], "bf16", load=False)
    iv = p.input("indices", np.array([3, 9, 0, 3], np.uint32), "u32")
    g = p.alloc([4, 16], "bf16")
    p.add(GatherOp(tv, iv, g))
    p.add(BarrierOp())
    p.output("t", o)
    p.output("g", g)
    got = p.run()
    assert np.array_equal(got["t"], np.transpose(_exact(x, "bf16"), (2, 0, 1)))
    assert np.array_equal(got["g"], _exact(table, "bf16")[[3, 9, 0, 3]])
    p.inputs["indices"] = np.array([3, 10, 0, 3], np.uint32)
    with pytest.raises(SimulationError, match="index 10 is outside"):
        FunctionalSimulator(p.program).run(0, p.inputs, p.weights)


def test_topk_with_ties():
    x = np.array([[1.0, 3.0, 3.0, -2.0, 0.5, 3.0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]], np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    vals, idx = p.alloc([2, 3], "f32"), p.alloc([2, 3], "i32")
    p.add(TopKOp(xv, vals, idx, k=3))
    p.output("values", vals)
    p.output("indices", idx)
    got = p.run()
    order = np.argsort(-_exact(x, "bf16"), axis=-1, kind="stable")[:, :3]
    assert got["indices"].tolist() == order.tolist() == [[1, 2, 5], [5, 4, 3]]
    assert np.array_equal(got["values"], np.take_along_axis(_exact(x, "bf16"), order, -1))


def test_every_op_and_eltwise_kind_is_covered():
    """The tests above name every instruction and eltwise kind of the dialect."""
    import axc.dialects.axnpu as d

    covered = set(_UNARY_REF) | set(_BINARY_REF) | set(_CMP_REF) | {"cast", "copy", "select"}
    assert covered == {k.value for k in EltwiseKind}
    ops = {op.name for op in d.AXNPU.operations} - {"axnpu.program", "axnpu.group",
                                                    "axnpu.buffer"}
    tested = {DmaLoadOp, DmaStoreOp, DmaCopyOp, MatmulOp, EltwiseOp, RmsNormOp, LayerNormOp,
              RopeOp, SoftmaxOp, ReduceOp, TransposeOp, GatherOp, BarrierOp, TopKOp}
    assert ops == {op.name for op in tested}


# -- whole-program properties ---------------------------------------------------------------


def _mlp_prog(seed: int = 12) -> Prog:
    """x -> rms_norm -> two s8 matmuls (gate, up) -> swiglu -> s8 matmul (down) -> + x."""
    rng = _rng(seed)
    x = rng.standard_normal((1, 64)).astype(np.float32)
    p = Prog()
    xv = p.input("input", x, "bf16")
    nv = p.weight("norm", bf16_bits(rng.standard_normal(64).astype(np.float32)), [64], "bf16")
    h = p.alloc([1, 64], "bf16")
    p.add(RmsNormOp(xv, h, eps=1e-6, weight=nv))
    outs = []
    for name, n, k in (("gate", 128, 64), ("up", 128, 64)):
        q, s = quantize_symmetric(rng.standard_normal((n, k)).astype(np.float32), "s8", k)
        wv = p.weight(f"{name}.w", q, [n, k], "s8")
        sv = p.weight(f"{name}.s", bf16_bits(s), [n, 1], "bf16")
        o = p.alloc([1, n], "bf16")
        p.add(MatmulOp(h, wv, o, scale=sv))
        outs.append(o)
    a = p.alloc([1, 128], "bf16")
    p.add(EltwiseOp("swiglu", outs[0], a, b=outs[1]))
    q, s = quantize_symmetric(rng.standard_normal((64, 128)).astype(np.float32), "s8", 128)
    wv = p.weight("down.w", q, [64, 128], "s8")
    sv = p.weight("down.s", bf16_bits(s), [64, 1], "bf16")
    d = p.alloc([1, 64], "bf16")
    p.add(MatmulOp(a, wv, d, scale=sv))
    p.add(EltwiseOp("add", d, d, b=xv))  # residual, in place
    p.output("output", d)
    return p


def _with_deps(program: ProgramOp) -> None:
    """Exact RAW/WAR/WAW deps by brute force (the real pass is axnpu-calc-deps)."""
    ops = program.groups()[0].instructions()
    for i, op in enumerate(ops):
        op.set_id(i)
        deps = []
        for j in range(i):
            prev = ops[j]
            hazard = any(a.overlaps(b) for a in op.reads() for b in prev.writes()) or any(
                a.overlaps(b) for a in op.writes() for b in prev.reads() + prev.writes())
            if hazard:
                deps.append(j)
        op.set_deps(deps)


def test_mutation_changes_the_result():
    p = _mlp_prog()
    program = p.build()
    sim = simulator_for(program)
    base = run_group(program, 0, p.inputs, p.weights)["output"]
    again = run_group(program, "decode", p.inputs, p.weights)["output"]
    assert np.array_equal(base, again)
    down = [op for op in program.groups()[0].instructions() if isinstance(op, MatmulOp)][-1]
    x = down.x
    down.x = View("ocm", x.offset.data + 2, list(x.get_shape()), "bf16")  # shift by 1 element
    changed = run_group(program, 0, p.inputs, p.weights)["output"]
    assert not np.array_equal(base, changed)
    assert simulator_for(program) is sim


def test_shuffled_orders_respecting_deps_agree():
    p = _mlp_prog(13)
    program = p.build()
    _with_deps(program)
    program.verify()
    sim = FunctionalSimulator(program)
    compiled = sim.compiled(0)
    assert compiled.has_deps
    base = sim.run(0, p.inputs, p.weights)["output"]
    orders = set()
    for seed in (1, 2, 3):
        orders.add(tuple(compiled.order(seed)))
        got = sim.run(0, p.inputs, p.weights, shuffle_seed=seed)["output"]
        assert np.array_equal(base, got)
    assert len(orders) == 3  # three different orders, all giving the same result
    # the uncached, eager path agrees too
    eager = FunctionalSimulator(program, lazy_weights=False)
    assert np.array_equal(base, eager.run(0, p.inputs, p.weights, shuffle_seed=4)["output"])


def test_program_order_without_ids_ignores_the_seed():
    p = _mlp_prog(14)
    program = p.build()
    sim = FunctionalSimulator(program)
    assert not sim.compiled(0).has_deps
    assert sim.compiled(0).order(5) == list(range(len(sim.compiled(0).instrs)))


def test_weight_cache_hits_and_blob_changes():
    p = _mlp_prog(15)
    program = p.build()
    sim = FunctionalSimulator(program)
    first = sim.run(0, p.inputs, p.weights)["output"]
    assert sim.misses == 3 and sim.hits == 0
    assert np.array_equal(first, sim.run(0, p.inputs, p.weights)["output"])
    assert sim.hits == 3
    # new bytes for one weight (same shape): the cache must not serve the old matrix
    q = np.frombuffer(p.weights["down.w"], np.int8).copy()
    weights = dict(p.weights, **{"down.w": (-q).tobytes()})
    changed = sim.run(0, p.inputs, weights)["output"]
    eager = FunctionalSimulator(program, lazy_weights=False).run(0, p.inputs, weights)
    assert np.array_equal(changed, eager["output"])
    assert not np.array_equal(changed, first)


def test_provenance_invalidated_by_overwrite():
    """A weight tile in OCM overwritten by a non-weight write is not served from the cache."""
    rng = _rng(16)
    x = rng.standard_normal((1, 64)).astype(np.float32)
    q, s = quantize_symmetric(rng.standard_normal((32, 64)).astype(np.float32), "s8", 64)
    junk = rng.integers(-100, 100, (4, 64)).astype(np.int8)
    p = Prog()
    xv = p.input("input", x, "bf16")
    wv = p.weight("w", q, [32, 64], "s8")
    sv = p.weight("s", bf16_bits(s), [32, 1], "bf16")
    jv = p.input("junk", junk, "s8")
    o1, o2 = p.alloc([1, 32], "bf16"), p.alloc([1, 32], "bf16")
    p.add(MatmulOp(xv, wv, o1, scale=sv))
    # overwrite rows 8..11 of the weight tile with input bytes (a dma_copy: not a weight load)
    p.add(DmaCopyOp(Region("ocm", jv.offset.data, 256), Region("ocm", wv.offset.data + 512, 256)))
    p.add(MatmulOp(xv, wv, o2, scale=sv))
    p.output("a", o1)
    p.output("b", o2)
    program = p.build()
    cached = FunctionalSimulator(program)
    eager = FunctionalSimulator(program, lazy_weights=False)
    for _ in range(2):
        got = cached.run(0, p.inputs, p.weights)
        ref = eager.run(0, p.inputs, p.weights)
        for name in ("a", "b"):
            assert np.array_equal(got[name], ref[name])
    assert cached.hits == 1  # only the first matmul, on the second run
    q2 = q.copy()
    q2[8:12] = junk
    xe = _exact(x, "bf16")
    assert np.array_equal(got["a"], round_bf16(xe @ dequantize_weight(q, s).T))
    assert np.array_equal(got["b"], round_bf16(xe @ dequantize_weight(q2, s).T))


def test_run_program_and_profile():
    p = _mlp_prog(23)
    program = p.build()
    out = run_program(program, p.inputs, p.weights)["output"]
    profile: dict[str, list[float]] = {}
    again = simulator_for(program).compiled(0).run(p.inputs, p.weights, profile=profile)
    assert np.array_equal(out, again["output"]) and out.shape == (1, 64)
    assert profile["matmul.s8"][1] == 3 and profile["rms_norm"][1] == 1


def test_inputs_are_checked():
    p = _mlp_prog(17)
    program = p.build()
    with pytest.raises(SimulationError, match="missing"):
        run_group(program, 0, {}, p.weights)
    with pytest.raises(SimulationError, match="no group"):
        run_group(program, 3, p.inputs, p.weights)
    with pytest.raises(SimulationError, match="no bytes"):
        run_group(program, 0, p.inputs, {})


def test_partially_overlapping_weight_loads():
    """A weight load over part of a deferred one: the surviving bytes still reach the matmul."""
    rng = _rng(20)
    x = rng.standard_normal((1, 64)).astype(np.float32)
    q1, s = quantize_symmetric(rng.standard_normal((16, 64)).astype(np.float32), "s8", 64)
    q2 = rng.integers(-127, 128, (4, 64)).astype(np.int8)
    p = Prog()
    xv = p.input("input", x, "bf16")
    wv = p.weight("w1", q1, [16, 64], "s8")
    sv = p.weight("s", bf16_bits(s), [16, 1], "bf16")
    w2 = p.weight("w2", q2, [4, 64], "s8", load=False)
    o = p.alloc([1, 16], "bf16")
    p.add(DmaLoadOp(Region("ddr", w2.offset.data, 256), Region("ocm", wv.offset.data + 128, 256)))
    p.add(MatmulOp(xv, wv, o, scale=sv))
    p.output("out", o)
    program = p.build()
    lazy = FunctionalSimulator(program)
    eager = FunctionalSimulator(program, lazy_weights=False)
    mixed = q1.reshape(-1).copy()
    mixed[128:384] = q2.reshape(-1)
    expect = round_bf16(_exact(x, "bf16") @ dequantize_weight(mixed.reshape(16, 64), s).T)
    for _ in range(2):
        assert np.array_equal(lazy.run(0, p.inputs, p.weights)["out"], expect)
        assert np.array_equal(eager.run(0, p.inputs, p.weights)["out"], expect)


def test_wholly_overwritten_weight_load_and_double_buffering():
    """Two weight tiles through one OCM buffer (double buffering's reuse): the second load
    wholly overwrites the first, deferred one; each matmul still sees its own tile, on the
    cached and the plain path, run after run."""
    rng = _rng(24)
    x = rng.standard_normal((1, 64)).astype(np.float32)
    qa, sa = quantize_symmetric(rng.standard_normal((16, 64)).astype(np.float32), "s8", 64)
    qb, sb = quantize_symmetric(rng.standard_normal((16, 64)).astype(np.float32), "s8", 64)
    p = Prog()
    xv = p.input("input", x, "bf16")
    wa = p.weight("wa", qa, [16, 64], "s8")  # loaded into OCM tile T
    sv = p.weight("sa", bf16_bits(sa), [16, 1], "bf16")
    wb = p.weight("wb", qb, [16, 64], "s8", load=False)
    sb_ddr = p.weight("sb", bf16_bits(sb), [16, 1], "bf16", load=False)
    oa, ob = p.alloc([1, 16], "bf16"), p.alloc([1, 16], "bf16")
    p.add(MatmulOp(xv, wa, oa, scale=sv))
    for src, dst in ((wb, wa), (sb_ddr, sv)):  # tile T := wb, scales := sb (whole overwrite)
        n = src.access().nbytes
        p.add(DmaLoadOp(Region("ddr", src.offset.data, n), Region("ocm", dst.offset.data, n)))
    p.add(MatmulOp(xv, wa, ob, scale=sv))
    p.output("a", oa)
    p.output("b", ob)
    program = p.build()
    lazy, eager = FunctionalSimulator(program), FunctionalSimulator(program, lazy_weights=False)
    xe = _exact(x, "bf16")
    expect_a = round_bf16(xe @ dequantize_weight(qa, sa).T)
    expect_b = round_bf16(xe @ dequantize_weight(qb, sb).T)
    for _ in range(3):
        for sim in (lazy, eager):
            got = sim.run(0, p.inputs, p.weights)
            assert np.array_equal(got["a"], expect_a) and np.array_equal(got["b"], expect_b)
    assert lazy.hits == 4 and lazy.misses == 2


def test_bf16_input_as_raw_bits():
    """A bf16 input fed as uint16 is taken bit for bit (the same as feeding its values)."""
    p = _mlp_prog(25)
    program = p.build()
    bits = {**p.inputs, "input": bf16_bits(np.asarray(p.inputs["input"], np.float32))}
    sim = FunctionalSimulator(program)
    assert np.array_equal(sim.run(0, bits, p.weights)["output"],
                          sim.run(0, p.inputs, p.weights)["output"])
    odd = {**bits, "input": bits["input"] ^ np.uint16(1)}  # really the bits, not values
    assert not np.array_equal(sim.run(0, odd, p.weights)["output"],
                              sim.run(0, p.inputs, p.weights)["output"])


# -- end to end: the lowering of a tiny qwen2 layer against the axh interpreter -------------

LOWERING = "convert-axh-to-axnpu,axnpu-tile,axnpu-build-ops"


#: (group, new tokens, cached rows, position of the first new token)
E2E_GROUPS = [("decode", 1, 12, 200), ("prefill", 6, 0, 0)]


def quantized_tiny_layer(folder, groups, quant: str, seed: int):
    """Layer 0 of the tiny qwen2 in `folder`: a function per (name, tokens, cached rows,
    start) of `groups`, raised and quantized by `quant` (the quantize pass's options, bf16
    hidden state); its weight store; per-group inputs (seeded) and the interpreter's
    outputs by name on that quantized axh."""
    import torch
    from transformers import AutoConfig

    from axc.frontend.importer import import_module
    from axc.frontend.pipeline import run_pipeline
    from axc.frontend.trace import layer_example_inputs, trace_layer
    from axc.frontend.weights import CheckpointReader
    from axc.interp import run_function
    from axc.weight_store import WeightStore, use_store

    config = AutoConfig.from_pretrained(folder)
    traced = [trace_layer(config, 0, t, kv, device="meta") for _, t, kv, _ in groups]
    module = import_module([(tr, name, tr.weights_for_layer(0))
                            for tr, (name, *_) in zip(traced, groups, strict=True)])
    run_pipeline(module, "axh-raise")
    store = WeightStore(CheckpointReader(folder),
                        {k: v.float().numpy() for k, v in traced[0].buffers.items()})
    with use_store(store):
        run_pipeline(module, f"quantize{{weight-type={quant} hidden-type=bf16}},"
                             "canonicalize,cse")
    gen = torch.Generator().manual_seed(seed)
    inputs, refs = {}, {}
    for func_op, tr, (name, tokens, kv, start) in zip(module.ops, traced, groups, strict=True):
        example = layer_example_inputs(config, tokens, kv, start=start, generator=gen)
        args = [a.name_hint for a in func_op.body.block.args]
        inputs[name] = {k: v.numpy() for k, v in example.items() if k in args}
        got = run_function(func_op, inputs[name], store.get, hidden_type="bf16")
        refs[name] = dict(zip(tr.output_names, got, strict=True))
    return module, store, inputs, refs


@pytest.fixture(scope="module", params=["s8", "s8 s8-group-size=32", "s4 group-size=32"],
                ids=["w8", "w8g32", "w4"])
def tiny_qwen2_layer(tmp_path_factory, request):
    """Layer 0 of a tiny qwen2, lowered (and separately also allocated and given deps), with
    per-group inputs and the interpreter's outputs on the same quantized axh."""
    pytest.importorskip("axc.passes.convert_axh_to_axnpu")
    layout = pytest.importorskip("axc.lowering_layout")
    from tiny_models import make_tiny_model

    from axc.frontend.pipeline import run_pipeline
    from axc.weight_store import use_store

    folder = make_tiny_model("qwen2", tmp_path_factory.mktemp("qwen2") / "qwen2")
    module, store, inputs, refs = quantized_tiny_layer(folder, E2E_GROUPS, request.param, 3)
    scheduled = module.clone()  # (an axnpu.program does not clone: clone the axh)
    with use_store(store):
        run_pipeline(module, LOWERING)
        run_pipeline(scheduled, LOWERING + ",axnpu-insert-ddr-swap,axnpu-calc-deps")
    programs = [next(op for op in m.walk() if isinstance(op, ProgramOp))
                for m in (module, scheduled)]
    weights = layout.pack_weights(programs[0], store)
    return programs, inputs, weights, refs


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


@pytest.mark.parametrize("which", [0, 1], ids=["lowered", "allocated"])
def test_lowered_tiny_qwen2_layer_matches_the_interpreter(tiny_qwen2_layer, which):
    programs, inputs, weights, refs = tiny_qwen2_layer
    for group, ref in refs.items():
        got = run_group(programs[which], group, inputs[group], weights)
        for name, r in ref.items():
            assert got[name].shape == r.shape
            assert _cosine(got[name], r) >= 0.99999, (group, name)


def test_lowered_layer_shuffled_by_its_computed_deps(tiny_qwen2_layer):
    (_, program), inputs, weights, _ = tiny_qwen2_layer
    sim = FunctionalSimulator(program)
    for group in inputs:
        assert sim.compiled(group).has_deps
        base = sim.run(group, inputs[group], weights)
        for seed in (1, 2, 3):
            got = sim.run(group, inputs[group], weights, shuffle_seed=seed)
            for name, value in base.items():
                assert np.array_equal(got[name], value), (group, seed, name)


def test_one_program_for_layers_with_different_weights():
    """Layers of one shape share a program: alternating weight sets never mix up DDR bytes
    or cached matrices."""
    layers = [_mlp_prog(21), _mlp_prog(22)]
    program = layers[0].build()
    lazy = FunctionalSimulator(program)
    eager = FunctionalSimulator(program, lazy_weights=False)
    results = {}
    for _ in range(2):
        for i, layer in enumerate(layers):
            got = lazy.run(0, layer.inputs, layer.weights)["output"]
            assert np.array_equal(got, eager.run(0, layer.inputs, layer.weights)["output"])
            assert np.array_equal(results.setdefault(i, got), got)
    assert not np.array_equal(results[0], results[1])
    assert lazy.hits == 6 and lazy.misses == 6


@pytest.mark.real_model
@pytest.mark.slow
def test_real_qwen_decode_layer_lazy_eager_shuffled_and_interpreter():
    """Layer 0 of Qwen2.5-Coder-0.5B (s8, kv 64) compiled by the whole back end: the cached
    path, the plain path and shuffled orders agree bit for bit, and match the interpreter."""
    pytest.importorskip("axc.passes.convert_axh_to_axnpu")
    from axc.models import cached_model_dir

    folder = cached_model_dir("qwen2.5-coder-0.5b-instruct")
    if folder is None:
        pytest.skip("qwen2.5-coder-0.5b-instruct is not pulled")
    import torch
    from transformers import AutoConfig

    from axc.frontend.importer import import_module
    from axc.frontend.pipeline import run_pipeline
    from axc.frontend.trace import layer_example_inputs, trace_layer
    from axc.frontend.weights import CheckpointReader
    from axc.interp import run_function
    from axc.lowering_layout import pack_weights
    from axc.weight_store import WeightStore, use_store

    config = AutoConfig.from_pretrained(folder)
    traced = trace_layer(config, 0, 1, 64, device="meta")
    module = import_module([(traced, "decode", traced.weights_for_layer(0))])
    run_pipeline(module, "axh-raise")
    store = WeightStore(CheckpointReader(folder),
                        {k: v.float().numpy() for k, v in traced.buffers.items()})
    with use_store(store):
        run_pipeline(module, "quantize{weight-type=s8 hidden-type=bf16},canonicalize,cse")
        reference = module.clone()
        run_pipeline(module, LOWERING + ",axnpu-insert-ddr-swap,axnpu-calc-deps")
    program = next(op for op in module.walk() if isinstance(op, ProgramOp))
    weights = pack_weights(program, store)
    gen = torch.Generator().manual_seed(0)
    inputs = {k: v.numpy() for k, v in
              layer_example_inputs(config, 1, 64, start=64, generator=gen).items()}
    lazy = FunctionalSimulator(program)
    base = lazy.run(0, inputs, weights)
    runs = [FunctionalSimulator(program, lazy_weights=False).run(0, inputs, weights),
            lazy.run(0, inputs, weights, shuffle_seed=1), lazy.run(0, inputs, weights)]
    for got in runs:
        for name, value in base.items():
            assert np.array_equal(got[name], value), name
    assert lazy.hits and lazy.misses
    ref = run_function(next(iter(reference.ops)), inputs, store.get, hidden_type="bf16")
    for name, r in zip(traced.output_names, ref, strict=True):
        assert _cosine(base[name], r) >= 0.99999, name


def test_rope_f32_tables_keep_cos_sin_unrounded():
    """`tables "f32"` (what the lowering emits, as the interpreter keeps rope tables f32):
    cos/sin are not rounded to the bf16 output type; only the result is."""
    rng = _rng(21)
    tokens, heads, hd = 2, 2, 8
    x = rng.standard_normal((tokens, heads * hd)).astype(np.float32)
    pos = np.array([3, 1000], dtype=np.uint32)
    inv = (1.0 / 10000 ** (np.arange(0, hd, 2) / hd)).astype(np.float32)
    p = Prog()
    xv = p.input("x", x, "bf16")
    pv = p.input("indices", pos, "u32")
    fv = p.weight("inv_freq", inv, [hd // 2], "f32")
    o32, o16 = p.alloc(x.shape, "bf16"), p.alloc(x.shape, "bf16")
    p.add(RopeOp(xv, pv, fv, o32, head_dim=hd, style="half", table_dtype="f32"))
    p.add(RopeOp(xv, pv, fv, o16, head_dim=hd, style="half"))
    p.output("f32_tables", o32)
    p.output("bf16_tables", o16)
    got = p.run()
    xe = _exact(x, "bf16").reshape(tokens, heads, hd)
    ang = pos.astype(np.float32)[:, None] * inv[None, :]
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    i = np.arange(hd // 2)
    out = xe.copy()
    out[..., i] = xe[..., i] * c - xe[..., i + hd // 2] * s
    out[..., i + hd // 2] = xe[..., i + hd // 2] * c + xe[..., i] * s
    assert np.array_equal(got["f32_tables"], round_bf16(out.reshape(tokens, -1)))
    assert not np.array_equal(got["f32_tables"], got["bf16_tables"])


def test_one_blas_thread_during_a_run_restored_after():
    from axc.sim import blas

    found = blas._openblas()  # noqa: SLF001
    if found is None:
        pytest.skip("numpy has no OpenBLAS here")
    get, put = found
    put(2)
    p = _mlp_prog(26)
    program = p.build()
    seen = []
    sim = FunctionalSimulator(program)
    compiled = sim.compiled(0)
    first = compiled.instrs[0].fn
    compiled.instrs[0].fn = lambda: (seen.append(get()), first())
    sim.run(0, p.inputs, p.weights)
    assert seen == [1] and get() == 2
