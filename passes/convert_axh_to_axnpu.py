"""convert-axh-to-axnpu: instruction selection, one axh op -> axnpu instructions.

Postcondition (state `axnpu`): the module holds one `axnpu.program @<module name or "model">`
with the chip facts of `chip` (option, else the module's `axc.chip`, default AX650; a name or
a chip-file path) in `npu_mode` (option, else `axc.npu_mode`), and one `axnpu.group` per
`func.func`, in func order (index 0 = the first, decode). Each group:
- declares its DDR buffers: the func's arguments (`kind = "input"`, named as the arguments),
  results (`kind = "output"`: one result is `output`; three are `output`, `K_cache_out`,
  `V_cache_out` as the runtime contract; two (post-topk) are `indices`, `probs`; else
  `output_<i>`), the weights it reads (`kind = "weight"`, named as the
  weight-store entry, also in the `weight` attribute, at the same offset in every group) and
  compiler constants (`kind = "weight"`, `<func>.const_<i>`, bytes in the `data` attribute);
- lists untiled instructions whose temporaries live in `vocm`, each in its own 64-byte
  aligned range, never reused; no `eu`, `deps` or `id`.
Numerics follow axc/interp.py per instruction: compute in fp32, round each result to its
element type; matmuls and attention accumulate in fp32 (attention scores and probabilities
stay f32 between its instructions, as the reference computes them in one op).
An op that cannot be lowered raises an OpError naming it. See docs/lowering.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass

from axc.chip import Chip, load_chip
from axc.diagnostics import OpError
from axc.dialects import axh
from axc.dialects import axnpu as npu
from axc.lowering_layout import (
    DATA_ATTR,
    WEIGHT_ATTR,
    Ref,
    align,
    copy_patterns,
    encode,
    nbytes,
    view_of,
)
from axc.progress import stage
from axc.state import get_chip, require_state, set_state

NPU_MODE_ATTR = "axc.npu_mode"
OUTPUT_NAMES = ("output", "K_cache_out", "V_cache_out")
TOPK_NAMES = ("indices", "probs")
"""Output buffers of a post function ending in top-k (`post-topk`): ids, probabilities."""


def chip_of(module: ModuleOp, chip: str | None, npu_mode: str | None) -> Chip:
    """The target chip: the pass option, else the module's `axc.chip` / `axc.npu_mode`."""
    mode = npu_mode
    if mode is None and isinstance(attr := module.attributes.get(NPU_MODE_ATTR), StringAttr):
        mode = attr.data
    try:
        return load_chip(chip or get_chip(module), mode)
    except Exception as err:  # AxcError: unknown chip or mode
        raise OpError(module, str(err)) from None


def dtype_of(element: Attribute) -> str:
    """The axnpu dtype that stores an axh element type (i64 narrows to i32, i1 is s8 0/1)."""
    if isinstance(element, Float32Type):
        return "f32"
    if isinstance(element, BFloat16Type):
        return "bf16"
    if isinstance(element, Float16Type):
        return "f16"
    if isinstance(element, IntegerType):
        width = element.width.data
        if width == 4:
            return "s4"
        if width in (1, 8):
            return "s8"
        unsigned = element.signedness.data == Signedness.UNSIGNED
        return "u32" if unsigned and width == 32 else "i32"
    raise ValueError(f"no axnpu dtype for {element}")


def _ttype(value: SSAValue) -> TensorType:
    assert isinstance(value.type, TensorType)
    return value.type


def shape_of(value: SSAValue) -> tuple[int, ...]:
    return tuple(_ttype(value).get_shape())


def vdtype(value: SSAValue) -> str:
    return dtype_of(_ttype(value).element_type)


@dataclass
class Const:
    """A compile-time tensor (axh.constant / axh.iota), materialised only when needed."""

    array: np.ndarray
    dtype: str


@dataclass
class Weight:
    """A weight-store tensor in its DDR buffer."""

    name: str
    ref: Ref


@dataclass
class WeightTable:
    """Program-wide DDR offsets of the weights, so every group shares them."""

    offsets: dict[str, tuple[int, tuple[int, ...], str]] = field(default_factory=dict)
    end: int = 0

    def add(self, name: str, shape: tuple[int, ...], dtype: str) -> None:
        if name not in self.offsets:
            self.offsets[name] = (self.end, shape, dtype)
            self.end = align(self.end + max(1, nbytes(shape, dtype)))


_UNARY = {
    axh.UnaryKind.NEG: "neg", axh.UnaryKind.EXP: "exp", axh.UnaryKind.LOG: "log",
    axh.UnaryKind.SQRT: "sqrt", axh.UnaryKind.RSQRT: "rsqrt",
    axh.UnaryKind.RECIPROCAL: "recip", axh.UnaryKind.TANH: "tanh",
    axh.UnaryKind.SIGMOID: "sigmoid", axh.UnaryKind.COS: "cos", axh.UnaryKind.SIN: "sin",
    axh.UnaryKind.ABS: "abs", axh.UnaryKind.RELU: "relu", axh.UnaryKind.ERF: "erf",
    axh.UnaryKind.SQUARE: "square",
}
_BINARY = {axh.BinaryKind.POW: "pow", axh.BinaryKind.MAXIMUM: "max",
           axh.BinaryKind.MINIMUM: "min"}
_COMPARE = {p: f"cmp_{p.value}" for p in axh.ComparePredicate}
_COMMUTATIVE = {"add", "mul", "max", "min", "cmp_eq", "cmp_ne"}
_SWAPPED = {"cmp_lt": "cmp_gt", "cmp_gt": "cmp_lt", "cmp_le": "cmp_ge", "cmp_ge": "cmp_le"}


def _dense_permutation(ref: Ref) -> bool:
    """Whether ref covers exactly `numel` consecutive elements from its offset (a transposed
    or reshaped view of a contiguous tensor), so it can be loaded as one flat block."""
    dims = sorted(((s, d) for d, s in zip(ref.shape, ref.strides, strict=True) if d != 1),
                  reverse=True)
    expect = 1
    for s, d in reversed(dims):
        if s != expect:
            return False
        expect *= d
    return True


class GroupLowering:
    """Lowers one func.func into the buffers and instructions of one axnpu.group."""

    def __init__(self, fn: func.FuncOp, weights: WeightTable, io_base: int):
        self.fn = fn
        self.weights = weights
        self.ddr_end = io_base
        self.vocm_end = 0
        self.buffers: list[npu.BufferOp] = []
        self.instrs: list[Operation] = []
        self.env: dict[SSAValue, Ref | Const | Weight] = {}
        self.weight_bufs: dict[str, Ref] = {}
        self.consts = 0
        self.loaded: dict[Ref, Ref] = {}

    # -- memory ------------------------------------------------------------------------------

    def alloc(self, shape: Sequence[int], dtype: str) -> Ref:
        """A fresh contiguous temporary in vocm."""
        ref = Ref.contiguous("vocm", self.vocm_end, tuple(shape), dtype)
        self.vocm_end = align(self.vocm_end + max(1, nbytes(shape, dtype)))
        return ref

    def ddr_buffer(self, name: str, shape: Sequence[int], dtype: str, kind: str,
                   **attrs: Attribute) -> Ref:
        shape = tuple(shape) or (1,)
        ref = Ref.contiguous("ddr", self.ddr_end, shape, dtype)
        if prod(shape) == 0:  # e.g. an empty KV cache: no bytes, no buffer
            return ref
        self.ddr_end = align(self.ddr_end + nbytes(shape, dtype))
        buf = npu.BufferOp(name, npu.View("ddr", ref.offset, shape, dtype), kind)
        buf.attributes.update(attrs)
        self.buffers.append(buf)
        return ref

    def weight_ref(self, name: str) -> Ref:
        if name not in self.weight_bufs:
            offset, shape, dtype = self.weights.offsets[name]
            ref = Ref.contiguous("ddr", offset, shape or (1,), dtype)
            buf = npu.BufferOp(name, npu.View("ddr", offset, shape or (1,), dtype), "weight")
            buf.attributes[WEIGHT_ATTR] = StringAttr(name)
            self.buffers.append(buf)
            self.weight_bufs[name] = ref
        ref = self.weight_bufs[name]
        return ref

    def const_ref(self, c: Const) -> Ref:
        name = f"{self.fn.sym_name.data}.const_{self.consts}"
        self.consts += 1
        shape = c.array.shape or (1,)
        ref = self.ddr_buffer(name, shape, c.dtype, "weight",
                              **{DATA_ATTR: StringAttr(encode(c.array, c.dtype).hex())})
        return ref

    # -- values ------------------------------------------------------------------------------

    def ref(self, value: SSAValue) -> Ref:
        """The value as a Ref (constants are materialised into a DDR constant buffer)."""
        v = self.env[value]
        if isinstance(v, Weight):
            return v.ref
        if isinstance(v, Const):
            ref = self.const_ref(v)
            self.env[value] = ref
            return ref
        return v

    def copy(self, src: Ref, dst: Ref, op: Operation) -> None:
        """DMA every element of src into dst (same shape and dtype)."""
        if src.numel == 0:
            return
        if src.space == "ddr" and dst.space == "ddr":
            tmp = self.alloc(src.shape, src.dtype)
            self.copy(src, tmp, op)
            src = tmp
        on_s, on_d = src.space != "ddr", dst.space != "ddr"
        cls = npu.DmaCopyOp if on_s and on_d else (npu.DmaLoadOp if on_d else npu.DmaStoreOp)
        if src.is_contiguous() and dst.is_contiguous():
            size = nbytes(src.shape, src.dtype)
            self.instrs.append(cls(npu.Region(src.space, src.offset, size),
                                   npu.Region(dst.space, dst.offset, size)))
            return
        if npu.DTYPE_BITS[src.dtype] < 8:
            raise OpError(op, f"a strided copy of {src.dtype} data has no DMA form")
        pats = copy_patterns(src, dst)
        if len(pats) > 4096:
            raise OpError(op, f"a layout change of {list(src.shape)} needs {len(pats)} DMAs")
        for p in pats:
            s_size = (p.rows - 1) * p.src_stride + p.row_bytes
            d_size = (p.rows - 1) * p.dst_stride + p.row_bytes
            s_reg = npu.Region(src.space, p.src_offset, s_size)
            d_reg = npu.Region(dst.space, p.dst_offset, d_size)
            if p.rows == 1 or (p.src_stride == p.row_bytes and p.dst_stride == p.row_bytes):
                self.instrs.append(cls(npu.Region(src.space, p.src_offset, s_size),
                                       npu.Region(dst.space, p.dst_offset, s_size)))
            else:
                self.instrs.append(cls(s_reg, d_reg, rows=p.rows, row_bytes=p.row_bytes,
                                       src_stride_bytes=p.src_stride,
                                       dst_stride_bytes=p.dst_stride))

    def materialize(self, ref: Ref, op: Operation, shape: Sequence[int] | None = None) -> Ref:
        """A contiguous on-chip copy of ref."""
        out = self.alloc(ref.shape, ref.dtype)
        self.copy(ref, out, op)
        return out if shape is None else out.reshape(shape)  # type: ignore[return-value]

    def onchip(self, ref: Ref, op: Operation) -> Ref:
        """ref in vocm: a DDR tensor is loaded once per group (broadcast dims not repeated)."""
        if ref.space != "ddr":
            return ref
        base = ref.squeeze_broadcast()
        dense = _dense_permutation(base)
        key = Ref("ddr", base.offset, (base.numel,), (1,), base.dtype) if dense else base
        if key not in self.loaded:
            self.loaded[key] = self.materialize(key, op)
        loaded = self.loaded[key]
        if dense:  # the same bytes in the same order: keep the strides
            return Ref(loaded.space, loaded.offset, ref.shape, ref.strides, ref.dtype)
        return Ref(loaded.space, loaded.offset, ref.shape,
                   tuple(0 if s == 0 else ls for s, ls in zip(ref.strides, loaded.strides,
                                                             strict=True)), ref.dtype)

    def view(self, ref: Ref, op: Operation, shape: Sequence[int] | None = None,
             broadcast: bool = False) -> npu.ViewAttr:
        """An on-chip view of ref (in `shape`), copying it only when it has no view form."""
        ref = self.onchip(ref, op)
        if broadcast:
            ref = ref.squeeze_broadcast()
        v = view_of(ref, shape)
        if v is None:
            ref = self.materialize(ref, op)
            if broadcast:
                ref = ref.squeeze_broadcast()
            v = view_of(ref, shape)
        assert v is not None
        return v

    def operand(self, value: SSAValue, op: Operation, shape=None) -> npu.ViewAttr:
        return self.view(self.ref(value), op, shape)

    def set(self, value: SSAValue, ref: Ref | Const | Weight) -> None:
        self.env[value] = ref

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> npu.GroupOp:
        block = self.fn.body.block
        for arg in block.args:
            name = arg.name_hint or f"arg{arg.index}"
            self.set(arg, self.ddr_buffer(name, shape_of(arg), vdtype(arg), "input"))
        for op in block.ops:
            if isinstance(op, func.ReturnOp):
                self.lower_return(op)
                continue
            method = getattr(self, "lower_" + op.name.replace(".", "_"), None)
            if method is None:
                raise OpError(op, f"convert-axh-to-axnpu: '{op.name}' cannot be lowered to "
                                  "axnpu (no instruction selection for it)")
            method(op)
        return npu.GroupOp(self.fn.sym_name.data, 0, [*self.buffers, *dead_code(self.instrs)])

    def lower_return(self, op: func.ReturnOp) -> None:
        names = {1: ("output",), 2: TOPK_NAMES, 3: OUTPUT_NAMES}.get(len(op.arguments))
        for i, value in enumerate(op.arguments):
            name = names[i] if names else f"output_{i}"
            shape = shape_of(value)
            dst = self.ddr_buffer(name, shape, vdtype(value), "output")
            src = self.ref(value)
            self.copy(self.onchip(src, op), dst.reshape(src.shape) or dst, op)

    # -- sources -----------------------------------------------------------------------------

    def lower_axh_weight(self, op: axh.WeightOp) -> None:
        name = op.weight_name.data
        self.set(op.result, Weight(name, self.weight_ref(name)))

    def lower_axh_constant(self, op: axh.ConstantOp) -> None:
        shape = shape_of(op.result)
        values = np.array(op.value.get_values()).reshape(shape)
        self.set(op.result, Const(values, vdtype(op.result)))

    def lower_axh_iota(self, op: axh.IotaOp) -> None:
        (count,) = shape_of(op.result)
        values = op.start.value.data + op.step.value.data * np.arange(count, dtype=np.int64)
        self.set(op.result, Const(values, vdtype(op.result)))

    # -- layout (view changes; copies only when a form cannot be expressed) -----------------

    def lower_axh_reshape(self, op: axh.ReshapeOp) -> None:
        src = self.env[op.input]
        shape = shape_of(op.result)
        if isinstance(src, Const):
            self.set(op.result, Const(src.array.reshape(shape), src.dtype))
            return
        ref = self.ref(op.input)
        out = ref.reshape(shape)
        if out is None:
            out = self.materialize(ref, op).reshape(shape)
        self.set(op.result, out)

    def lower_axh_transpose(self, op: axh.TransposeOp) -> None:
        perm = op.get_permutation()
        src = self.env[op.input]
        if isinstance(src, Const):
            self.set(op.result, Const(np.transpose(src.array, perm), src.dtype))
            return
        self.set(op.result, self.ref(op.input).permute(perm))

    def lower_axh_slice(self, op: axh.SliceOp) -> None:
        axis, start = op.axis.value.data, op.start.value.data
        end, step = op.end.value.data, op.step.value.data
        src = self.env[op.input]
        if isinstance(src, Const):
            index = (slice(None),) * axis + (slice(start, end, step),)
            self.set(op.result, Const(src.array[index], src.dtype))
            return
        self.set(op.result, self.ref(op.input).slice(axis, start, end, step))

    def lower_axh_broadcast(self, op: axh.BroadcastOp) -> None:
        shape = shape_of(op.result)
        src = self.env[op.input]
        if isinstance(src, Const):
            self.set(op.result, Const(np.broadcast_to(src.array, shape), src.dtype))
            return
        self.set(op.result, self.ref(op.input).broadcast_to(shape))

    def lower_axh_concat(self, op: axh.ConcatOp) -> None:
        axis = op.axis.value.data
        inputs = list(op.inputs)
        if all(isinstance(self.env[v], Const) for v in inputs):
            arrays = [self.env[v].array for v in inputs]  # type: ignore[union-attr]
            self.set(op.result, Const(np.concatenate(arrays, axis), vdtype(op.result)))
            return
        out = self.alloc(shape_of(op.result), vdtype(op.result))
        start = 0
        for v in inputs:
            size = shape_of(v)[axis]
            self.copy(self.ref(v), out.slice(axis, start, start + size), op)
            start += size
        self.set(op.result, out)

    # -- linear algebra ----------------------------------------------------------------------

    def load_weight(self, value: SSAValue, op: Operation, shape=None) -> npu.ViewAttr:
        """A weight operand DMA'd whole into vocm (axnpu-tile splits the load per tile)."""
        ref = self.ref(value)
        if shape is not None:
            ref = ref.reshape(shape) or ref
        return self.view(ref, op)

    def lower_axh_linear(self, op: axh.LinearOp) -> None:
        xs = shape_of(op.input)
        n, k = shape_of(op.weight)
        m = prod(xs[:-1])
        x = self.operand(op.input, op, (m, k))
        w = self.load_weight(op.weight, op)
        scale = zero = bias = None
        group_size = None
        if op.scale is not None:
            scale = self.load_weight(op.scale, op)
            groups = shape_of(op.scale)[1]
            group_size = k // groups if groups > 1 else None
        if op.zero is not None:
            zero = self.load_weight(op.zero, op)
        if op.bias is not None:
            bias = self.load_weight(op.bias, op)
        out = self.alloc((m, n), vdtype(op.result))
        self.instrs.append(npu.MatmulOp(x, w, view_of(out), scale=scale, zero=zero,
                                        group_size=group_size, bias=bias))
        self.set(op.result, out.reshape(shape_of(op.result)))

    def lower_axh_matmul(self, op: axh.MatmulOp) -> None:
        a, b = shape_of(op.lhs), shape_of(op.rhs)
        rs = shape_of(op.result)
        batch = rs[:-2]
        lhs = self.onchip(self.ref(op.lhs), op).broadcast_to((*batch, *a[-2:]))
        rhs = self.onchip(self.ref(op.rhs), op).broadcast_to((*batch, *b[-2:]))
        out = self.alloc(rs, vdtype(op.result))
        for idx in np.ndindex(*batch):
            x, w, o = lhs, rhs, out
            for i in idx:
                x, w, o = x.index(0, i), w.index(0, i), o.index(0, i)
            self.instrs.append(npu.MatmulOp(
                self.view(x, op), self.view(w, op), self.view(o, op),
                w_kn=op.transpose_b is None))
        self.set(op.result, out)

    def lower_axh_embedding(self, op: axh.EmbeddingOp) -> None:
        table = self.ref(op.table)
        ids = self.view(self.ref(op.ids), op, (prod(shape_of(op.ids)),))
        rows = prod(shape_of(op.ids))
        out = self.alloc((rows, table.shape[-1]), table.dtype)
        self.instrs.append(npu.GatherOp(view_of(table), ids, view_of(out)))
        self.set(op.result, out.reshape(shape_of(op.result)))

    # -- normalisation, rope, attention ------------------------------------------------------

    def lower_axh_rms_norm(self, op: axh.RMSNormOp) -> None:
        x = self.operand(op.input, op)
        w = self.load_weight(op.weight, op)
        out = self.alloc(shape_of(op.result), vdtype(op.result))
        offset = op.weight_offset.value.data
        self.instrs.append(npu.RmsNormOp(x, view_of(out), eps=op.epsilon.value.data, weight=w,
                                         weight_offset=offset or None))
        self.set(op.result, out)

    def lower_axh_layer_norm(self, op: axh.LayerNormOp) -> None:
        x = self.operand(op.input, op)
        w = self.load_weight(op.weight, op)
        b = self.load_weight(op.bias, op)
        out = self.alloc(shape_of(op.result), vdtype(op.result))
        self.instrs.append(npu.LayerNormOp(x, view_of(out), eps=op.epsilon.value.data,
                                           weight=w, bias=b))
        self.set(op.result, out)

    def _rope_source(self, cos: SSAValue, sin: SSAValue):
        """(positions, inv_freq weight, scaling) if cos/sin are cos/sin(cat(f, f)) with
        f = positions * inv_freq, the tables Hugging Face builds; else None."""

        def strip_scale(v: SSAValue) -> tuple[SSAValue, float]:
            o = v.owner
            if isinstance(o, axh.MulOp):
                for a, b in ((o.lhs, o.rhs), (o.rhs, o.lhs)):
                    c = self.env.get(b)
                    if isinstance(c, Const) and c.array.size == 1:
                        return a, float(c.array.reshape(()))
            return v, 1.0

        cos_v, s1 = strip_scale(cos)
        sin_v, s2 = strip_scale(sin)
        co, so = cos_v.owner, sin_v.owner
        if not (isinstance(co, axh.UnaryOp) and isinstance(so, axh.UnaryOp)) or s1 != s2:
            return None
        if co.kind.data != axh.UnaryKind.COS or so.kind.data != axh.UnaryKind.SIN:
            return None
        if co.input != so.input or not isinstance(cat := co.input.owner, axh.ConcatOp):
            return None
        if len(cat.inputs) != 2 or cat.inputs[0] != cat.inputs[1]:
            return None
        if cat.axis.value.data != len(shape_of(cat.result)) - 1:
            return None
        mul = cat.inputs[0].owner
        if not isinstance(mul, axh.MulOp):
            return None
        for p, f in ((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)):
            wv = f
            while isinstance(wv.owner, axh.ReshapeOp | axh.BroadcastOp):
                wv = wv.owner.input
            if not isinstance(wv.owner, axh.WeightOp) or vdtype(wv) != "f32":
                continue
            pv = p
            while isinstance(pv.owner, axh.ReshapeOp | axh.CastOp):
                pv = pv.owner.input
            if isinstance(pv, BlockArgument) and vdtype(pv) in ("u32", "i32"):
                if shape_of(f)[-1] == prod(shape_of(wv)):
                    return pv, wv, s1
        return None

    def lower_axh_rope(self, op: axh.RopeOp) -> None:
        b, h, t, d = shape_of(op.input)
        r = op.rotary_dim.value.data
        found = self._rope_source(op.cos, op.sin) if b == 1 else None
        if found is None:
            self._rope_generic(op)
            return
        positions, inv_freq, scaling = found
        if prod(shape_of(inv_freq)) * 2 != r:
            self._rope_generic(op)
            return
        x = self.onchip(self.ref(op.input), op)
        tok_major = x.permute((0, 2, 1, 3))  # [1, T, H, D]
        xv = view_of(tok_major, (t, h * d))
        if xv is None:
            tok_major = self.materialize(tok_major, op)
            xv = view_of(tok_major, (t, h * d))
        pos = self.view(self.ref(positions), op, (t,))
        freq = self.load_weight(inv_freq, op, (r // 2,))
        out = self.alloc((1, t, h, d), vdtype(op.result))
        style = "interleaved" if op.interleaved else "half"
        # cos/sin keep the tables' element type (f32 after quantize), as the reference
        tables = vdtype(op.cos)
        self.instrs.append(npu.RopeOp(
            xv, pos, freq, view_of(out, (t, h * d)), head_dim=d, style=style,
            scaling=None if scaling == 1.0 else scaling,
            table_dtype=None if tables == vdtype(op.result) else tables))
        self.set(op.result, out.permute((0, 2, 1, 3)))

    def _rope_generic(self, op: axh.RopeOp) -> None:
        """x * cos + rotate(x) * sin with eltwise instructions (any cos/sin tables)."""
        shape = shape_of(op.input)
        r = op.rotary_dim.value.data
        dt = vdtype(op.result)
        x = self.onchip(self.ref(op.input), op)
        if not x.is_contiguous():
            x = self.materialize(x, op)
        cos = self.ref(op.cos)
        sin = self.ref(op.sin)
        b, _, t, _ = shape
        cos4 = self.onchip(cos, op).reshape((b, 1, t, r))
        sin4 = self.onchip(sin, op).reshape((b, 1, t, r))
        part_shape = (*shape[:-1], r)
        xr = x.slice(3, 0, r)
        rot = self.alloc(part_shape, "f32")
        if op.interleaved:
            even, odd = x.slice(3, 0, r, 2), x.slice(3, 1, r, 2)
            self._eltwise("neg", [odd], rot.slice(3, 0, r, 2), op)
            self._eltwise("cast", [even], rot.slice(3, 1, r, 2), op)
        else:
            self._eltwise("neg", [x.slice(3, r // 2, r)], rot.slice(3, 0, r // 2), op)
            self._eltwise("cast", [x.slice(3, 0, r // 2)], rot.slice(3, r // 2, r), op)
        t1 = self.alloc(part_shape, "f32")
        t2 = self.alloc(part_shape, "f32")
        self._eltwise("mul", [xr, cos4 or self.materialize(cos, op)], t1, op)
        self._eltwise("mul", [rot, sin4 or self.materialize(sin, op)], t2, op)
        out = self.alloc(shape, dt)
        self._eltwise("add", [t1, t2], out.slice(3, 0, r), op)
        if r < shape[-1]:
            self.copy(x.slice(3, r, shape[-1]), out.slice(3, r, shape[-1]), op)
        self.set(op.result, out)

    def lower_axh_attention(self, op: axh.AttentionOp) -> None:
        b, hq, t, d = shape_of(op.query)
        _, hkv, s, _ = shape_of(op.key)
        dv = shape_of(op.value)[-1]
        if b != 1:
            raise OpError(op, "convert-axh-to-axnpu: attention with batch > 1 is not supported")
        grp = hq // hkv
        q = self.onchip(self.ref(op.query), op).index(0, 0)  # [Hq, T, D]
        k = self.onchip(self.ref(op.key), op).index(0, 0)  # [Hkv, S, D]
        v = self.onchip(self.ref(op.value), op).index(0, 0)
        mask = self.onchip(self.ref(op.mask), op)
        ms = shape_of(op.mask)
        mask3 = mask.reshape((ms[-3] if len(ms) == 4 else 1, t, s)) if len(ms) == 4 else \
            mask.reshape((1, t, s))
        if mask3 is None:
            mask3 = self.materialize(mask, op).reshape((ms[1] if len(ms) == 4 else 1, t, s))
        per_head_mask = mask3.shape[0] != 1
        out = self.alloc((t, hq, dv), vdtype(op.result))  # token-major: [T, Hq*Dv] for o_proj
        scale = op.scale.value.data
        softcap = op.softcap.value.data if op.softcap is not None else None
        for g in range(hkv):
            kg = self.view(k.index(0, g), op)  # [S, D]
            vg = self.view(v.index(0, g), op)  # [S, Dv]
            qg = q.slice(0, g * grp, (g + 1) * grp)  # [G, T, D]
            og = out.slice(1, g * grp, (g + 1) * grp).permute((1, 0, 2))  # [G, T, Dv]
            qv, ov = view_of(qg, (grp * t, d)), view_of(og, (grp * t, dv))
            if qv is not None and ov is not None and not per_head_mask:
                heads = [(qv, ov, grp)]
            else:
                heads = [(self.view(qg.index(0, j), op), self.view(og.index(0, j), op), 1)
                         for j in range(grp)]
            for j, (xq, xo, rows) in enumerate(heads):
                scores = self.alloc((rows * t, s), "f32")
                self.instrs.append(npu.MatmulOp(xq, kg, view_of(scores)))
                mv = mask3.index(0, g * grp + j if per_head_mask else 0)
                mview = self.view(mv, op)
                probs = self.alloc((rows, t, s), "f32")
                self.instrs.append(npu.SoftmaxOp(view_of(scores, (rows, t, s)), view_of(probs),
                                                 mask=mview, scale=scale, softcap=softcap))
                self.instrs.append(npu.MatmulOp(view_of(probs, (rows * t, s)), vg, xo,
                                                w_kn=True))
        self.set(op.result, out.permute((1, 0, 2)).reshape((1, hq, t, dv))
                 or out.permute((1, 0, 2)))

    # -- element-wise ------------------------------------------------------------------------

    def _eltwise(self, kind: str, inputs: list[Ref], out: Ref, op: Operation,
                 scalar: float | None = None) -> None:
        views = [self.view(r, op, broadcast=True) for r in inputs]
        ov = view_of(out)
        if ov is None:
            tmp = self.alloc(out.shape, out.dtype)
            self._eltwise(kind, inputs, tmp, op, scalar)
            self.copy(tmp, out, op)
            return
        names = ("b", "c")
        extra = {names[i]: v for i, v in enumerate(views[1:])}
        self.instrs.append(npu.EltwiseOp(kind, views[0], ov, scalar=scalar, **extra))

    def _elementwise(self, op: Operation, kind: str, operands: Sequence[SSAValue]) -> None:
        """The generic TENG lowering: one eltwise over the broadcast result shape."""
        result = op.results[0]
        shape = shape_of(result)
        out = self.alloc(shape or (1,), vdtype(result))
        scalar = None
        values = list(operands)
        if len(values) == 2 and kind not in ("select",):
            consts = [isinstance(self.env[v], Const) and self.env[v].array.size == 1
                      for v in values]
            if consts[1] or (consts[0] and (kind in _COMMUTATIVE or kind in _SWAPPED)):
                if consts[0] and not consts[1]:
                    values.reverse()
                    kind = _SWAPPED.get(kind, kind)
                c = self.env[values[1]]
                assert isinstance(c, Const)
                scalar = float(c.array.reshape(()))
                values = values[:1]
        refs = []
        for v in values:
            r = self.ref(v)
            refs.append(r.reshape((1,)) if r.shape == () else r)
        if shape == ():
            out = out.reshape((1,)) or out
        if scalar is not None and len(refs) == 1 and kind in npu.UNARY_KINDS:
            scalar = None
        self._eltwise(kind, refs, out, op, scalar)
        self.set(result, out.reshape(shape) if shape != out.shape else out)

    def lower_axh_add(self, op: axh.AddOp) -> None:
        self._elementwise(op, "add", [op.lhs, op.rhs])

    def lower_axh_sub(self, op: axh.SubOp) -> None:
        self._elementwise(op, "sub", [op.lhs, op.rhs])

    def lower_axh_mul(self, op: axh.MulOp) -> None:
        self._elementwise(op, "mul", [op.lhs, op.rhs])

    def lower_axh_div(self, op: axh.DivOp) -> None:
        self._elementwise(op, "div", [op.lhs, op.rhs])

    def lower_axh_binary(self, op: axh.BinaryOp) -> None:
        self._elementwise(op, _BINARY[op.kind.data], [op.lhs, op.rhs])

    def lower_axh_compare(self, op: axh.CompareOp) -> None:
        self._elementwise(op, _COMPARE[op.predicate.data], [op.lhs, op.rhs])

    def lower_axh_select(self, op: axh.SelectOp) -> None:
        self._elementwise(op, "select", [op.condition, op.true_value, op.false_value])

    def lower_axh_unary(self, op: axh.UnaryOp) -> None:
        self._elementwise(op, _UNARY[op.kind.data], [op.input])

    def lower_axh_silu(self, op: axh.SiluOp) -> None:
        self._elementwise(op, "silu", [op.input])

    def lower_axh_gelu(self, op: axh.GeluOp) -> None:
        tanh = op.approximate.data == axh.GeluApproximation.TANH
        self._elementwise(op, "gelu_tanh" if tanh else "gelu", [op.input])

    def lower_axh_swiglu(self, op: axh.SwiGLUOp) -> None:
        self._elementwise(op, "swiglu", [op.gate, op.up])

    def lower_axh_geglu(self, op: axh.GeGLUOp) -> None:
        tanh = op.approximate.data == axh.GeluApproximation.TANH
        self._elementwise(op, "geglu_tanh" if tanh else "geglu", [op.gate, op.up])

    def lower_axh_cast(self, op: axh.CastOp) -> None:
        src = self.env[op.input]
        dst_t = _ttype(op.result).element_type
        src_t = _ttype(op.input).element_type
        dt = vdtype(op.result)
        if isinstance(src, Const):
            arr = src.array
            if isinstance(dst_t, IntegerType) and dst_t.width.data == 1:
                arr = (arr != 0).astype(np.int8)
            elif isinstance(dst_t, IntegerType):
                arr = np.trunc(arr).astype(np.int64)
            self.set(op.result, Const(arr, dt))
            return
        if dt == vdtype(op.input) and not (
            isinstance(dst_t, IntegerType) and dst_t.width.data == 1
        ):
            # i64 <-> i32 and the like: one storage type, nothing to do
            self.set(op.result, self.ref(op.input))
            return
        if isinstance(dst_t, IntegerType) and dst_t.width.data == 1:
            self._elementwise_scalar(op, "cmp_ne", op.input, 0.0)
            return
        if isinstance(dst_t, IntegerType) and not isinstance(src_t, IntegerType):
            # PyTorch truncates float -> int; cast rounds to nearest, so truncate first
            tmp = self.alloc(shape_of(op.input) or (1,), "f32")
            self._eltwise("trunc", [self.ref(op.input)], tmp, op)
            out = self.alloc(shape_of(op.result) or (1,), dt)
            self._eltwise("cast", [tmp], out, op)
            self.set(op.result, out)
            return
        self._elementwise(op, "cast", [op.input])

    def _elementwise_scalar(self, op: Operation, kind: str, value: SSAValue, s: float) -> None:
        result = op.results[0]
        out = self.alloc(shape_of(result) or (1,), vdtype(result))
        self._eltwise(kind, [self.ref(value)], out, op, scalar=s)
        self.set(result, out)

    def lower_axh_softmax(self, op: axh.SoftmaxOp) -> None:
        shape = shape_of(op.input)
        if op.axis.value.data != len(shape) - 1:
            perm = [i for i in range(len(shape)) if i != op.axis.value.data]
            perm.append(op.axis.value.data)
            x = self.materialize(self.onchip(self.ref(op.input), op).permute(perm), op)
            out = self.alloc(x.shape, vdtype(op.result))
            self.instrs.append(npu.SoftmaxOp(view_of(x), view_of(out)))
            inv = [perm.index(i) for i in range(len(shape))]
            self.set(op.result, out.permute(inv))
            return
        x = self.operand(op.input, op)
        out = self.alloc(shape, vdtype(op.result))
        self.instrs.append(npu.SoftmaxOp(x, view_of(out)))
        self.set(op.result, out)

    def lower_axh_topk(self, op: axh.TopKOp) -> None:
        x = self.operand(op.input, op)
        k = op.k.value.data
        values = self.alloc(shape_of(op.values), vdtype(op.values))
        indices = self.alloc(shape_of(op.indices), "i32")
        self.instrs.append(npu.TopKOp(x, view_of(values), view_of(indices), k=k))
        self.set(op.values, values)
        self.set(op.indices, indices)

    def lower_axh_reduce(self, op: axh.ReduceOp) -> None:
        axes = list(op.axes.get_values())
        ref = self.materialize(self.onchip(self.ref(op.input), op), op)
        kind = op.kind.data.value
        dt = vdtype(op.result)
        if dt not in npu.FLOAT_DTYPES or ref.dtype not in npu.FLOAT_DTYPES:
            raise OpError(op, "convert-axh-to-axnpu: integer axh.reduce has no instruction")
        if kind == "mean" and len(axes) > 1:
            raise OpError(op, "convert-axh-to-axnpu: mean over several axes is not supported")
        for i, axis in enumerate(axes):
            shape = list(ref.shape)
            shape[axis] = 1
            out = self.alloc(shape, dt if i == len(axes) - 1 else "f32")
            self.instrs.append(npu.ReduceOp(kind, view_of(ref), view_of(out), axis=axis))
            ref = out
        self.set(op.result, ref.reshape(shape_of(op.result) or (1,)))


def dead_code(instrs: list[Operation]) -> list[Operation]:
    """Drop instructions whose results nothing reads (e.g. rope tables the rope instruction
    recomputes from positions). Writes to DDR are live; vocm ranges are never reused, so a
    backward scan over exact byte accesses is sound."""
    live: list[npu.Access] = []
    keep: list[Operation] = []
    for ins in reversed(instrs):
        assert isinstance(ins, npu.InstructionOp)
        writes = ins.writes()
        if any(w.space == "ddr" for w in writes) or any(
            w.overlaps(r) for w in writes for r in live
        ):
            keep.append(ins)
            live.extend(ins.reads())
    keep.reverse()
    return keep


def lower_module(module: ModuleOp, chip: Chip) -> npu.ProgramOp:
    """The axnpu.program of a module of axh funcs (see the module docstring)."""
    funcs = [op for op in module.body.block.ops if isinstance(op, func.FuncOp)]
    if not funcs:
        raise OpError(module, "convert-axh-to-axnpu: the module has no func.func to lower")
    weights = WeightTable()
    for fn in funcs:
        for op in fn.walk():
            if isinstance(op, axh.WeightOp):
                weights.add(op.weight_name.data, shape_of(op.result), vdtype(op.result))
    io_base = align(weights.end, 4096)
    groups = []
    ddr_end = io_base
    with stage("lowering op", len(funcs)) as bar:
        for index, fn in enumerate(funcs):
            lowering = GroupLowering(fn, weights, io_base)
            group = lowering.run()
            group.index = npu._i64(index)  # noqa: SLF001
            groups.append(group)
            # room for axnpu-insert-ddr-swap: at worst every temporary spills once
            ddr_end = max(ddr_end, lowering.ddr_end + lowering.vocm_end)
            bar.advance()
    name = module.sym_name.data if module.sym_name is not None else "model"
    limits = chip.program_limits()
    return npu.ProgramOp(
        name, chip=chip.name, ocm_bytes=int(limits["ocm_bytes"]),
        ddr_bytes=align(ddr_end, 1 << 20), cores=chip.cores, conv_per_core=chip.conv_per_core,
        teng_per_core=chip.teng_per_core, sdma_per_core=chip.sdma_per_core, groups=groups)


@dataclass(frozen=True)
class ConvertAxhToAxnpuPass(ModulePass):
    """Instruction selection: axh funcs -> one axnpu.program (see the module docstring)."""

    name = "convert-axh-to-axnpu"

    chip: str | None = None
    npu_mode: str | None = None

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_state(op, self.name, "axh-quantized")
        target = chip_of(op, self.chip, self.npu_mode)
        program = lower_module(op, target)
        for old in list(op.body.block.ops):
            old.detach()
            old.erase(safe_erase=False)
        op.body.block.add_op(program)
        op.attributes["axc.chip"] = StringAttr(self.chip or target.name)
        op.attributes[NPU_MODE_ATTR] = StringAttr(target.npu_mode)
        set_state(op, "axnpu")

