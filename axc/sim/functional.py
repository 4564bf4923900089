"""Functional mode of the simulator: execute an axnpu group bit-for-bit on a model of DDR and OCM.

Contract: docs/axnpu.md (instruction semantics) and `axc.numerics` (rounding, shared with the
axh interpreter `axc.interp`, whose per-op formulas are reused here so both agree bit for bit).

How it runs. A group is compiled once into a list of closures, one per instruction: every
operand view is decoded once into a numpy strided view over the memory arrays (DDR, OCM and any
pre-allocation space such as `vocm`), so executing an instruction is a handful of numpy calls.
The program is really executed: every result is computed from the bytes the instructions read,
so altering an instruction alters the output.

Three optimisations keep decode steps fast without changing any result:

* lazy weight blobs: a weight buffer's bytes are copied into DDR block by block when an
  instruction first reads them, so layers of one shape sharing a program do not copy all of
  each layer's weights in every run;
* lazy weight DMA: a `dma_load` whose source lies in `weight` buffers (read-only for the whole
  run) only records that its destination holds those bytes; the copy happens when another
  instruction touches the destination (reads it, or partially overwrites it);
* dequantised-weight cache: a matmul whose `w` (and `scale`/`zero`) bytes are exactly what a
  still-valid weight load put in OCM reuses the fp32 matrix dequantised earlier from the same
  DDR bytes (keyed by the load's source offset and pattern, the operand's place in it, and the
  identity of the weight blobs). Any other write over the loaded bytes invalidates that
  provenance for the rest of the run, and the matmul then decodes OCM as usual. Both paths run
  the same numpy code on the same fp32 matrix, so they agree bit for bit.

Weight blobs are identified by object identity when immutable (`bytes`, read-only arrays):
pass the same objects again and nothing is copied or dequantised again (mutable buffers are
copied and dequantised afresh every run).

Numerics per instruction follow docs/axnpu.md; where it is silent this module decides:
integer eltwise results (and int -> int casts) round half to even (`div`: toward zero) and
saturate; int -> bf16/f16 casts are rounded once from the exact integer. OCM (and `vocm`) is
zeroed before each run, as are `output` and `scratch` buffers. A bf16 input given as a
uint16 array is taken as raw bf16 bits (no rounding, no conversion).
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects.builtin import StringAttr

from axc.dialects.axnpu import (
    Access,
    BarrierOp,
    BufferOp,
    DmaCopyOp,
    DmaLoadOp,
    DmaStoreOp,
    EltwiseOp,
    GatherOp,
    GroupOp,
    InstructionOp,
    LayerNormOp,
    MatmulOp,
    ProgramOp,
    ReduceOp,
    RmsNormOp,
    RopeOp,
    SoftmaxOp,
    TopKOp,
    TransposeOp,
    ViewAttr,
)
from axc.errors import AxcError
from axc.numerics import bf16_bits, dequantize_weight, unpack_s4
from axc.sim import blas

Weights = Mapping[str, Any] | Callable[[str], Any]
Fn = Callable[[], None]

__all__ = [
    "CompiledGroup",
    "FunctionalSimulator",
    "SimulationError",
    "run_group",
    "run_program",
    "simulator_for",
]


class SimulationError(AxcError):
    """A program error found while running (index out of range, bad inputs, ...)."""


# -- typed views over raw memory ---------------------------------------------------------------

_RAW: dict[str, type] = {
    "f32": np.float32, "bf16": np.uint16, "f16": np.float16, "s8": np.int8,
    "i32": np.int32, "u32": np.uint32, "s4": np.uint8,
}
_INT_RANGE = {"s8": (-128, 127), "i32": (-(2**31), 2**31 - 1), "u32": (0, 2**32 - 1)}
_INTS = frozenset(_INT_RANGE)


def _strided(mem: np.ndarray, offset: int, shape: tuple[int, ...], strides: tuple[int, ...],
             dtype: type, what: str) -> np.ndarray:
    """A numpy view of `mem` (uint8) with explicit byte strides; bounds-checked once."""
    itemsize = np.dtype(dtype).itemsize
    end = offset + sum((d - 1) * s for d, s in zip(shape, strides, strict=True)) + itemsize
    if offset < 0 or end > mem.size:
        raise SimulationError(f"{what} spans [{offset}, {end}), outside its space of "
                              f"{mem.size} bytes")
    return np.ndarray(shape, dtype, buffer=mem, offset=offset, strides=strides)


def _raw_view(mem: np.ndarray, view: ViewAttr, what: str, offset: int | None = None
              ) -> np.ndarray:
    """The view's elements in their storage type (bf16 as uint16, s4 as packed bytes)."""
    shape = view.get_shape()
    dtype = view.dtype.data
    last = shape[-1] // 2 if dtype == "s4" else shape[-1]
    raw = _RAW[dtype]
    strides = [np.dtype(raw).itemsize]
    step = view.row_stride_bytes.data
    for d in reversed(shape[:-1]):
        strides.insert(0, step)
        step *= d
    at = view.offset.data if offset is None else offset
    return _strided(mem, at, (*shape[:-1], last), tuple(strides), raw, what)


def _bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def _reader(raw: np.ndarray, dtype: str) -> Callable[[], np.ndarray]:
    """A function returning a fresh fp32 copy of the view's values (exact conversion)."""
    if dtype == "bf16":
        return lambda: _bf16_to_f32(raw)
    if dtype == "s4":
        return lambda: unpack_s4(raw).astype(np.float32)
    return lambda: raw.astype(np.float32)


def _round_f16(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).astype(np.float16)


def _writer(raw: np.ndarray, dtype: str, truncate: bool = False) -> Callable[[np.ndarray], None]:
    """A function storing fp32 values (broadcast to the view) rounded once to `dtype`: floats
    to nearest even; integers half to even (toward zero with `truncate`: integer `div`),
    saturating, NaN -> 0."""
    if dtype in _INTS:
        lo, hi = _INT_RANGE[dtype]
        to_int = np.trunc if truncate else np.rint

        def write(values: np.ndarray) -> None:
            wide = to_int(np.asarray(values, dtype=np.float64))
            raw[...] = np.where(np.isnan(wide), 0, np.clip(wide, lo, hi)).astype(raw.dtype)

        return write
    if dtype == "bf16":
        def write(values: np.ndarray) -> None:
            raw[...] = bf16_bits(values)
    elif dtype == "f16":
        def write(values: np.ndarray) -> None:
            raw[...] = _round_f16(values)
    elif dtype == "f32":
        def write(values: np.ndarray) -> None:
            raw[...] = values
    else:
        raise SimulationError(f"cannot store computed values as {dtype}")
    return write


def _int_to_f32_odd(values: np.ndarray) -> np.ndarray:
    """Integers -> f32 rounded to odd, so one later rounding to bf16/f16 is correctly rounded
    (rounding through f32 to nearest would round twice)."""
    wide = values.astype(np.int64)
    near = wide.astype(np.float32)
    back = near.astype(np.int64)
    inexact = back != wide
    if not inexact.any():
        return near
    toward_zero = np.where(np.abs(back) > np.abs(wide), np.nextafter(near, np.float32(0)), near)
    bits = toward_zero.view(np.uint32) | inexact.astype(np.uint32)
    return bits.view(np.float32)


def _cast_values(raw_in: np.ndarray, src: str, dst: str) -> np.ndarray:
    """`eltwise cast`: values of `src` (raw) as the storage values of `dst` (raw)."""
    if src in _INTS:
        if dst in _INTS:
            lo, hi = _INT_RANGE[dst]
            return np.clip(raw_in.astype(np.int64), lo, hi).astype(_RAW[dst])
        f = _int_to_f32_odd(raw_in) if dst != "f32" else raw_in.astype(np.float64)
        return _float_storage(f, dst)
    values = _bf16_to_f32(raw_in) if src == "bf16" else raw_in.astype(np.float32)
    if dst in _INTS:
        lo, hi = _INT_RANGE[dst]
        rounded = np.rint(values.astype(np.float64))
        rounded = np.where(np.isnan(rounded), 0, np.clip(rounded, lo, hi))
        return rounded.astype(_RAW[dst])
    return _float_storage(values, dst)


def _float_storage(values: np.ndarray, dst: str) -> np.ndarray:
    if dst == "bf16":
        return bf16_bits(values.astype(np.float32))
    if dst == "f16":
        return _round_f16(values)
    return values.astype(np.float32)


# -- the fp32 functions (formulas of axc.interp, so both agree bit for bit) -------------------

_SQRT_HALF = np.float32(np.sqrt(0.5))
_GELU_TANH_SCALE = np.float32(np.sqrt(2 / np.pi))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in f32 via torch, as axc.interp does (numpy has none)."""
    import torch

    return torch.special.erf(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + _erf(x * _SQRT_HALF))


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    inner = _GELU_TANH_SCALE * (x + np.float32(0.044715) * x * x * x)
    return 0.5 * x * (1 + np.tanh(inner))


_BINARY: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "max": np.maximum, "min": np.minimum, "pow": np.power,
    "cmp_eq": lambda a, b: np.equal(a, b).astype(np.float32),
    "cmp_ne": lambda a, b: np.not_equal(a, b).astype(np.float32),
    "cmp_lt": lambda a, b: np.less(a, b).astype(np.float32),
    "cmp_le": lambda a, b: np.less_equal(a, b).astype(np.float32),
    "cmp_gt": lambda a, b: np.greater(a, b).astype(np.float32),
    "cmp_ge": lambda a, b: np.greater_equal(a, b).astype(np.float32),
    "swiglu": lambda a, b: a * _sigmoid(a) * b,
    "geglu": lambda a, b: _gelu(a) * b,
    "geglu_tanh": lambda a, b: _gelu_tanh(a) * b,
}
_UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x), "recip": np.reciprocal, "square": np.square,
    "tanh": np.tanh, "sigmoid": _sigmoid, "silu": lambda x: x * _sigmoid(x), "gelu": _gelu,
    "gelu_tanh": _gelu_tanh, "relu": lambda x: np.maximum(x, np.float32(0)), "cos": np.cos,
    "sin": np.sin, "erf": _erf, "trunc": np.trunc,
}
_REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}


# -- compiled groups ---------------------------------------------------------------------------

_Live = dict[int, bool]
"""The weight loads whose destination still holds exactly what they loaded, during a run:
index -> whether the copy is still deferred. A load leaves it when something overwrites any
of its destination bytes."""


_NO_PARTIAL: dict[int, Fn] = {}
_BLOCK = 1 << 16
"""Granule (bytes) in which weight blobs are copied into DDR on first read."""


def _settle(live: _Live, loads: list[_WeightLoad], touch: frozenset[int],
            kill: frozenset[int], partial: dict[int, Fn] = _NO_PARTIAL) -> None:
    """Before an instruction: make the deferred copies it touches, forget those it kills.

    `partial[j]` copies only the bytes of load j that the instruction leaves intact: it
    overwrites the rest without reading them, so copying those would be wasted."""
    # live loads have disjoint destinations (a load kills those it overwrites), so the order
    # of the copies does not matter: scan the smaller of the two sets
    if len(touch) < len(live):
        todo = [j for j in touch if j in live]
    else:
        todo = [j for j in live if j in touch]
    for j in todo:
        if live[j]:
            (partial.get(j) or loads[j].copy)()
            live[j] = False
        if j in kill:
            del live[j]


@dataclass
class _Instr:
    pos: int
    op: InstructionOp
    label: str
    fn: Fn


@dataclass
class _WeightLoad:
    index: int  # in CompiledGroup._loads
    pos: int  # of the dma_load in the group
    dst: Access
    key: tuple[Any, ...]  # (src offset, pattern): what its destination holds, given DDR
    pattern: tuple[int, int, int, int]
    buffers: tuple[str, ...]  # weight buffers its source reads
    copy: Fn = field(repr=False, default=lambda: None)


def _covers(load: Access, acc: Access) -> bool:
    """Whether every byte of `acc` lies in `load` (both OCM accesses)."""
    if acc.space != load.space or acc.offset < load.offset or acc.end > load.end:
        return False
    if load.rows == 1:
        return True
    starts = acc.offset + np.arange(acc.rows, dtype=np.int64) * acc.stride_bytes - load.offset
    row, col = np.divmod(starts, load.stride_bytes)
    return bool(np.all((row < load.rows) & (col + acc.row_bytes <= load.row_bytes)))


def _nothing() -> None:
    """The deferred copy of a weight load whose destination is wholly overwritten unread."""


def _describe(op: InstructionOp, pos: int) -> str:
    ident = op.get_id()
    return f"instruction {pos} ('{op.name}'{f', id {ident}' if ident is not None else ''})"


def _label(op: InstructionOp) -> str:
    name = op.name.removeprefix("axnpu.")
    if isinstance(op, EltwiseOp):
        return f"{name}.{op.get_kind().value}"
    if isinstance(op, MatmulOp):
        return f"{name}.{op.w.dtype.data}"
    return name


def _fingerprint(group: GroupOp) -> list[tuple[Any, ...]]:
    """What the compiled form depends on: the program's sizes, each op and its property and
    attribute objects (compared by identity first; editing an op replaces those objects)."""
    program = group.parent_op()
    head = [tuple(program.properties.values())] if program is not None else []
    return head + [(op, tuple(op.properties.values()), tuple(op.attributes.values()))
                   for op in group.body.block.ops]


class CompiledGroup:
    """One group compiled to closures over its own memory arrays. Not thread-safe."""

    def __init__(self, sim: FunctionalSimulator, group: GroupOp) -> None:
        self.sim = sim
        self.group = group
        self.name = group.sym_name.data
        self.fingerprint = _fingerprint(group)
        program = sim.program
        ops = group.instructions()
        self.ocm_bytes = program.limit_bytes("ocm")
        ddr_bytes = program.limit_bytes("ddr")
        # DDR and OCM are flat byte arrays of their declared size (calloc'd: untouched pages
        # cost nothing). Any other space (the unbounded pre-allocation `vocm`) is sparse: the
        # byte ranges the group touches are packed into one array, offsets translated once.
        self.mem: dict[str, np.ndarray] = {
            "ddr": np.zeros(ddr_bytes, np.uint8), "ocm": np.zeros(self.ocm_bytes, np.uint8),
        }
        self._packed: dict[str, tuple[list[int], list[int], list[int]]] = {}
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for op in ops:
            for acc in op.reads() + op.writes():
                if acc.space not in self.mem:
                    spans[acc.space].append((acc.offset, acc.end))
        for space, ranges in spans.items():
            starts: list[int] = []
            ends: list[int] = []
            for start, end in sorted(ranges):
                if ends and start <= ends[-1]:
                    ends[-1] = max(ends[-1], end)
                else:
                    starts.append(start)
                    ends.append(end)
            bases = list(itertools.accumulate((e - s for s, e in zip(starts, ends,
                                                                      strict=True)),
                                              initial=0))
            self._packed[space] = (starts, ends, bases)
            self.mem[space] = np.zeros(bases[-1], np.uint8)
        self.buffers = {b.sym_name.data: b for b in group.buffers()}
        self._buffer_views = {
            name: _raw_view(self.mem["ddr"], b.view, f"buffer @{name}")
            for name, b in self.buffers.items()
        }
        self._buffer_bytes = {
            name: self.mem["ddr"][b.view.offset.data: b.view.access().end]
            for name, b in self.buffers.items()
        }
        self._loaded: dict[str, Any] = {}
        self._stale: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._weight_accs = [(name, b.view.access()) for name, b in self.buffers.items()
                             if b.kind.data == "weight"]
        self._constants: dict[str, bytes] = {}
        self._versions: dict[str, int] = {}
        self._live: _Live = {}
        self._loads: list[_WeightLoad] = []
        self._load_versions: list[tuple[int, ...]] = []
        self.instrs = self._compile(ops)
        self._position = self._schedule(ops)

    # -- compilation

    def _place(self, space: str, offset: int, what: str) -> tuple[np.ndarray, int]:
        """The array holding `space` and the position of `offset` in it."""
        if space not in self.mem:
            raise SimulationError(f"{what}: unknown memory space {space}")
        packed = self._packed.get(space)
        if packed is None:
            return self.mem[space], offset
        starts, ends, bases = packed
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0 or offset >= ends[i]:
            raise SimulationError(f"{what}: {space} offset {offset} is not in a used range")
        return self.mem[space], bases[i] + offset - starts[i]

    def _view(self, view: ViewAttr, what: str) -> np.ndarray:
        mem, offset = self._place(view.space.data, view.offset.data, what)
        return _raw_view(mem, view, what, offset)

    def _find_weight_loads(self, ops: list[InstructionOp]) -> dict[int, _WeightLoad]:
        spans = sorted(
            (b.view.offset.data, b.view.access().end, name)
            for name, b in self.buffers.items() if b.kind.data == "weight"
        )
        found: dict[int, _WeightLoad] = {}
        if not self.sim.lazy_weights:
            return found
        weight_accs = [Access("ddr", s, 1, e - s, 0) for s, e, _ in spans]
        for op in ops:  # unverified IR writing a weight: no weight is known read-only then
            if any(w.overlaps(a) for a in op.writes() for w in weight_accs):
                return found
        for pos, op in enumerate(ops):
            if not isinstance(op, DmaLoadOp):
                continue
            (src,), (dst,) = op.reads(), op.writes()
            names: list[str] = []
            reach = src.offset
            for start, end, name in spans:  # the source must lie in adjacent weight buffers
                if end <= src.offset or start >= src.end:
                    continue
                if start > reach:
                    break
                names.append(name)
                reach = max(reach, end)
            if not names or reach < src.end:
                continue
            key = (src.offset, op.pattern())
            found[pos] = _WeightLoad(len(found), pos, dst, key, op.pattern(), tuple(names))
        return found

    def _compile(self, ops: list[InstructionOp]) -> list[_Instr]:
        loads = self._find_weight_loads(ops)
        self._loads = list(loads.values())
        starts = np.array([w.dst.offset for w in self._loads], dtype=np.int64)
        ends = np.array([w.dst.end for w in self._loads], dtype=np.int64)

        def touching(accs: list[Access]) -> frozenset[int]:
            """Weight loads whose destination shares a byte with one of `accs`."""
            hits: set[int] = set()
            for acc in accs:
                if acc.space == "ddr" or not len(starts):
                    continue
                for j in np.nonzero((starts < acc.end) & (ends > acc.offset))[0]:
                    if self._loads[j].dst.overlaps(acc):
                        hits.add(int(j))
            return frozenset(hits)

        instrs: list[_Instr] = []
        last_load_covering: list[_WeightLoad] = []  # weight loads seen so far, in order
        for pos, op in enumerate(ops):
            what = _describe(op, pos)
            try:
                if pos in loads:
                    load = loads[pos]
                    load.copy = self._fresh(self._dma(op, what),
                                            self._weight_spans(op.reads()))
                    fn = self._lazy_load(load.index)
                    last_load_covering.append(load)
                elif isinstance(op, MatmulOp):
                    fn = self._matmul(op, what, last_load_covering, touching)
                else:
                    fn = self._build(op, what)
            except SimulationError:
                raise
            except Exception as error:  # malformed IR the verifier would reject
                raise SimulationError(f"{what}: cannot compile: {error}") from error
            if not isinstance(op, MatmulOp):  # matmuls manage their own provenance
                touch = touching(op.reads() + op.writes())
                kills = touching(op.writes())
                if pos in loads:
                    touch = touch - {loads[pos].index}
                    kills = kills - {loads[pos].index}
                partial = self._partial_copies(op, kills - touching(op.reads()))
                fn = self._guarded(fn, touch, kills, partial)
            if pos not in loads:
                fn = self._fresh(fn, self._weight_spans(op.reads()))
            instrs.append(_Instr(pos, op, _label(op), fn))
        return instrs

    def _guarded(self, fn: Fn, touch: frozenset[int], kills: frozenset[int],
                 partial: dict[int, Fn]) -> Fn:
        """`fn` preceded by the deferred copies it depends on and by forgetting the weight
        provenance it overwrites."""
        if not touch:
            return fn
        live, loads = self._live, self._loads

        def run() -> None:
            if live:
                _settle(live, loads, touch, kills, partial)
            fn()

        return run

    def _partial_copies(self, op: InstructionOp, overwritten: frozenset[int]) -> dict[int, Fn]:
        """For deferred weight loads that `op` overwrites without reading them: nothing when
        one of its writes covers the whole destination, else (plain loads, one contiguous
        write) copies of just the bytes that survive it."""
        writes = op.writes()
        result: dict[int, Fn] = {}
        for j in list(overwritten):  # wholly overwritten (and not read): nothing survives
            if any(_covers(w, self._loads[j].dst) for w in writes):
                result[j] = _nothing
        overwritten = overwritten - set(result)
        if len(writes) != 1 or writes[0].rows != 1:
            return result
        start, end = writes[0].offset, writes[0].end
        for j in overwritten:
            load = self._loads[j]
            rows, _, _, _ = load.pattern
            if rows != 1 or load.dst.rows != 1:
                continue
            copies = []
            reads: list[Access] = []
            for lo, hi in ((load.dst.offset, min(start, load.dst.end)),
                           (max(end, load.dst.offset), load.dst.end)):
                if lo < hi:
                    src_mem, src_at = self._place("ddr", load.key[0] + lo - load.dst.offset,
                                                  "weight load")
                    dst_mem, dst_at = self._place(load.dst.space, lo, "weight load")
                    copies.append((dst_mem[dst_at: dst_at + hi - lo],
                                   src_mem[src_at: src_at + hi - lo]))
                    reads.append(Access("ddr", src_at, 1, hi - lo, 0))

            def copy(copies=copies) -> None:
                for dst, src in copies:
                    np.copyto(dst, src)

            result[j] = self._fresh(copy, self._weight_spans(reads))
        return result

    def _lazy_load(self, index: int) -> Fn:
        live = self._live

        def run() -> None:
            live[index] = True

        return run

    def _dma(self, op: DmaLoadOp | DmaStoreOp | DmaCopyOp, what: str) -> Fn:
        rows, row_bytes, src_stride, dst_stride = op.pattern()
        src_mem, src_at = self._place(op.src.space.data, op.src.offset.data, what)
        dst_mem, dst_at = self._place(op.dst.space.data, op.dst.offset.data, what)
        src = _strided(src_mem, src_at, (rows, row_bytes), (src_stride, 1), np.uint8,
                       f"{what} src")
        dst = _strided(dst_mem, dst_at, (rows, row_bytes), (dst_stride, 1), np.uint8,
                       f"{what} dst")
        if rows == 1:
            src, dst = src[0], dst[0]
        return lambda: np.copyto(dst, src)

    def _build(self, op: InstructionOp, what: str) -> Fn:
        if isinstance(op, DmaLoadOp | DmaStoreOp | DmaCopyOp):
            return self._dma(op, what)
        if isinstance(op, BarrierOp):
            return lambda: None
        builder = {
            EltwiseOp: self._eltwise, RmsNormOp: self._rms_norm, LayerNormOp: self._layer_norm,
            RopeOp: self._rope, SoftmaxOp: self._softmax, ReduceOp: self._reduce,
            TransposeOp: self._transpose, GatherOp: self._gather, TopKOp: self._topk,
        }.get(type(op))
        if builder is None:
            raise SimulationError(f"{what}: '{op.name}' is not supported by the simulator")
        return builder(op, what)

    def _in(self, view: ViewAttr, what: str) -> Callable[[], np.ndarray]:
        return _reader(self._view(view, what), view.dtype.data)

    def _out(self, view: ViewAttr, what: str) -> Callable[[np.ndarray], None]:
        return _writer(self._view(view, what), view.dtype.data)

    # -- CONV

    def _matmul(self, op: MatmulOp, what: str, weight_loads: list[_WeightLoad],
                touching: Callable[[list[Access]], list[int]]) -> Fn:
        x = self._in(op.x, f"{what} x")
        write = self._out(op.out, f"{what} out")
        acc_in = self._in(op.out, f"{what} out") if op.accumulate else None
        bias = self._in(op.bias, f"{what} bias") if op.bias is not None else None
        decode = self._weight_decoder(op, what)
        w_kn = op.w_kn is not None

        def product(xv: np.ndarray, w: np.ndarray) -> np.ndarray:
            return np.matmul(xv, w if w_kn else w.T)

        # provenance: the latest weight load (in program order) covering each weight operand
        operands = [("w", op.w)] + [(n, v) for n, v in (("scale", op.scale), ("zero", op.zero))
                                    if v is not None]
        producers: list[_WeightLoad] = []
        for _, view in operands:
            acc = view.access()
            producer = next((w for w in reversed(weight_loads) if _covers(w.dst, acc)), None)
            if producer is None:
                producers = []
                break
            producers.append(producer)
        weight_accs = [v.access() for _, v in operands]
        other_accs = [a for n, a in op.named_inputs() if n in ("x", "bias")] + op.writes()
        touch_all = touching(weight_accs + other_accs)
        touch_other = touching(other_accs)
        kills = touching(op.writes())
        live, loads, sim = self._live, self._loads, self.sim
        prod_index = [p.index for p in producers]
        static_key = (
            op.w.dtype.data, op.w.get_shape(), w_kn, op.group_size and op.group_size.value.data,
            tuple((v.get_shape(), v.dtype.data, v.row_stride_bytes.data, p.key,
                   v.offset.data - p.dst.offset) for (_, v), p in zip(operands, producers,
                                                                      strict=False)),
        )
        cacheable = bool(producers) and sim.cache_weights

        def run() -> None:
            if cacheable and all(j in live for j in prod_index):
                _settle(live, loads, touch_other, kills)
                key = (static_key, tuple(self._load_versions[j] for j in prod_index))
                w = sim.cache_get(key)
                if w is None:
                    _settle(live, loads, frozenset(prod_index), frozenset())
                    w = decode()
                    sim.cache_put(key, w)
            else:
                _settle(live, loads, touch_all, kills)
                w = decode()
            acc = product(x(), w)
            if acc_in is not None:
                acc += acc_in()
            if bias is not None:
                acc += bias().reshape(-1)
            write(acc)

        return run

    def _weight_decoder(self, op: MatmulOp, what: str) -> Callable[[], np.ndarray]:
        """A function returning the fp32 weight matrix ([N, K], or [K, N] with w_kn)."""
        w = self._in(op.w, f"{what} w")
        if op.scale is None:
            return w
        scale = self._in(op.scale, f"{what} scale")
        zero = self._in(op.zero, f"{what} zero") if op.zero is not None else None
        raw_w = self._view(op.w, f"{what} w")
        quant = (lambda: unpack_s4(raw_w)) if op.w.dtype.data == "s4" else (lambda: raw_w)
        if zero is None:
            return lambda: dequantize_weight(quant(), scale())
        return lambda: dequantize_weight(quant(), scale(), zero())

    # -- TENG

    def _eltwise(self, op: EltwiseOp, what: str) -> Fn:
        kind = op.get_kind().value
        if kind in ("copy", "cast"):
            src = self._view(op.a, f"{what} a")
            dst = self._view(op.out, f"{what} out")
            if kind == "copy" or op.a.dtype == op.out.dtype:
                return lambda: np.copyto(dst, src)
            src_type, dst_type = op.a.dtype.data, op.out.dtype.data

            def cast() -> None:
                dst[...] = _cast_values(src, src_type, dst_type)

            return cast
        a = self._in(op.a, f"{what} a")
        write = _writer(self._view(op.out, f"{what} out"), op.out.dtype.data,
                        truncate=kind == "div")
        if kind == "select":
            then = self._in(op.b, f"{what} b")
            other = self._in(op.properties["c"], f"{what} c")
            return lambda: write(np.where(a() != 0, then(), other()))
        if kind in _UNARY:
            f = _UNARY[kind]
            return lambda: write(f(a()))
        g = _BINARY[kind]
        if op.b is not None:
            b = self._in(op.b, f"{what} b")
            return lambda: write(g(a(), b()))
        scalar = np.float32(op.scalar.value.data)
        return lambda: write(g(a(), scalar))

    def _rms_norm(self, op: RmsNormOp, what: str) -> Fn:
        x = self._in(op.x, f"{what} x")
        write = self._out(op.out, f"{what} out")
        eps = np.float32(op.eps.value.data)
        weight = self._in(op.weight, f"{what} weight") if op.weight is not None else None
        offset = np.float32(op.weight_offset.value.data if op.weight_offset is not None else 0)

        def run() -> None:
            xv = x()
            mean_square = np.mean(np.square(xv), axis=-1, keepdims=True)
            normed = xv * (1 / np.sqrt(mean_square + eps))
            if weight is not None:
                normed = normed * (weight().reshape(-1) + offset)
            write(normed)

        return run

    def _layer_norm(self, op: LayerNormOp, what: str) -> Fn:
        x = self._in(op.x, f"{what} x")
        write = self._out(op.out, f"{what} out")
        eps = np.float32(op.eps.value.data)
        weight = self._in(op.weight, f"{what} weight") if op.weight is not None else None
        bias = self._in(op.bias, f"{what} bias") if op.bias is not None else None

        def run() -> None:
            xv = x()
            centred = xv - np.mean(xv, axis=-1, keepdims=True)
            variance = np.mean(np.square(centred), axis=-1, keepdims=True)
            normed = centred * (1 / np.sqrt(variance + eps))
            if weight is not None:
                normed = normed * weight().reshape(-1)
            if bias is not None:
                normed = normed + bias().reshape(-1)
            write(normed)

        return run

    def _rope(self, op: RopeOp, what: str) -> Fn:
        x = self._in(op.x, f"{what} x")
        positions = self._view(op.positions, f"{what} positions")
        inv_freq = self._in(op.inv_freq, f"{what} inv_freq")
        write = self._out(op.out, f"{what} out")
        table_type = op.get_table_dtype()  # cos/sin precision: `tables`, else the output's
        tokens, width = op.x.get_shape()
        head_dim = op.head_dim.value.data
        half = op.inv_freq.numel
        scaling = np.float32(op.scaling.value.data) if op.scaling is not None else None
        i = np.arange(half)
        if op.style.data.value == "half":
            first, second = i, i + half
        else:
            first, second = 2 * i, 2 * i + 1

        def to_table(v: np.ndarray) -> np.ndarray:
            if table_type == "bf16":
                return _bf16_to_f32(bf16_bits(v))
            if table_type == "f16":
                return _round_f16(v).astype(np.float32)
            return v

        def run() -> None:
            xv = x().reshape(tokens, width // head_dim, head_dim)
            angle = positions.reshape(-1).astype(np.float32)[:, None] * inv_freq().reshape(-1)
            cos, sin = np.cos(angle), np.sin(angle)
            if scaling is not None:
                cos, sin = cos * scaling, sin * scaling
            c, s = to_table(cos)[:, None, :], to_table(sin)[:, None, :]
            xj, xk = xv[..., first], xv[..., second]
            out = xv.copy()
            out[..., first] = xj * c - xk * s
            out[..., second] = xk * c + xj * s
            write(out.reshape(tokens, width))

        return run

    def _softmax(self, op: SoftmaxOp, what: str) -> Fn:
        x = self._in(op.x, f"{what} x")
        write = self._out(op.out, f"{what} out")
        mask = self._in(op.mask, f"{what} mask") if op.mask is not None else None
        scale = np.float32(op.scale.value.data) if op.scale is not None else None
        cap = np.float32(op.softcap.value.data) if op.softcap is not None else None

        def run() -> None:
            s = x()
            if scale is not None:
                s *= scale
            if cap is not None:
                s = cap * np.tanh(s / cap)
            if mask is not None:
                s += mask()
            e = np.exp(s - np.max(s, axis=-1, keepdims=True))
            e /= np.sum(e, axis=-1, keepdims=True)
            write(e)

        return run

    def _reduce(self, op: ReduceOp, what: str) -> Fn:
        x = self._in(op.x, f"{what} x")
        write = self._out(op.out, f"{what} out")
        f = _REDUCE[op.kind.data.value]
        axis = op.axis.value.data
        return lambda: write(f(x(), axis=axis, keepdims=True))

    def _topk(self, op: TopKOp, what: str) -> Fn:
        x = self._in(op.x, f"{what} x")
        write_values = self._out(op.values, f"{what} values")
        indices = self._view(op.indices, f"{what} indices")
        k = op.k.value.data

        def run() -> None:
            xv = x()
            # as axc.interp: a stable sort of -x puts the lower index first among equals
            order = np.argsort(-xv, axis=-1, kind="stable")[..., :k]
            write_values(np.take_along_axis(xv, order, axis=-1))
            indices[...] = order

        return run

    def _transpose(self, op: TransposeOp, what: str) -> Fn:
        src = self._view(op.x, f"{what} x")
        dst = self._view(op.out, f"{what} out")
        perm = op.get_perm()
        return lambda: np.copyto(dst, np.transpose(src, perm))

    def _gather(self, op: GatherOp, what: str) -> Fn:
        table = self._view(op.table, f"{what} table")
        indices = self._view(op.indices, f"{what} indices")
        dst = self._view(op.out, f"{what} out")
        rows = op.table.get_shape()[0]

        def run() -> None:
            idx = indices.reshape(-1).astype(np.int64)
            bad = (idx < 0) | (idx >= rows)
            if bad.any():
                raise SimulationError(f"{what}: index {int(idx[bad][0])} is outside the "
                                      f"table of {rows} rows")
            dst[...] = table[idx]

        return run

    # -- scheduling

    def _schedule(self, ops: list[InstructionOp]) -> list[list[int]] | None:
        """Each instruction's dep positions, or None when the group has no dependence
        information (some instruction without an id)."""
        position: dict[int, int] = {}
        for pos, op in enumerate(ops):
            ident = op.get_id()
            if ident is None:
                return None
            position[ident] = pos
        deps = []
        for pos, op in enumerate(ops):
            mine = []
            for d in op.get_deps():
                if d not in position:
                    raise SimulationError(f"{_describe(op, pos)} depends on unknown id {d}")
                mine.append(position[d])
            deps.append(mine)
        return deps

    @property
    def has_deps(self) -> bool:
        return self._position is not None

    def order(self, shuffle_seed: int | None) -> list[int]:
        """Program order, or a random topological order of the dependence DAG."""
        n = len(self.instrs)
        if shuffle_seed is None or self._position is None:
            return list(range(n))
        rng = random.Random(shuffle_seed)
        users: list[list[int]] = [[] for _ in range(n)]
        waiting = [0] * n
        for pos, deps in enumerate(self._position):
            waiting[pos] = len(deps)
            for d in deps:
                users[d].append(pos)
        ready = [p for p in range(n) if not waiting[p]]
        order: list[int] = []
        while ready:
            k = rng.randrange(len(ready))
            ready[k], ready[-1] = ready[-1], ready[k]
            pos = ready.pop()
            order.append(pos)
            for u in users[pos]:
                waiting[u] -= 1
                if not waiting[u]:
                    ready.append(u)
        if len(order) != n:
            raise SimulationError(f"group @{self.name}: the dependences have a cycle")
        return order

    # -- running

    def _fill_weights(self, weights: Weights) -> None:
        get = weights.__getitem__ if isinstance(weights, Mapping) else weights
        changed = False
        for name, buffer in self.buffers.items():
            if buffer.kind.data != "weight":
                continue
            try:
                blob = get(name)
            except KeyError:
                blob = self._constant(buffer)
                if blob is None:
                    raise SimulationError(f"group @{self.name}: no bytes for weight buffer "
                                          f"@{name}") from None
            if blob is self._loaded.get(name):
                continue
            data = _as_bytes(blob)
            target = self._buffer_bytes[name]
            if data.size != target.size:
                raise SimulationError(f"weight @{name} has {data.size} bytes, its buffer "
                                      f"holds {target.size}")
            immutable = isinstance(blob, bytes) or (
                isinstance(blob, np.ndarray) and not blob.flags.writeable)
            if immutable and self.sim.lazy_weights:  # copied when an instruction reads it
                self._stale[name] = (data, np.ones(-(-data.size // _BLOCK), dtype=bool))
            else:
                self._stale.pop(name, None)
                np.copyto(target, data)
            self._loaded[name] = blob if immutable else None
            self._versions[name] = self.sim.version_of(blob if immutable else None)
            changed = True
        if changed or len(self._load_versions) != len(self._loads):
            self._load_versions = [tuple(self._versions[b] for b in w.buffers)
                                   for w in self._loads]

    def _fresh(self, fn: Fn, spans: list[tuple[str, int, int]]) -> Fn:
        """`fn` preceded by copying into DDR the still pending blocks of the weight bytes it
        reads (`spans`: buffer name, [lo, hi) within the buffer).

        Weight blobs reach DDR lazily, block by block: with cached matmuls most runs read
        few weight bytes from DDR, so a program shared by layers of one shape does not copy
        each layer's weights in every run."""
        if not spans:
            return fn
        stale, views = self._stale, self._buffer_bytes
        blocks = [(name, lo // _BLOCK, -(-hi // _BLOCK)) for name, lo, hi in spans]

        def run() -> None:
            if stale:
                for name, b0, b1 in blocks:
                    entry = stale.get(name)
                    if entry is None:
                        continue
                    data, mask = entry
                    for b in np.flatnonzero(mask[b0:b1]) + b0:
                        lo = int(b) * _BLOCK
                        views[name][lo: lo + _BLOCK] = data[lo: lo + _BLOCK]
                    mask[b0:b1] = False
                    if not mask.any():
                        del stale[name]
            fn()

        return run

    def _weight_spans(self, accs: list[Access]) -> list[tuple[str, int, int]]:
        """(buffer, lo, hi): the bytes of weight buffers that DDR accesses in `accs` span."""
        spans = []
        for acc in accs:
            if acc.space != "ddr":
                continue
            for name, buf in self._weight_accs:
                lo, hi = max(acc.offset, buf.offset), min(acc.end, buf.end)
                if lo < hi:
                    spans.append((name, lo - buf.offset, hi - buf.offset))
        return spans

    def _constant(self, buffer: BufferOp) -> bytes | None:
        """A compiler constant's bytes, from the buffer's `data` attribute (hex), if any."""
        data = buffer.attributes.get("data")
        if not isinstance(data, StringAttr):
            return None
        name = buffer.sym_name.data
        if name not in self._constants:
            self._constants[name] = bytes.fromhex(data.data)
        return self._constants[name]

    def _fill_inputs(self, inputs: Mapping[str, np.ndarray]) -> None:
        names = [n for n, b in self.buffers.items() if b.kind.data == "input"]
        missing = [n for n in names if n not in inputs]
        # an empty tensor (a prefill group's K_cache with no cached rows) has no bytes, so no
        # buffer: accept and ignore it
        extra = sorted(n for n in set(inputs) - set(names) if np.size(inputs[n]))
        if missing or extra:
            raise SimulationError(f"group @{self.name} takes inputs {names}; missing "
                                  f"{missing}, unexpected {extra}")
        for name in names:
            view = self.buffers[name].view
            raw = self._buffer_views[name]
            value = np.asarray(inputs[name])
            if value.size != view.numel:
                raise SimulationError(f"input {name} has shape {list(value.shape)}, the "
                                      f"buffer is {list(view.get_shape())} {view.dtype.data}")
            dtype = view.dtype.data
            value = value.reshape(view.get_shape())
            if dtype == "bf16" and value.dtype == np.uint16:  # raw bf16 bits: no rounding
                raw[...] = value
            elif dtype in ("bf16", "f16", "f32"):
                raw[...] = _float_storage(value.astype(np.float32), dtype)
            elif dtype in _INTS:
                raw[...] = value.astype(_RAW[dtype])
            else:
                raise SimulationError(f"input {name}: {dtype} inputs are not supported")

    def run(self, inputs: Mapping[str, np.ndarray], weights: Weights,
            shuffle_seed: int | None = None,
            profile: dict[str, list[float]] | None = None) -> dict[str, np.ndarray]:
        """Execute the group; return its `output` buffers (floats as fp32).

        `profile`, when given, receives (seconds, count) per instruction label."""
        self._fill_weights(weights)
        for space, mem in self.mem.items():  # fresh on-chip memory, cleared scratch/outputs
            if space != "ddr":
                mem.fill(0)
        for name, buffer in self.buffers.items():
            if buffer.kind.data in ("output", "scratch"):
                self._buffer_bytes[name].fill(0)
        self._fill_inputs(inputs)
        self._live.clear()
        instrs = self.instrs
        threads = blas.one_thread()  # small tiles: BLAS threads cost more than they give
        try:
            with np.errstate(all="ignore"):  # inf and NaN are values, as on the device
                if profile is None:
                    for pos in self.order(shuffle_seed):
                        instrs[pos].fn()
                else:
                    clock = time.perf_counter
                    for pos in self.order(shuffle_seed):
                        instr = instrs[pos]
                        start = clock()
                        instr.fn()
                        entry = profile.setdefault(instr.label, [0.0, 0])
                        entry[0] += clock() - start
                        entry[1] += 1
        finally:
            blas.restore(threads)
        return self.outputs()

    def outputs(self) -> dict[str, np.ndarray]:
        result = {}
        for name, buffer in self.buffers.items():
            if buffer.kind.data != "output":
                continue
            raw = self._buffer_views[name]
            dtype = buffer.view.dtype.data
            if dtype == "bf16":
                result[name] = _bf16_to_f32(raw)
            elif dtype == "s4":
                result[name] = unpack_s4(raw)
            else:
                result[name] = raw.astype(np.float32 if dtype in ("f16", "f32") else raw.dtype)
        return result


def _as_bytes(blob: Any) -> np.ndarray:
    """A weight blob (bytes-like or array) as a flat uint8 array, without copying."""
    if isinstance(blob, np.ndarray):
        return np.ascontiguousarray(blob).reshape(-1).view(np.uint8)
    return np.frombuffer(blob, dtype=np.uint8)


class FunctionalSimulator:
    """The functional simulator of one program: compiled groups and the dequantised-weight
    cache (shared by the groups, which share the layer's weights).

    `lazy_weights` / `cache_weights` switch the two optimisations off (results are the same;
    tests compare both paths). `cache_bytes` bounds the fp32 weight cache (LRU).
    """

    def __init__(self, program: ProgramOp, *, lazy_weights: bool = True,
                 cache_weights: bool = True, cache_bytes: int = 3 << 30) -> None:
        self.program = program
        self.lazy_weights = lazy_weights
        self.cache_weights = cache_weights and lazy_weights
        self.cache_bytes = cache_bytes
        self._groups: dict[int, CompiledGroup] = {}
        self._cache: OrderedDict[Any, np.ndarray] = OrderedDict()
        self._cached_bytes = 0
        self._blobs: OrderedDict[int, tuple[Any, int]] = OrderedDict()
        self._next_version = 0
        self.hits = 0
        self.misses = 0

    def find_group(self, group: str | int | GroupOp) -> GroupOp:
        if isinstance(group, GroupOp):
            return group
        for g in self.program.groups():
            if (g.sym_name.data == group) if isinstance(group, str) else (
                    g.index.value.data == group):
                return g
        names = [(g.sym_name.data, g.index.value.data) for g in self.program.groups()]
        raise SimulationError(f"program @{self.program.sym_name.data} has no group {group!r}; "
                              f"groups: {names}")

    def compiled(self, group: str | int | GroupOp) -> CompiledGroup:
        """The group's compiled form, rebuilt when its IR changed since it was compiled."""
        op = self.find_group(group)
        found = self._groups.get(id(op))
        if found is None or found.group is not op or found.fingerprint != _fingerprint(op):
            found = CompiledGroup(self, op)
            self._groups[id(op)] = found
        return found

    def run(self, group: str | int | GroupOp, inputs: Mapping[str, np.ndarray],
            weights: Weights, shuffle_seed: int | None = None) -> dict[str, np.ndarray]:
        return self.compiled(group).run(inputs, weights, shuffle_seed)

    # -- weight identity and the fp32 cache

    def version_of(self, blob: Any) -> int:
        """A number identifying an immutable blob's contents (None: always a new one)."""
        if blob is not None:
            entry = self._blobs.get(id(blob))
            if entry is not None and entry[0] is blob:
                self._blobs.move_to_end(id(blob))
                return entry[1]
        self._next_version += 1
        if blob is not None:
            self._blobs[id(blob)] = (blob, self._next_version)
            while len(self._blobs) > 65536:
                self._blobs.popitem(last=False)
        return self._next_version

    def cache_get(self, key: Any) -> np.ndarray | None:
        w = self._cache.get(key)
        if w is None:
            self.misses += 1
            return None
        self.hits += 1
        self._cache.move_to_end(key)
        return w

    def cache_put(self, key: Any, w: np.ndarray) -> None:
        if w.nbytes > self.cache_bytes:
            return
        self._cache[key] = w
        self._cached_bytes += w.nbytes
        while self._cached_bytes > self.cache_bytes:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.nbytes

    def clear_cache(self) -> None:
        self._cache.clear()
        self._cached_bytes = 0


_SIMULATORS: OrderedDict[int, FunctionalSimulator] = OrderedDict()
_MAX_SIMULATORS = 64
"""Programs whose simulators `simulator_for` keeps (least recently used dropped first). A
bounded table rather than weak references: a simulator refers to its program through the
IR, so a weak-keyed table would never let go of either."""


def simulator_for(program: ProgramOp) -> FunctionalSimulator:
    """The cached simulator of `program` (compiled groups and weight cache persist)."""
    sim = _SIMULATORS.get(id(program))
    if sim is None or sim.program is not program:
        sim = _SIMULATORS[id(program)] = FunctionalSimulator(program)
        while len(_SIMULATORS) > _MAX_SIMULATORS:
            _SIMULATORS.popitem(last=False)
    _SIMULATORS.move_to_end(id(program))
    return sim


def run_group(program_op: ProgramOp, group: str | int, inputs: Mapping[str, np.ndarray],
              weights: Weights, shuffle_seed: int | None = None) -> dict[str, np.ndarray]:
    """Run one group (by name or index) of `program_op` on `inputs` (by buffer name; floats
    are rounded to the buffer dtype) with `weights` (buffer name -> bytes, or a callable).

    Returns the `output` buffers in their shapes, floats as fp32. `shuffle_seed` executes a
    random topological order of the deps (program order when the IR has no ids).
    """
    return simulator_for(program_op).run(group, inputs, weights, shuffle_seed)


def run_program(program_op: ProgramOp, inputs: Mapping[str, np.ndarray], weights: Weights,
                group: str | int = 0) -> dict[str, np.ndarray]:
    """`run_group` of group 0 (decode) by default."""
    return run_group(program_op, group, inputs, weights)

