"""Synthetic decoder-layer-shaped axnpu programs with `vocm` temporaries, and a byte-level
reference interpreter, for the scheduling passes' tests and benchmarks.

`layer_program(...)` builds what `axnpu-build-ops` produces for one Qwen-like layer, in
program order: weight tiles streamed by DMA into their own temporaries, matmul tiles writing
column tiles of a shared activation temporary, attention per query head against a strided
KV-cache load, TENG norms / softmax / swiglu / residual adds, stores of the outputs.

`run_bytes(group)` executes a group on byte arrays: DMAs copy bytes exactly; every other
instruction writes bytes that are a pseudo-random function of (op kind, operand shapes, the
bytes it reads). Two programs compute the same thing iff their outputs' bytes agree, so the
interpreter checks that passes which move data (DDR swap) or reorder it (EU assignment)
preserve semantics without modelling any arithmetic.
"""

from __future__ import annotations

import hashlib

import numpy as np
from xdsl.dialects.builtin import ModuleOp, StringAttr

from axc.dialects.axnpu import (
    BufferOp,
    DmaCopyOp,
    DmaLoadOp,
    DmaStoreOp,
    EltwiseOp,
    GroupOp,
    InstructionOp,
    MatmulOp,
    ProgramOp,
    Region,
    RmsNormOp,
    SoftmaxOp,
    View,
)


class _Bump:
    def __init__(self, start: int = 0, align: int = 64) -> None:
        self.end, self.align = start, align

    def take(self, size: int) -> int:
        off = -(-self.end // self.align) * self.align
        self.end = off + size
        return off


def layer_program(tokens: int = 1, hidden: int = 256, heads: int = 4, kv_heads: int = 2,
                  head_dim: int = 64, inter: int = 768, cache: int = 256,
                  tile_bytes: int = 16384, ocm_bytes: int = 2 * 1024 * 1024, cores: int = 3,
                  name: str = "layer") -> ModuleOp:
    """One decoder layer (decode: tokens=1; prefill: tokens>1) as a module in state axnpu."""
    T, H, hd = tokens, hidden, head_dim
    nq, nkv = heads * hd, kv_heads * hd
    ddr, vocm = _Bump(), _Bump()
    bufs: list[BufferOp] = []
    ops: list[InstructionOp] = []

    def buffer(sym: str, shape: list[int], dtype: str, kind: str) -> View:
        view = View("ddr", 0, shape, dtype)
        nbytes = view.access().nbytes
        view = View("ddr", ddr.take(nbytes), shape, dtype)
        bufs.append(BufferOp(sym, view, kind))
        return view

    def temp(shape: list[int], dtype: str) -> View:
        nbytes = View("vocm", 0, shape, dtype).access().nbytes
        return View("vocm", vocm.take(nbytes), shape, dtype)

    def load(src: View) -> View:
        dst = temp(list(src.get_shape()), src.dtype.data)
        n = src.access().nbytes
        ops.append(DmaLoadOp(Region("ddr", src.offset.data, n), Region("vocm", dst.offset.data, n)))
        return dst

    def cols(v: View, c0: int, n: int) -> View:
        rows, width = v.get_shape()
        esize = v.row_bytes // width
        return View(v.space.data, v.offset.data + c0 * esize, [rows, n], v.dtype.data,
                    v.row_bytes if rows > 1 else None)

    def linear(x: View, n_out: int, sym: str, bias: bool = False) -> View:
        k = x.get_shape()[1]
        w = buffer(f"{sym}.weight", [n_out, k], "s8", "weight")
        s = buffer(f"{sym}.scale", [n_out, 1], "bf16", "weight")
        b = buffer(f"{sym}.bias", [1, n_out], "bf16", "weight") if bias else None
        out = temp([T, n_out], "bf16")
        nt = max(8, min(n_out, tile_bytes // k))
        for n0 in range(0, n_out, nt):
            n = min(nt, n_out - n0)
            wt = load(View("ddr", w.offset.data + n0 * k, [n, k], "s8"))
            st = load(View("ddr", s.offset.data + n0 * 2, [n, 1], "bf16"))
            bt = load(View("ddr", b.offset.data + n0 * 2, [1, n], "bf16")) if b else None
            ops.append(MatmulOp(x, wt, cols(out, n0, n), scale=st, bias=bt))
        return out

    x_in = buffer("input", [T, H], "bf16", "input")
    k_cache = buffer("K_cache", [cache, nkv], "bf16", "input")
    v_cache = buffer("V_cache", [cache, nkv], "bf16", "input")
    mask = buffer("mask", [T, cache + T], "bf16", "input")
    norm1 = buffer("input_layernorm.weight", [H], "bf16", "weight")
    norm2 = buffer("post_attention_layernorm.weight", [H], "bf16", "weight")

    x = load(x_in)
    n1 = load(norm1)
    xn = temp([T, H], "bf16")
    ops.append(RmsNormOp(x, xn, weight=n1, eps=1e-6))
    qkv = linear(xn, nq + 2 * nkv, "self_attn.qkv_proj", bias=True)
    m = load(mask)
    attn = temp([T, nq], "bf16")
    group = heads // kv_heads
    for kvh in range(kv_heads):
        kc = temp([cache + T, hd], "bf16")
        vc = temp([cache + T, hd], "bf16")
        for src, dst, col in ((k_cache, kc, nq + kvh * hd), (v_cache, vc, nq + nkv + kvh * hd)):
            ops.append(DmaLoadOp(
                Region("ddr", src.offset.data + kvh * hd * 2, (cache - 1) * nkv * 2 + hd * 2),
                Region("vocm", dst.offset.data, cache * hd * 2),
                rows=cache, row_bytes=hd * 2, src_stride_bytes=nkv * 2, dst_stride_bytes=hd * 2))
            new_rows = cols(qkv, col, hd)
            tail = View("vocm", dst.offset.data + cache * hd * 2, [T, hd], "bf16")
            ops.append(EltwiseOp("copy", new_rows, tail))
        for g in range(group):
            h = kvh * group + g
            scores = temp([T, cache + T], "f32")
            ops.append(MatmulOp(cols(qkv, h * hd, hd), kc, scores))
            probs = temp([T, cache + T], "bf16")
            ops.append(SoftmaxOp(scores, probs, mask=m, scale=hd ** -0.5))
            ops.append(MatmulOp(probs, vc, cols(attn, h * hd, hd), w_kn=True))
    o = linear(attn, H, "self_attn.o_proj")
    h1 = temp([T, H], "bf16")
    ops.append(EltwiseOp("add", x, h1, b=o))
    n2 = load(norm2)
    h1n = temp([T, H], "bf16")
    ops.append(RmsNormOp(h1, h1n, weight=n2, eps=1e-6))
    gate = linear(h1n, inter, "mlp.gate_proj")
    up = linear(h1n, inter, "mlp.up_proj")
    act = temp([T, inter], "bf16")
    ops.append(EltwiseOp("swiglu", gate, act, b=up))
    down = linear(act, H, "mlp.down_proj")
    out = temp([T, H], "bf16")
    ops.append(EltwiseOp("add", h1, out, b=down))
    y = buffer("output", [T, H], "bf16", "output")
    ops.append(DmaStoreOp(Region("vocm", out.offset.data, T * H * 2),
                          Region("ddr", y.offset.data, T * H * 2)))
    for sym, col in (("K_cache_out", nq), ("V_cache_out", nq + nkv)):
        dst = buffer(sym, [T, nkv], "bf16", "output")
        src = cols(qkv, col, nkv)
        acc = src.access()
        ops.append(DmaStoreOp(Region("vocm", acc.offset, acc.size_bytes),
                              Region("ddr", dst.offset.data, T * nkv * 2),
                              rows=T, row_bytes=nkv * 2, src_stride_bytes=acc.stride_bytes,
                              dst_stride_bytes=nkv * 2))
    program = ProgramOp(name, chip="AX650", ocm_bytes=ocm_bytes,
                        ddr_bytes=max(1 << 24, 2 * ddr.end), cores=cores, conv_per_core=2,
                        groups=[GroupOp("decode" if T == 1 else "prefill", 0, bufs + ops)])
    module = ModuleOp([program])
    module.attributes["axc.state"] = StringAttr("axnpu")
    module.attributes["axc.chip"] = StringAttr("AX650")
    return module


# -- the byte interpreter --------------------------------------------------------------------


def _tag(op: InstructionOp) -> bytes:
    parts = [op.name]
    for _, value in sorted(op.properties.items()):
        if isinstance(value, View):
            parts.append(f"{value.get_shape()}{value.dtype.data}")
    kind = getattr(op, "kind", None)
    if kind is not None:
        parts.append(str(kind))
    return "|".join(parts).encode()


def run_bytes(group: GroupOp, order: list[InstructionOp] | None = None,
              inputs_seed: int = 1) -> dict[str, bytes]:
    """Execute `group` (in program order, or `order`) on bytes; the outputs by name."""
    ops = group.instructions() if order is None else order
    sizes: dict[str, int] = {}
    for b in group.buffers():
        sizes["ddr"] = max(sizes.get("ddr", 0), b.view.access().end)
    for op in ops:
        for acc in op.reads() + op.writes():
            sizes[acc.space] = max(sizes.get(acc.space, 0), acc.end)
    mem = {space: np.zeros(size, np.uint8) for space, size in sizes.items()}
    rng = np.random.default_rng(inputs_seed)
    for b in group.buffers():
        if b.kind.data in ("input", "weight"):
            acc = b.view.access()
            mem["ddr"][acc.offset:acc.end] = rng.integers(0, 256, acc.nbytes, dtype=np.uint8)

    def read(acc) -> np.ndarray:
        return np.concatenate([mem[acc.space][a:b] for a, b in acc.byte_ranges()])

    def write(acc, data: np.ndarray) -> None:
        i = 0
        for a, b in acc.byte_ranges():
            mem[acc.space][a:b] = data[i:i + b - a]
            i += b - a

    for op in ops:
        if isinstance(op, DmaLoadOp | DmaStoreOp | DmaCopyOp):
            rows, row_bytes, ss, ds = op.pattern()
            src, dst = op.src, op.dst
            for r in range(rows):
                s0, d0 = src.offset.data + r * ss, dst.offset.data + r * ds
                mem[dst.space.data][d0:d0 + row_bytes] = mem[src.space.data][s0:s0 + row_bytes]
            continue
        digest = hashlib.blake2b(_tag(op), digest_size=8)
        for acc in op.reads():
            digest.update(read(acc).tobytes())
        seed = int.from_bytes(digest.digest(), "little")
        out_rng = np.random.default_rng(seed)
        for acc in op.writes():
            write(acc, out_rng.integers(0, 256, acc.nbytes, dtype=np.uint8))
    return {b.sym_name.data: bytes(mem["ddr"][b.view.access().offset:b.view.access().end])
            for b in group.buffers() if b.kind.data == "output"}


def program_of(module: ModuleOp) -> ProgramOp:
    return next(op for op in module.walk() if isinstance(op, ProgramOp))


def clone_module(module: ModuleOp) -> ModuleOp:
    """A deep copy through the textual form (`Operation.clone` of a program adds a second
    block, see _BodyOp.__post_init__)."""
    import io

    from xdsl.context import Context
    from xdsl.dialects.builtin import Builtin
    from xdsl.parser import Parser
    from xdsl.printer import Printer

    from axc.dialects.axnpu import AXNPU

    out = io.StringIO()
    Printer(stream=out).print_op(module)
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(AXNPU)
    return Parser(ctx, out.getvalue()).parse_module()
