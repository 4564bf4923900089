"""Memory-layout helpers shared by the axnpu lowering passes, the simulator and the writer.

- `Ref`: a numpy-like strided tensor in one memory space (byte offset, element strides),
  the lowering's model of where an axh value lives; layout ops (reshape, transpose, slice,
  broadcast) only change a Ref, copies happen when an instruction needs a form its operand
  cannot express (`view_of` returns None).
- `copy_patterns`: the 2-D DMA patterns that copy one Ref into another.
- `pack_weights(program, store)`: the DDR bytes of every weight buffer of a program, laid
  out as its `layout` attribute says (docs/lowering.md), for the simulator and the writer.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from math import prod

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, StringAttr

from axc.dialects.axnpu import DTYPE_BITS, BufferOp, ProgramOp, ViewAttr
from axc.numerics import bf16_bits, pack_s4

ALIGN = 64
"""Byte alignment of every buffer and temporary (one DDR burst)."""


def align(n: int, to: int = ALIGN) -> int:
    return -(-n // to) * to


def nbytes(shape: Sequence[int], dtype: str) -> int:
    """Bytes of a contiguous tensor (s4: two per byte)."""
    return prod(shape) * DTYPE_BITS[dtype] // 8


@dataclass(frozen=True)
class Ref:
    """A strided tensor: element `idx` lives at byte `offset + sum(idx * strides) * esize`.

    Strides are in elements and may be 0 (a broadcast dimension). s4 Refs are contiguous
    weights only (their element size is not a whole byte)."""

    space: str
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: str

    @staticmethod
    def contiguous(space: str, offset: int, shape: Sequence[int], dtype: str) -> Ref:
        shape = tuple(shape)
        strides = [1] * len(shape)
        for i in range(len(shape) - 2, -1, -1):
            strides[i] = strides[i + 1] * shape[i + 1]
        return Ref(space, offset, shape, tuple(strides), dtype)

    @property
    def esize(self) -> int:
        return DTYPE_BITS[self.dtype] // 8

    @property
    def numel(self) -> int:
        return prod(self.shape)

    def is_contiguous(self) -> bool:
        c = Ref.contiguous(self.space, self.offset, self.shape, self.dtype)
        return all(d == 1 or s == cs for d, s, cs in zip(self.shape, self.strides, c.strides,
                                                         strict=True))

    def permute(self, perm: Sequence[int]) -> Ref:
        return Ref(self.space, self.offset, tuple(self.shape[p] for p in perm),
                   tuple(self.strides[p] for p in perm), self.dtype)

    def slice(self, axis: int, start: int, end: int, step: int = 1) -> Ref:
        shape, strides = list(self.shape), list(self.strides)
        shape[axis] = len(range(start, end, step))
        strides[axis] = self.strides[axis] * step
        return Ref(self.space, self.offset + start * self.strides[axis] * self.esize,
                   tuple(shape), tuple(strides), self.dtype)

    def index(self, axis: int, i: int) -> Ref:
        """Drop `axis`, fixing it at `i`."""
        return Ref(self.space, self.offset + i * self.strides[axis] * self.esize,
                   self.shape[:axis] + self.shape[axis + 1:],
                   self.strides[:axis] + self.strides[axis + 1:], self.dtype)

    def broadcast_to(self, shape: Sequence[int]) -> Ref:
        shape = tuple(shape)
        pad = len(shape) - len(self.shape)
        src = (1,) * pad + self.shape
        strides = (0,) * pad + self.strides
        out = tuple(0 if s == 1 and d != 1 else st for s, d, st in zip(src, shape, strides,
                                                                      strict=True))
        return Ref(self.space, self.offset, shape, out, self.dtype)

    def reshape(self, shape: Sequence[int]) -> Ref | None:
        """The same elements under `shape` without moving them, or None (numpy's no-copy
        reshape rule: each run of merged dimensions must be uniformly strided)."""
        shape = tuple(shape)
        if prod(shape) != self.numel:
            return None
        old = [(d, s) for d, s in zip(self.shape, self.strides, strict=True) if d != 1]
        new_dims = [d for d in shape if d != 1]
        new_strides: list[int] = []
        i = j = 0
        while i < len(old) and j < len(new_dims):
            # grow a chunk of old dims and new dims with equal element counts
            oi, nj = i + 1, j + 1
            op_, np_ = old[i][0], new_dims[j]
            while op_ != np_:
                if op_ < np_:
                    op_ *= old[oi][0]
                    oi += 1
                else:
                    np_ *= new_dims[nj]
                    nj += 1
            for k in range(i, oi - 1):
                if old[k][1] != old[k + 1][1] * old[k + 1][0]:
                    return None
            stride = old[oi - 1][1]
            chunk: list[int] = []
            for k in range(nj - 1, j - 1, -1):
                chunk.append(stride)
                stride *= new_dims[k]
            new_strides.extend(reversed(chunk))
            i, j = oi, nj
        it = iter(new_strides)
        strides = tuple(next(it) if d != 1 else 0 for d in shape)
        # size-1 dims: give them the natural stride so views print cleanly
        full = list(strides)
        for k in range(len(shape) - 1, -1, -1):
            if shape[k] == 1:
                full[k] = full[k + 1] * shape[k + 1] if k + 1 < len(shape) else 1
        return Ref(self.space, self.offset, shape, tuple(full), self.dtype)

    def squeeze_broadcast(self) -> Ref:
        """Broadcast (stride-0) dimensions as size 1: what an eltwise operand needs, since
        the instruction broadcasts to its output shape itself."""
        shape = tuple(1 if s == 0 else d for d, s in zip(self.shape, self.strides, strict=True))
        return Ref(self.space, self.offset, shape, self.strides, self.dtype)


def view_of(ref: Ref, shape: Sequence[int] | None = None) -> ViewAttr | None:
    """`ref` as an `#axnpu.view` (rows of the last dimension at one stride), or None."""
    if shape is not None and tuple(shape) != ref.shape:
        r = ref.reshape(shape)
        if r is None:
            return None
        ref = r
    shape = ref.shape or (1,)
    strides = ref.strides or (1,)
    last = shape[-1]
    if last != 1 and strides[-1] != 1:
        return None
    lead = [(d, s) for d, s in zip(shape[:-1], strides[:-1], strict=True) if d != 1]
    for (_, s0), (d1, s1) in itertools.pairwise(lead):
        if s0 != s1 * d1:
            return None
    row_stride = lead[-1][1] if lead else last
    if lead and row_stride < last:
        return None
    if DTYPE_BITS[ref.dtype] < 8:
        return ViewAttr(ref.space, ref.offset, shape, ref.dtype)
    return ViewAttr(ref.space, ref.offset, shape, ref.dtype, row_stride * ref.esize)


@dataclass(frozen=True)
class CopyPattern:
    """One 2-D DMA: `rows` rows of `row_bytes`, src/dst byte offsets and strides."""

    src_offset: int
    dst_offset: int
    rows: int
    row_bytes: int
    src_stride: int
    dst_stride: int


def copy_patterns(src: Ref, dst: Ref) -> list[CopyPattern]:
    """2-D DMA patterns that copy every element of `src` to the same index of `dst`.

    Unit dimensions are dropped and dimensions that are contiguous on both sides merge; the
    innermost contiguous run is a row, the largest remaining dimension becomes the DMA's
    rows, the others are looped over (one DMA each)."""
    assert src.shape == dst.shape and src.dtype == dst.dtype, (src, dst)
    es = src.esize
    dims = [(d, ss, ds) for d, ss, ds in zip(src.shape, src.strides, dst.strides, strict=True)
            if d != 1]
    merged: list[list[int]] = []
    for d, ss, ds in dims:
        if merged and merged[-1][1] == ss * d and merged[-1][2] == ds * d:
            merged[-1] = [merged[-1][0] * d, ss, ds]
        else:
            merged.append([d, ss, ds])
    row_elems = 1
    if merged and merged[-1][1] == 1 and merged[-1][2] == 1:
        row_elems = merged.pop()[0]
    row_bytes = row_elems * es
    outer = [(d, ss * es, ds * es) for d, ss, ds in merged]
    if not outer:
        return [CopyPattern(src.offset, dst.offset, 1, row_bytes, row_bytes, row_bytes)]
    # the DMA's own rows: the largest dimension whose destination rows do not overlap
    candidates = [i for i, (_, _, ds) in enumerate(outer) if ds >= row_bytes]
    pick = max(candidates, key=lambda i: outer[i][0])
    rows, s_stride, d_stride = outer[pick]
    loops = outer[:pick] + outer[pick + 1:]
    out = []
    for idx in itertools.product(*(range(d) for d, _, _ in loops)):
        so = src.offset + sum(i * s for i, (_, s, _) in zip(idx, loops, strict=True))
        do = dst.offset + sum(i * s for i, (_, _, s) in zip(idx, loops, strict=True))
        out.append(CopyPattern(so, do, rows, row_bytes, s_stride, d_stride))
    return out


# -- weight layouts --------------------------------------------------------------------------

LAYOUT_ATTR = "layout"
"""Buffer attribute: "row_major" (default) or "tiles"."""
TILE_ATTR = "tile_shape"
"""With layout "tiles": [tn, tk], the tile of the logical [N, K] array stored contiguously."""
WEIGHT_ATTR = "weight"
"""Buffer attribute: the weight-store name of the array the buffer holds."""
DATA_ATTR = "data"
"""Buffer attribute of compiler constants: the bytes as a hex string."""


def tile_order(n: int, k: int, tn: int, tk: int) -> Iterator[tuple[int, int, int, int]]:
    """(n0, n1, k0, k1) of the tiles of an [N, K] array, in storage order (n-major)."""
    for n0 in range(0, n, tn):
        for k0 in range(0, k, tk):
            yield n0, min(n0 + tn, n), k0, min(k0 + tk, k)


def tile_offset(n: int, k: int, tn: int, tk: int, n0: int, k0: int, bits: int) -> int:
    """Byte offset of tile (n0, k0) inside a tiled [N, K] buffer."""
    off = 0
    for a0, a1, b0, b1 in tile_order(n, k, tn, tk):
        if (a0, b0) == (n0, k0):
            return off
        off += (a1 - a0) * (b1 - b0) * bits // 8
    raise ValueError(f"no tile at ({n0}, {k0})")


def encode(array: np.ndarray, dtype: str) -> bytes:
    """Little-endian bytes of `array` as `dtype` (s4: two per byte, low nibble first)."""
    a = np.asarray(array)
    if dtype == "bf16":
        return bf16_bits(a.astype(np.float32)).tobytes()
    if dtype == "s4":
        return pack_s4(a.astype(np.int8)).tobytes()
    np_type = {"f32": "<f4", "f16": "<f2", "s8": "i1", "i32": "<i4", "u32": "<u4"}[dtype]
    return np.ascontiguousarray(a.astype(np_type)).tobytes()


def layout_bytes(array: np.ndarray, dtype: str, buffer: BufferOp) -> bytes:
    """The DDR bytes of `buffer` holding `array` (its logical value) in the buffer's layout."""
    layout = buffer.attributes.get(LAYOUT_ATTR)
    view = buffer.view
    shape = view.get_shape()
    array = np.asarray(array).reshape(shape)
    if not isinstance(layout, StringAttr) or layout.data == "row_major":
        return encode(array, dtype)
    tile = buffer.attributes[TILE_ATTR]
    assert isinstance(tile, DenseArrayBase)
    tn, tk = (int(v) for v in tile.get_values())
    a2 = array.reshape(-1, shape[-1])
    n, k = a2.shape
    return b"".join(encode(a2[n0:n1, k0:k1], dtype) for n0, n1, k0, k1 in tile_order(n, k, tn, tk))


def pack_weights(program: ProgramOp, store: Mapping[str, np.ndarray] | object) -> dict[str, bytes]:
    """buffer name -> DDR bytes of every `weight` buffer of `program` (all groups; the same
    weight has the same name, offset and layout in every group), from the weight store
    (anything with `get(name)` or `[name]`) or, for compiler constants, the `data` attribute.
    """
    get = store.get if hasattr(store, "get") else store.__getitem__  # type: ignore[union-attr]
    out: dict[str, bytes] = {}
    for group in program.groups():
        for buf in group.buffers():
            if buf.kind.data != "weight" or buf.sym_name.data in out:
                continue
            name = buf.sym_name.data
            data = buf.attributes.get(DATA_ATTR)
            if isinstance(data, StringAttr):
                out[name] = bytes.fromhex(data.data)
                continue
            wname = buf.attributes.get(WEIGHT_ATTR)
            key = wname.data if isinstance(wname, StringAttr) else name
            out[name] = layout_bytes(np.asarray(get(key)), buf.view.dtype.data, buf)
            expected = buf.view.access().nbytes
            if len(out[name]) != expected:
                raise ValueError(f"weight {key!r} packs to {len(out[name])} bytes, buffer "
                                 f"@{name} holds {expected}")
    return out
