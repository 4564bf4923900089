"""The `.axmodel` container (DESIGN.md section 6; format spec: docs/axmodel.md).

An axmodel is an ONNX ModelProto, so `onnx.load` and Netron open it:

* one node per group (domain `ai.axc.npu`, op_type `Group`) plus one `SelectGroup` node that
  maps the per-group outputs onto the runtime's output names (ONNX graphs are SSA, so the
  groups cannot all write `output`);
* initializers (uint8 `raw_data`): every weight buffer's packed DDR bytes, the encoded
  program header `axc.program` and each group's encoded instruction stream
  `axc.stream.<group>` (a binary encoding of the IR, not its text: see `encode_ops`);
* graph inputs / outputs with the runtime names, dtypes and shapes (dim_param where groups
  differ);
* `metadata_props`: `axc.format`, `axc.format_version`, `axc.metadata` (JSON: chip, groups
  and their signatures, schedule statistics, predicted cycles/ms, compiler version, sha256
  of every blob, the builder's metadata) and, last in the file, `axc.file_sha256`: the
  sha256 of the whole file computed with that 64-character value set to "0" * 64, so any
  altered byte and any truncation is detected before anything else is trusted.

Same inputs give the same bytes: every table is written in a fixed order, JSON with sorted
keys, no timestamps.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import struct
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Attribute, Data, Operation, ParametrizedAttribute

import axc
from axc.atomic import write_atomic
from axc.dialects.axnpu import BufferOp, GroupOp, InstructionOp, ProgramOp
from axc.errors import AxcError

__all__ = [
    "DOMAIN",
    "FORMAT_VERSION",
    "AxModel",
    "AxModelError",
    "GroupInfo",
    "TensorInfo",
    "decode_ops",
    "encode_ops",
    "read_axmodel",
    "seal",
    "write_axmodel",
]

FORMAT_VERSION = 1
"""Bumped on any change a version-1 reader could not read."""
STREAM_VERSION = 1
STREAM_MAGIC = b"AXNS"
DOMAIN = "ai.axc.npu"
IR_VERSION = 10
"""ONNX IR version written (fixed, so files do not change with the installed onnx)."""
PROGRAM_BLOB = "axc.program"
STREAM_PREFIX = "axc.stream."
CHECKSUM_KEY = "axc.file_sha256"
_ZERO_DIGEST = b"0" * 64
# the protobuf bytes of StringStringEntryProto{key: CHECKSUM_KEY, value: <64 bytes>} up to
# the value: field 1 (key) length-delimited, then field 2 (value) of length 64
_CHECKSUM_MARKER = (b"\x0a" + bytes([len(CHECKSUM_KEY)]) + CHECKSUM_KEY.encode()
                    + b"\x12\x40")
_RESERVED_METADATA = frozenset({
    "format", "format_version", "compiler", "compiler_version", "chip", "npu_mode", "groups",
    "blobs", "program", "weight_bytes", "file_bytes",
})

ONNX_DTYPES = {
    "f32": TensorProto.FLOAT, "bf16": TensorProto.BFLOAT16, "f16": TensorProto.FLOAT16,
    "s8": TensorProto.INT8, "s4": TensorProto.INT4, "i32": TensorProto.INT32,
    "u32": TensorProto.UINT32,
}


class AxModelError(AxcError):
    """A file that is not a valid axmodel (corrupted, truncated, wrong version)."""


# -- the instruction-stream encoding -----------------------------------------------------------
#
# stream   := magic "AXNS" | u16 version | u16 flags (0)
#             | u32 n_strings | (u32 len | utf-8 bytes)*
#             | u32 n_attrs   | attr*            (each refers only to earlier attrs)
#             | u32 n_opnames | (u32 string)*    (opcode i = i-th name)
#             | u32 n_ops     | op*
# attr     := 'P' u32 name u16 n (u32 attr)*      ParametrizedAttribute(name)(params)
#           | 'D' u32 name kind payload           Data attribute `name` holding payload
# kind     := 'i' i64 | 'f' f64 | 's' u32 string | 'b' u32 len bytes | 'l' u32 n (u32 attr)*
#           | 'e' u32 string (str enum value) | 'n' i64 (int enum value)
# op       := u16 opcode | u16 n_props (u32 key u32 attr)* | u16 n_attrs (u32 key u32 attr)*
# All integers little-endian; keys are string indices; properties sorted by name, attributes
# in the op's order. Attributes are interned: each distinct attribute is stored once.


class _Encoder:
    def __init__(self) -> None:
        self.strings: dict[str, int] = {}
        self.attrs: dict[Attribute, int] = {}
        self.attr_bytes: list[bytes] = []
        self.opnames: dict[str, int] = {}
        self.ops: list[bytes] = []

    def string(self, text: str) -> int:
        return self.strings.setdefault(text, len(self.strings))

    def attr(self, attr: Attribute) -> int:
        found = self.attrs.get(attr)
        if found is not None:
            return found
        if isinstance(attr, ParametrizedAttribute):
            params = [self.attr(p) for p in attr.parameters]
            rec = b"P" + struct.pack(f"<IH{len(params)}I", self.string(attr.name), len(params),
                                     *params)
        elif isinstance(attr, Data):
            rec = b"D" + struct.pack("<I", self.string(attr.name)) + self._payload(attr)
        else:  # pragma: no cover - every xDSL attribute is one of the two
            raise TypeError(f"cannot encode attribute {attr}")
        index = self.attrs[attr] = len(self.attr_bytes)
        self.attr_bytes.append(rec)
        return index

    def _payload(self, attr: Data) -> bytes:
        data = attr.data
        if isinstance(data, enum.Enum):
            if isinstance(data.value, str):
                return b"e" + struct.pack("<I", self.string(data.value))
            return b"n" + struct.pack("<q", int(data.value))
        if isinstance(data, bool):
            return b"i" + struct.pack("<q", int(data))
        if isinstance(data, int):
            return b"i" + struct.pack("<q", data)
        if isinstance(data, float):
            return b"f" + struct.pack("<d", data)
        if isinstance(data, str):
            return b"s" + struct.pack("<I", self.string(data))
        if isinstance(data, bytes):
            return b"b" + struct.pack("<I", len(data)) + data
        if isinstance(data, tuple):
            items = [self.attr(a) for a in data]
            return b"l" + struct.pack(f"<I{len(items)}I", len(items), *items)
        raise AxcError(f"cannot encode attribute {attr.name} holding {type(data).__name__}")

    def op(self, op: Operation, skip_attrs: Sequence[str] = ()) -> None:
        code = self.opnames.setdefault(op.name, len(self.opnames))
        # properties sorted by name: the same op gives the same bytes however its dict was
        # filled (a pass adds `cycles` last, the parser reads it in print order); attributes
        # keep their order, which printing shows and parsing preserves
        props = sorted(op.properties.items())
        attrs = [(k, v) for k, v in op.attributes.items() if k not in skip_attrs]
        parts = [struct.pack("<HH", code, len(props))]
        for key, value in props:
            parts.append(struct.pack("<II", self.string(key), self.attr(value)))
        parts.append(struct.pack("<H", len(attrs)))
        for key, value in attrs:
            parts.append(struct.pack("<II", self.string(key), self.attr(value)))
        self.ops.append(b"".join(parts))

    def finish(self) -> bytes:
        out = [STREAM_MAGIC, struct.pack("<HH", STREAM_VERSION, 0)]
        out.append(struct.pack("<I", len(self.strings)))
        for text in self.strings:  # dicts keep insertion order == index order
            raw = text.encode()
            out.append(struct.pack("<I", len(raw)) + raw)
        out.append(struct.pack("<I", len(self.attr_bytes)))
        out.extend(self.attr_bytes)
        out.append(struct.pack("<I", len(self.opnames)))
        out.append(struct.pack(f"<{len(self.opnames)}I", *(self.string(n) for n in self.opnames)))
        out.append(struct.pack("<I", len(self.ops)))
        out.extend(self.ops)
        return b"".join(out)


def encode_ops(ops: Sequence[Operation], skip_attrs: Sequence[str] = ()) -> bytes:
    """The binary stream of `ops` (their names, properties and attributes; no regions).

    `skip_attrs` names attributes left out (the writer drops `data`: those bytes are stored
    as a weight initializer instead)."""
    enc = _Encoder()
    for op in ops:
        enc.op(op, skip_attrs)
    # the opcode table strings must exist before `finish` packs it
    for name in list(enc.opnames):
        enc.string(name)
    return enc.finish()


@dataclass
class OpRecord:
    """One decoded op record: its name and (key, attribute) pairs, plus where its bytes are
    in the stream (for tools and tests that patch a stream)."""

    name: str
    properties: dict[str, Attribute]
    attributes: dict[str, Attribute]
    offset: int
    prop_slots: dict[str, int] = field(default_factory=dict)
    """key -> byte offset of the u32 attr index of that property in the stream."""


@dataclass
class DecodedStream:
    strings: list[str]
    attrs: list[Attribute]
    attr_offsets: list[int]
    """Byte offset of each attr record (its tag byte)."""
    ops: list[OpRecord]


class _Cursor:
    def __init__(self, blob: bytes, what: str) -> None:
        self.blob = memoryview(blob)
        self.pos = 0
        self.what = what

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.blob):
            raise AxModelError(f"{self.what}: instruction stream ends early (byte {self.pos})")
        values = struct.unpack_from(fmt, self.blob, self.pos)
        self.pos += size
        return values

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.blob):
            raise AxModelError(f"{self.what}: instruction stream ends early (byte {self.pos})")
        out = bytes(self.blob[self.pos: self.pos + n])
        self.pos += n
        return out


@lru_cache(maxsize=1)
def _registry() -> tuple[dict[str, type[Operation]], dict[bytes, dict[str, type[Attribute]]]]:
    """Op classes by name, and attribute classes by record tag and name (`P` parametrized,
    `D` data: xDSL names are unique only within each kind, e.g. builtin `array` is both
    ArrayAttr and DenseArrayBase)."""
    from xdsl.dialects.builtin import Builtin

    from axc.dialects.axnpu import AXNPU

    ops: dict[str, type[Operation]] = {}
    attrs: dict[bytes, dict[str, type[Attribute]]] = {b"P": {}, b"D": {}}

    def add(cls: type[Attribute]) -> None:
        tag = b"P" if issubclass(cls, ParametrizedAttribute) else b"D"
        attrs[tag].setdefault(cls.name, cls)

    for dialect in (Builtin, AXNPU):
        ops.update({op.name: op for op in dialect.operations})
        for a in dialect.attributes:
            add(a)
    # attributes no dialect lists (builtin `bytes`, ...): every defined class by its name
    todo: list[type[Attribute]] = [Attribute]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        name = cls.__dict__.get("name")
        if isinstance(name, str) and cls.__module__.startswith(("xdsl.dialects.builtin",
                                                                 "axc.", "dialects.")):
            add(cls)
    return ops, attrs


def decode_ops(blob: bytes, what: str = "stream") -> DecodedStream:
    """Decode a stream written by `encode_ops` into attributes and op records."""
    _, attr_classes = _registry()
    cur = _Cursor(blob, what)
    if cur.raw(4) != STREAM_MAGIC:
        raise AxModelError(f"{what}: not an axc instruction stream (bad magic)")
    version, _flags = cur.take("<HH")
    if version != STREAM_VERSION:
        raise AxModelError(f"{what}: instruction stream version {version}, this axc reads "
                           f"version {STREAM_VERSION}; rebuild the model or upgrade axc")
    (n,) = cur.take("<I")
    strings = []
    for _ in range(n):
        (length,) = cur.take("<I")
        try:
            strings.append(cur.raw(length).decode())
        except UnicodeDecodeError as err:
            raise AxModelError(f"{what}: bad string in the instruction stream") from err

    def string(i: int) -> str:
        if i >= len(strings):
            raise AxModelError(f"{what}: string index {i} out of range")
        return strings[i]

    (n,) = cur.take("<I")
    attrs: list[Attribute] = []
    offsets: list[int] = []

    def ref(i: int) -> Attribute:
        if i >= len(attrs):
            raise AxModelError(f"{what}: attribute index {i} refers forward")
        return attrs[i]

    def cls_of(tag: bytes, name: str) -> type[Attribute]:
        cls = attr_classes.get(tag, {}).get(name)
        if cls is None:
            raise AxModelError(f"{what}: unknown attribute '{name}' (written by a newer axc?)")
        return cls

    for _ in range(n):
        offsets.append(cur.pos)
        (tag,) = cur.take("<c")
        (name_i,) = cur.take("<I")
        cls = cls_of(tag, string(name_i))
        try:
            if tag == b"P":
                (count,) = cur.take("<H")
                params = tuple(ref(i) for i in cur.take(f"<{count}I"))
                attrs.append(cls.new(params))  # type: ignore[attr-defined]
            elif tag == b"D":
                attrs.append(_decode_data(cur, cls, string, ref))
            else:
                raise AxModelError(f"{what}: bad attribute tag {tag!r} at byte {cur.pos - 5}")
        except AxModelError:
            raise
        except Exception as err:  # a constructor rejecting decoded values
            raise AxModelError(f"{what}: bad {string(name_i)} attribute at byte "
                               f"{offsets[-1]}: {err}") from err
    (n,) = cur.take("<I")
    opnames = [string(i) for i in cur.take(f"<{n}I")]
    (n,) = cur.take("<I")
    ops = []
    for _ in range(n):
        start = cur.pos
        code, count = cur.take("<HH")
        if code >= len(opnames):
            raise AxModelError(f"{what}: opcode {code} out of range at byte {start}")
        props, slots = {}, {}
        for _ in range(count):
            slots_at = cur.pos + 4
            key_i, attr_i = cur.take("<II")
            key = string(key_i)
            props[key] = ref(attr_i)
            slots[key] = slots_at
        (count,) = cur.take("<H")
        attributes = {}
        for _ in range(count):
            key_i, attr_i = cur.take("<II")
            attributes[string(key_i)] = ref(attr_i)
        ops.append(OpRecord(opnames[code], props, attributes, start, slots))
    if cur.pos != len(cur.blob):
        raise AxModelError(f"{what}: {len(cur.blob) - cur.pos} unexpected bytes after the "
                           "last instruction")
    return DecodedStream(strings, attrs, offsets, ops)


def _decode_data(cur: _Cursor, cls: type[Attribute], string, ref) -> Attribute:
    (kind,) = cur.take("<c")
    if kind == b"i":
        value: Any = cur.take("<q")[0]
    elif kind == b"f":
        value = cur.take("<d")[0]
    elif kind == b"s":
        value = string(cur.take("<I")[0])
    elif kind == b"b":
        value = cur.raw(cur.take("<I")[0])
    elif kind == b"l":
        (count,) = cur.take("<I")
        value = tuple(ref(i) for i in cur.take(f"<{count}I"))
    elif kind in (b"e", b"n"):
        raw = string(cur.take("<I")[0]) if kind == b"e" else cur.take("<q")[0]
        enum_type = getattr(cls, "enum_type", None)
        if enum_type is None:  # a Data holding a plain enum (e.g. SignednessAttr)
            enum_type = type(_enum_sample(cls))
        value = enum_type(raw)
    else:
        raise AxModelError(f"{cur.what}: bad data kind {kind!r} at byte {cur.pos - 1}")
    return cls(value)  # type: ignore[call-arg]


@cache
def _enum_sample(cls: type[Attribute]) -> enum.Enum:
    """A member of the enum a Data class holds (from its type annotation)."""
    import typing

    for base in getattr(cls, "__orig_bases__", ()):
        for arg in typing.get_args(base):
            if isinstance(arg, typing.TypeVar):  # Data[_T] with _T bound to the enum
                arg = arg.__bound__
            if isinstance(arg, type) and issubclass(arg, enum.Enum):
                return next(iter(arg))
    raise AxModelError(f"cannot decode enum attribute {cls.name}")


def _build_op(rec: OpRecord, what: str, regions: Sequence[Any] = ()) -> Operation:
    ops, _ = _registry()
    cls = ops.get(rec.name)
    if cls is None:
        raise AxModelError(f"{what}: unknown instruction '{rec.name}' (written by a newer "
                           "axc?)")
    return cls.create(properties=dict(rec.properties), attributes=dict(rec.attributes),
                      regions=list(regions))


# -- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output of a group: runtime name, shape and axnpu dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class GroupInfo:
    """A group's signature and schedule statistics, from the metadata."""

    name: str
    index: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    instructions: dict[str, int]
    """Instruction count per EU kind (`conv`, `teng`, `sdma`, `none` for barriers)."""
    ops: dict[str, int]
    weights: tuple[str, ...]
    weight_bytes: int
    predicted_cycles: int | None
    predicted_ms: float | None

    @staticmethod
    def from_json(doc: Mapping[str, Any]) -> GroupInfo:
        def tensors(key: str) -> tuple[TensorInfo, ...]:
            return tuple(TensorInfo(t["name"], tuple(t["shape"]), t["dtype"]) for t in doc[key])

        timing = doc.get("timing") or {}
        return GroupInfo(doc["name"], doc["index"], tensors("inputs"), tensors("outputs"),
                         dict(doc["instructions"]), dict(doc["ops"]), tuple(doc["weights"]),
                         doc["weight_bytes"], timing.get("total_cycles"),
                         timing.get("time_ms"))


def _signature(group: GroupOp, kind: str) -> tuple[TensorInfo, ...]:
    return tuple(TensorInfo(b.sym_name.data, b.view.get_shape(), b.view.dtype.data)
                 for b in group.buffers() if b.kind.data == kind)


def _resolve_chip(program: ProgramOp, chip: Any) -> Any:
    """The Chip to predict timing with: given, or the program's chip in the npu_mode whose
    core count matches the program's."""
    from axc.chip import Chip, load_chip

    if isinstance(chip, Chip):
        return chip
    base = load_chip(chip if chip is not None else program.chip.data)
    cores = program.cores.value.data
    for mode, n in base.npu_modes:
        if n == cores:
            return base.with_npu_mode(mode)
    return base


def _timing(program: ProgramOp, chip: Any) -> tuple[str | None, str | None, dict[str, Any]]:
    """(chip name, npu_mode, {group: timing json}); empty when the program has no schedule."""
    from axc.sim.timing import simulate_program

    try:
        resolved = _resolve_chip(program, chip)
    except AxcError:
        if chip is not None:
            raise
        return None, None, {}
    try:
        results = simulate_program(program, resolved)
    except AxcError:  # unscheduled IR (no eu/ids yet): no prediction
        return resolved.name, resolved.npu_mode, {}
    return resolved.name, resolved.npu_mode, {
        name: {"total_cycles": r.total_cycles, "makespan_cycles": r.makespan_cycles,
               "launch_cycles": r.launch_cycles, "time_ms": round(r.time_ms, 6),
               "ddr_bytes": r.ddr_bytes, "clock_mhz": r.clock_mhz}
        for name, r in results.items()}


def _weight_blobs(program: ProgramOp, weights: Mapping[str, Any]) -> dict[str, bytes]:
    """buffer name -> bytes of every weight buffer, checked against the buffer sizes."""
    out: dict[str, bytes] = {}
    for group in program.groups():
        for buf in group.buffers():
            name = buf.sym_name.data
            if buf.kind.data != "weight" or name in out:
                continue
            blob = weights.get(name)
            if blob is None:
                data = buf.attributes.get("data")
                if not isinstance(data, StringAttr):
                    raise AxcError(f"weight buffer @{name} of group @{group.sym_name.data} has "
                                   "no bytes: pass it in `weights` (axc.lowering_layout."
                                   "pack_weights) or give the buffer a `data` attribute")
                blob = bytes.fromhex(data.data)
            raw = (np.ascontiguousarray(blob).tobytes() if isinstance(blob, np.ndarray)
                   else bytes(blob))
            expected = buf.view.access().nbytes
            if len(raw) != expected:
                raise AxcError(f"weight @{name} has {len(raw)} bytes, its buffer in group "
                               f"@{group.sym_name.data} holds {expected}")
            out[name] = raw
    return out


def _value_info(name: str, shapes: list[tuple[int, ...]], dtype: str) -> onnx.ValueInfoProto:
    """A graph input/output; dims that differ between groups become dim_param `name_dI`."""
    ranks = {len(s) for s in shapes}
    if len(ranks) == 1:
        dims: list[int | str] = []
        for i, sizes in enumerate(zip(*shapes, strict=True)):
            dims.append(sizes[0] if len(set(sizes)) == 1 else f"{name}_d{i}")
    else:
        dims = [f"{name}_d{i}" for i in range(max(ranks))]
    return helper.make_tensor_value_info(name, ONNX_DTYPES[dtype], dims)


def _u8_tensor(name: str, raw: bytes) -> TensorProto:
    tensor = TensorProto()
    tensor.name = name
    tensor.data_type = TensorProto.UINT8
    tensor.dims.append(len(raw))
    tensor.raw_data = raw
    return tensor


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def build_model(program: ProgramOp, weights: Mapping[str, Any], *,
                metadata: Mapping[str, object] | None = None, chip: Any = None) -> bytes:
    """The bytes of the axmodel of `program` (what `write_axmodel` writes)."""
    from xdsl.utils.exceptions import VerifyException

    try:
        program.verify()
    except VerifyException as err:
        first = (str(err).strip().splitlines() or ["invalid program"])[0]
        raise AxcError(f"program @{program.sym_name.data} does not verify, not writing it: "
                       f"{first}") from err
    groups = sorted(program.groups(), key=lambda g: g.index.value.data)
    if not groups:
        raise AxcError(f"program @{program.sym_name.data} has no groups: nothing to write")
    blobs = _weight_blobs(program, weights)
    chip_name, npu_mode, timing = _timing(program, chip)
    extra = dict(metadata or {})
    clash = sorted(set(extra) & _RESERVED_METADATA)
    if clash:
        raise AxcError(f"builder metadata keys {clash} are reserved by the axmodel format")

    initializers = [_u8_tensor(PROGRAM_BLOB, encode_ops([program]))]
    nodes, group_docs = [], []
    inputs: dict[str, list[tuple[tuple[int, ...], str]]] = {}
    outputs: dict[str, list[tuple[tuple[int, ...], str]]] = {}
    select_inputs = []
    for group in groups:
        name = group.sym_name.data
        instrs = [op for op in group.body.block.ops if isinstance(op, InstructionOp)]
        stream = encode_ops([group, *group.body.block.ops], skip_attrs=("data",))
        initializers.append(_u8_tensor(STREAM_PREFIX + name, stream))
        ins, outs = _signature(group, "input"), _signature(group, "output")
        for t in ins:
            inputs.setdefault(t.name, []).append((t.shape, t.dtype))
        for t in outs:
            outputs.setdefault(t.name, []).append((t.shape, t.dtype))
        wnames = [b.sym_name.data for b in group.buffers() if b.kind.data == "weight"]
        node_outs = [f"{name}/{t.name}" for t in outs]
        select_inputs.extend(node_outs)
        nodes.append(helper.make_node(
            "Group", [t.name for t in ins] + wnames + [STREAM_PREFIX + name], node_outs,
            name=name, domain=DOMAIN, index=group.index.value.data))
        group_docs.append({
            "name": name, "index": group.index.value.data,
            "inputs": [t.to_json() for t in ins], "outputs": [t.to_json() for t in outs],
            "instructions": dict(sorted(Counter(op.eu_kind() or "none"
                                                for op in instrs).items())),
            "ops": dict(sorted(Counter(op.name.removeprefix("axnpu.")
                                       for op in instrs).items())),
            "weights": wnames,
            "weight_bytes": sum(len(blobs[w]) for w in wnames),
            "stream": STREAM_PREFIX + name,
            "timing": timing.get(name),
        })
    for wname in sorted(blobs):
        initializers.append(_u8_tensor(wname, blobs[wname]))
    for name, sigs in outputs.items():
        if len({d for _, d in sigs}) > 1:
            raise AxcError(f"output {name} has different dtypes in different groups")
    for name, sigs in inputs.items():
        if len({d for _, d in sigs}) > 1:
            raise AxcError(f"input {name} has different dtypes in different groups")
    nodes.append(helper.make_node("SelectGroup", select_inputs, list(outputs),
                                  name="select_group", domain=DOMAIN,
                                  groups=[g.sym_name.data for g in groups]))
    graph = helper.make_graph(
        nodes, program.sym_name.data,
        [_value_info(n, [s for s, _ in sig], sig[0][1]) for n, sig in inputs.items()],
        [_value_info(n, [s for s, _ in sig], sig[0][1]) for n, sig in outputs.items()],
        initializer=initializers)
    doc = {
        **extra,
        "format": "axmodel", "format_version": FORMAT_VERSION,
        "compiler": "axc", "compiler_version": axc.__version__,
        "chip": chip_name or program.chip.data, "npu_mode": npu_mode,
        "program": {"name": program.sym_name.data, "chip": program.chip.data,
                    "cores": program.cores.value.data,
                    "ocm_bytes": program.ocm_bytes.value.data,
                    "ddr_bytes": program.ddr_bytes.value.data},
        "groups": group_docs,
        "weight_bytes": sum(len(b) for b in blobs.values()),
        "blobs": {t.name: _sha(t.raw_data) for t in initializers},
    }
    model = helper.make_model(
        graph, producer_name="axc", producer_version=axc.__version__,
        opset_imports=[helper.make_opsetid(DOMAIN, FORMAT_VERSION)], ir_version=IR_VERSION)
    model.domain = DOMAIN
    model.doc_string = ("axc axmodel: an open model of an AXERA NPU program; "
                        "format spec: docs/axmodel.md")
    for key, value in (("axc.format", "axmodel"),
                       ("axc.format_version", str(FORMAT_VERSION)),
                       ("axc.metadata", json.dumps(doc, sort_keys=True,
                                                   separators=(",", ":"))),
                       (CHECKSUM_KEY, _ZERO_DIGEST.decode())):
        model.metadata_props.add(key=key, value=value)
    return seal(model.SerializeToString(deterministic=True))


def seal(data: bytes) -> bytes:
    """`data` (a serialized axmodel ending with the `axc.file_sha256` entry) with that
    checksum recomputed (tools and tests that patch a file use this)."""
    end = len(data) - 64
    if end < len(_CHECKSUM_MARKER) or data[end - len(_CHECKSUM_MARKER): end] != _CHECKSUM_MARKER:
        raise AxcError("not a sealable axmodel: it does not end with the axc.file_sha256 entry")
    body = data[:end] + _ZERO_DIGEST
    return data[:end] + _sha(body).encode()


def write_axmodel(path: str | os.PathLike[str], program: ProgramOp,
                  weights: Mapping[str, Any], *, metadata: Mapping[str, object] | None = None,
                  chip: Any = None) -> Path:
    """Write `program` with its weight bytes (buffer name -> bytes or uint8 array) as an
    axmodel at `path`, atomically (temp file in the same folder, then rename).

    `metadata`: extra JSON-able keys stored in the `axc.metadata` document (model_type,
    layer, build flags...). `chip`: a Chip, name or .chip path for the predicted timing
    (default: the program's chip in its npu_mode)."""
    data = build_model(program, weights, metadata=metadata, chip=chip)
    return write_atomic(path, data)


# -- reading -----------------------------------------------------------------------------------


@dataclass
class AxModel:
    """A read axmodel: the decoded, verified program, its weights and its metadata."""

    path: Path | None
    program: ProgramOp
    weights: dict[str, np.ndarray]
    """buffer name -> read-only uint8 array (the simulator caches immutable blobs)."""
    metadata: dict[str, Any]
    """The `axc.metadata` document; the builder's own keys sit at its top level."""
    model: onnx.ModelProto = field(repr=False)

    @property
    def groups(self) -> list[GroupInfo]:
        """Signatures and statistics of every group, in index order."""
        return sorted((GroupInfo.from_json(g) for g in self.metadata["groups"]),
                      key=lambda g: g.index)

    def group(self, which: int | str = 0) -> GroupInfo:
        """A group by index (the runtime's shape_group) or name."""
        for g in self.groups:
            if (g.name == which) if isinstance(which, str) else (g.index == which):
                return g
        known = ", ".join(f"{g.index} ({g.name})" for g in self.groups)
        raise AxcError(f"{self.path or 'axmodel'}: no group {which!r}; groups: {known}")

    def inputs(self, group: int | str = 0) -> tuple[TensorInfo, ...]:
        return self.group(group).inputs

    def outputs(self, group: int | str = 0) -> tuple[TensorInfo, ...]:
        return self.group(group).outputs

    def predicted_ms(self, group: int | str = 0) -> float | None:
        """The timing model's prediction of one run of the group on the chip (None if the
        program had no schedule)."""
        return self.group(group).predicted_ms


def _fail(path: Any, problem: str) -> AxModelError:
    return AxModelError(f"{path}: {problem}")


def verify_bytes(data: bytes, where: Any = "axmodel") -> None:
    """Check the whole-file checksum (any altered byte, any truncation)."""
    end = len(data) - 64
    if end < len(_CHECKSUM_MARKER) or data[end - len(_CHECKSUM_MARKER): end] != _CHECKSUM_MARKER:
        raise _fail(where, f"truncated or not an axc axmodel ({len(data)} bytes, no "
                    f"{CHECKSUM_KEY} entry at the end); rebuild it")
    stored = data[end:]
    if _sha(data[:end] + _ZERO_DIGEST).encode() != stored:
        raise _fail(where, "checksum mismatch: the file was altered or corrupted; rebuild it")


_PROGRAMS: OrderedDict[tuple[str, ...], ProgramOp] = OrderedDict()
_MAX_PROGRAMS = 16
"""Decoded programs by the sha256 of their streams: the layers of one model share one
schedule, so reading 24 layer files decodes and verifies it once."""


def load_bytes(data: bytes, path: Path | None = None, *, share_program: bool = True
               ) -> AxModel:
    """`read_axmodel` of bytes in memory."""
    where = path if path is not None else "axmodel"
    verify_bytes(data, where)
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError
        raise _fail(where, f"not a valid ONNX protobuf ({err})") from err
    props = {p.key: p.value for p in model.metadata_props}
    if props.get("axc.format") != "axmodel":
        raise _fail(where, "not an axc axmodel (no axc.format metadata)")
    version = props.get("axc.format_version")
    if version != str(FORMAT_VERSION):
        raise _fail(where, f"axmodel format version {version}, this axc reads version "
                    f"{FORMAT_VERSION}; rebuild the model with this axc")
    try:
        doc = json.loads(props["axc.metadata"])
    except (KeyError, ValueError) as err:
        raise _fail(where, "missing or invalid axc.metadata") from err
    try:
        return _from_proto(model, doc, path, where, share_program)
    except (KeyError, TypeError, AttributeError) as err:  # a writer's bug, not corruption
        raise _fail(where, f"malformed axc.metadata ({type(err).__name__}: {err})") from err


def _from_proto(model: onnx.ModelProto, doc: dict[str, Any], path: Path | None, where: Any,
                share_program: bool) -> AxModel:
    tensors = {t.name: t for t in model.graph.initializer}
    blobs: dict[str, bytes] = {}
    for name, digest in doc["blobs"].items():
        tensor = tensors.get(name)
        if tensor is None:
            raise _fail(where, f"blob {name!r} is missing")
        raw = tensor.raw_data
        if _sha(raw) != digest:
            raise _fail(where, f"sha256 of blob {name!r} does not match the metadata")
        blobs[name] = raw
    key = tuple(sorted(d for n, d in doc["blobs"].items() if n.startswith("axc.")))
    program = _PROGRAMS.get(key) if share_program else None
    if program is None:
        program = _decode_program(blobs, doc, where)
        if share_program:
            _PROGRAMS[key] = program
            while len(_PROGRAMS) > _MAX_PROGRAMS:
                _PROGRAMS.popitem(last=False)
    else:
        _PROGRAMS.move_to_end(key)
    weights = {}
    for group in doc["groups"]:
        for w in group["weights"]:
            if w not in weights:
                arr = np.frombuffer(blobs[w], dtype=np.uint8)
                weights[w] = arr  # frombuffer on bytes: read-only
    return AxModel(path, program, weights, doc, model)


def _decode_program(blobs: Mapping[str, bytes], doc: Mapping[str, Any], where: Any
                    ) -> ProgramOp:
    from xdsl.ir import Block, Region
    from xdsl.utils.exceptions import VerifyException

    head = decode_ops(blobs[PROGRAM_BLOB], f"{where}: {PROGRAM_BLOB}")
    if len(head.ops) != 1 or head.ops[0].name != ProgramOp.name:
        raise _fail(where, f"{PROGRAM_BLOB} does not hold one axnpu.program")
    groups = []
    for g in sorted(doc["groups"], key=lambda g: g["index"]):
        what = f"{where}: group @{g['name']}"
        stream = decode_ops(blobs[g["stream"]], what)
        if not stream.ops or stream.ops[0].name != GroupOp.name:
            raise AxModelError(f"{what}: the stream does not start with its axnpu.group")
        body = [_build_op(rec, what) for rec in stream.ops[1:]]
        groups.append(_build_op(stream.ops[0], what, [Region(Block(body))]))
    program = _build_op(head.ops[0], str(where), [Region(Block(groups))])
    assert isinstance(program, ProgramOp)
    try:
        program.verify()
    except VerifyException as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid program"
        raise _fail(where, f"the decoded program does not verify: {first}") from err
    return program


def read_axmodel(path: str | os.PathLike[str], *, share_program: bool = True) -> AxModel:
    """Read and check an axmodel: whole-file checksum, format version, every blob's sha256;
    decode and verify its program. Errors are one-line `AxModelError`s naming the file.

    With `share_program`, files whose instruction streams are identical (the layers of one
    model) return the same decoded `ProgramOp`, decoded and verified once: treat it as
    read-only (clone it, or pass share_program=False, before editing it)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise AxcError(f"{p}: cannot read: {err.strerror or err}") from err
    return load_bytes(data, p, share_program=share_program)


def buffers_of(program: ProgramOp) -> dict[str, BufferOp]:
    """Every buffer of every group by name (the first group's, when groups share it)."""
    out: dict[str, BufferOp] = {}
    for group in program.groups():
        for buf in group.buffers():
            out.setdefault(buf.sym_name.data, buf)
    return out
