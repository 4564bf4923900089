"""The axnpu dialect: instructions of the open AX NPU model on explicit OCM/DDR memory.

An `axnpu.program` holds one `axnpu.group` per compiled shape (decode, prefill chunks). A
group first declares its DDR buffers (`axnpu.buffer`), then lists its instructions in
program order. Instructions name memory, not SSA values: DMA copies (SDMA), matmul tiles
(CONV) and vector work (TENG). Every instruction states exactly which bytes it reads and
writes (`reads()` / `writes()`, as `Access` patterns) and how to interpret them (typed
`#axnpu.view`s), so dependency analysis, the functional simulator and the timing model all
work from the IR alone. The reference is docs/axnpu.md.
"""

from __future__ import annotations

from abc import ABC
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import prod
from typing import ClassVar, NoReturn, TypedDict

from typing_extensions import Unpack
from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    DenseArrayBase,
    FileLineColLoc,
    Float32Type,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    SymbolNameConstraint,
    UnitAttr,
    f32,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    SpacedOpaqueSyntaxAttribute,
)
from xdsl.ir import Region as IRRegion
from xdsl.irdl import (
    IRDLOperation,
    attr_def,
    irdl_attr_definition,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.irdl.declarative_assembly_format import (
    CustomDirective,
    ParsingState,
    PrintingState,
    RegionVariable,
    irdl_custom_directive,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, NoTerminator, SymbolOpInterface, SymbolTable
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

# -- vocabulary ----------------------------------------------------------------------------

SPACES = ("ocm", "ddr", "vocm")
"""Memory spaces, each addressed in bytes from 0: on-chip memory, DDR, and `vocm`, the
unbounded virtual on-chip space the lowering puts temporaries in before
`axnpu-insert-ddr-swap` allocates them into the real `ocm`."""

ONCHIP_SPACES = frozenset({"ocm", "vocm"})
"""Spaces compute instructions read and write (vocm stands for ocm until allocation)."""

VOCM_BYTES = 1 << 62
"""The size of `vocm`: unbounded for all practical purposes."""

DTYPE_BITS = {"f32": 32, "bf16": 16, "f16": 16, "s8": 8, "s4": 4, "i32": 32, "u32": 32}
"""Element width in bits of each dtype; s4 packs two elements per byte."""

FLOAT_DTYPES = frozenset({"f32", "bf16", "f16"})
QUANT_DTYPES = frozenset({"s8", "s4"})
INDEX_DTYPES = frozenset({"i32", "u32"})
INT_DTYPES = frozenset({"s8", "i32", "u32"})
WEIGHT_DTYPES = frozenset({"s8", "s4", "bf16", "f16", "f32"})

EU_KINDS = ("conv", "teng", "sdma")
"""Execution-unit kinds: matmul (CONV), vector (TENG), DMA (SDMA)."""

BUFFER_KINDS = ("input", "output", "weight", "scratch")


def _fmt(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _fail(message: str) -> NoReturn:
    raise VerifyException(message)


# -- exact byte footprints -----------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Exactly the bytes one operand touches: `rows` runs of `row_bytes`, `stride_bytes` apart.

    The form is canonical (a contiguous run is one row; rows that touch or overlap merge),
    so two accesses to the same bytes compare equal.
    """

    space: str
    offset: int
    rows: int
    row_bytes: int
    stride_bytes: int

    def __post_init__(self) -> None:
        rows, row_bytes, stride = self.rows, self.row_bytes, self.stride_bytes
        if rows < 1 or row_bytes < 1 or stride < 0:
            raise ValueError(f"bad access: {rows} rows of {row_bytes} bytes every {stride}")
        if rows > 1 and stride <= row_bytes:
            row_bytes = (rows - 1) * stride + row_bytes
            rows = 1
        if rows == 1:
            stride = row_bytes
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "row_bytes", row_bytes)
        object.__setattr__(self, "stride_bytes", stride)

    @property
    def end(self) -> int:
        """One past the last byte touched."""
        return self.offset + (self.rows - 1) * self.stride_bytes + self.row_bytes

    @property
    def size_bytes(self) -> int:
        """Size of the bounding range [offset, end)."""
        return self.end - self.offset

    @property
    def nbytes(self) -> int:
        """Number of bytes actually touched."""
        return self.rows * self.row_bytes

    @property
    def is_contiguous(self) -> bool:
        return self.rows == 1

    @property
    def region(self) -> RegionAttr:
        """The bounding `#axnpu.region`."""
        return RegionAttr(self.space, self.offset, self.size_bytes)

    def byte_ranges(self) -> Iterator[tuple[int, int]]:
        """The touched [start, end) ranges, one per row."""
        for r in range(self.rows):
            start = self.offset + r * self.stride_bytes
            yield start, start + self.row_bytes

    def _hits(self, start: int, end: int) -> bool:
        """Whether some row of this access intersects [start, end)."""
        s, base = self.stride_bytes, self.offset
        lo = max(0, (start - base - self.row_bytes) // s + 1)
        hi = min(self.rows - 1, (end - base - 1) // s)
        return lo <= hi

    def overlaps(self, other: Access) -> bool:
        """Whether the two accesses share at least one byte (exact, not by bounding box)."""
        if self.space != other.space or self.end <= other.offset or other.end <= self.offset:
            return False
        if self.rows == 1:
            return other._hits(self.offset, self.end)
        if other.rows == 1:
            return self._hits(other.offset, other.end)
        if self.stride_bytes == other.stride_bytes:
            # rows i of self and j of other meet iff -other.row < (j - i) * s + d < self.row
            s, d = self.stride_bytes, other.offset - self.offset
            lo = max(-(self.rows - 1), (-other.row_bytes - d) // s + 1)
            hi = min(other.rows - 1, (self.row_bytes - d - 1) // s)
            return lo <= hi
        few, many = (self, other) if self.rows <= other.rows else (other, self)
        return any(many._hits(a, b) for a, b in few.byte_ranges())

    def within(self, start: int, end: int) -> bool:
        """Whether every touched byte lies in [start, end)."""
        return start <= self.offset and self.end <= end

    def __str__(self) -> str:
        text = f"{self.space}[{self.offset}, {self.end})"
        if self.rows > 1:
            text += f" as {self.rows} rows of {self.row_bytes} bytes every {self.stride_bytes}"
        return text


# -- attributes ----------------------------------------------------------------------------


def _as_str(value: str | StringAttr) -> StringAttr:
    return value if isinstance(value, StringAttr) else StringAttr(value)


def _as_int(value: int | IntAttr) -> IntAttr:
    return value if isinstance(value, IntAttr) else IntAttr(value)


def _region_problem(space: str, offset: int, size_bytes: int) -> str | None:
    if space not in SPACES:
        return f"memory space must be ocm or ddr (or vocm), got '{space}'"
    if offset < 0:
        return f"region offset must be >= 0, got {offset}"
    if size_bytes <= 0:
        return f"region size must be > 0 bytes, got {size_bytes}"
    return None


def _parse_space(parser: AttrParser) -> str:
    pos = parser.pos
    space = parser.parse_optional_identifier()
    if space not in SPACES:
        parser.raise_error("memory space must be ocm or ddr (or vocm)", pos)
    return space


@irdl_attr_definition
class RegionAttr(ParametrizedAttribute):
    """`#axnpu.region<space, offset, size>`: `size` contiguous bytes of `space` at `offset`."""

    name = "axnpu.region"

    space: StringAttr
    offset: IntAttr
    size_bytes: IntAttr

    def __init__(
        self, space: str | StringAttr, offset: int | IntAttr, size_bytes: int | IntAttr
    ) -> None:
        super().__init__(_as_str(space), _as_int(offset), _as_int(size_bytes))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            space = _parse_space(parser)
            parser.parse_punctuation(",")
            pos = parser.pos
            offset = parser.parse_integer(allow_boolean=False)
            parser.parse_punctuation(",")
            size = parser.parse_integer(allow_boolean=False)
            if problem := _region_problem(space, offset, size):
                parser.raise_error(problem, pos, parser.pos)
        return (StringAttr(space), IntAttr(offset), IntAttr(size))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(
            f"<{self.space.data}, {self.offset.data}, {self.size_bytes.data}>"
        )

    def verify(self) -> None:
        if problem := _region_problem(self.space.data, self.offset.data, self.size_bytes.data):
            _fail(problem)

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.offset.data + self.size_bytes.data

    def access(self) -> Access:
        return Access(self.space.data, self.offset.data, 1, self.size_bytes.data, 0)


def _view_problem(
    space: str, offset: int, shape: Sequence[int], dtype: str, stride: int | None
) -> str | None:
    if space not in SPACES:
        return f"memory space must be ocm or ddr (or vocm), got '{space}'"
    if offset < 0:
        return f"view offset must be >= 0, got {offset}"
    if not shape:
        return "view shape must have at least one dimension"
    if any(d <= 0 for d in shape):
        return f"view dimensions must be > 0, got {_fmt(shape)}"
    if dtype not in DTYPE_BITS:
        return f"unknown dtype '{dtype}'; expected one of {', '.join(DTYPE_BITS)}"
    row_bits = shape[-1] * DTYPE_BITS[dtype]
    if row_bits % 8:
        return (
            f"a row of {shape[-1]} {dtype} elements is {row_bits} bits, "
            "not a whole number of bytes"
        )
    if stride is not None and prod(shape[:-1]) > 1 and stride < row_bits // 8:
        return (
            f"row stride {stride} bytes is smaller than a row "
            f"({shape[-1]} x {dtype} = {row_bits // 8} bytes)"
        )
    return None


@irdl_attr_definition
class ViewAttr(ParametrizedAttribute):
    """`#axnpu.view<space, offset, [d0, ..., dn], dtype(, stride S)?>`: a typed tensor in memory.

    Row-major; a row is the last dimension (`dn` elements, `row_bytes` bytes). The
    `prod(d0..dn-1)` rows start `row_stride_bytes` apart (default: `row_bytes`, contiguous).
    """

    name = "axnpu.view"

    space: StringAttr
    offset: IntAttr
    shape: ArrayAttr[IntAttr]
    dtype: StringAttr
    row_stride_bytes: IntAttr

    def __init__(
        self,
        space: str | StringAttr,
        offset: int | IntAttr,
        shape: Sequence[int] | ArrayAttr[IntAttr],
        dtype: str | StringAttr,
        row_stride_bytes: int | None = None,
    ) -> None:
        space_attr, dtype_attr = _as_str(space), _as_str(dtype)
        dims = shape if isinstance(shape, ArrayAttr) else ArrayAttr(IntAttr(d) for d in shape)
        ints = [d.data for d in dims]
        problem = _view_problem(
            space_attr.data, _as_int(offset).data, ints, dtype_attr.data, row_stride_bytes
        )
        if problem:
            _fail(problem)
        stride = _normal_stride(ints, dtype_attr.data, row_stride_bytes)
        super().__init__(space_attr, _as_int(offset), dims, dtype_attr, IntAttr(stride))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            start = parser.pos
            space = _parse_space(parser)
            parser.parse_punctuation(",")
            offset = parser.parse_integer(allow_boolean=False)
            parser.parse_punctuation(",")
            shape = parser.parse_comma_separated_list(
                parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
            )
            parser.parse_punctuation(",")
            dtype_pos = parser.pos
            dtype = parser.parse_optional_identifier()
            if dtype not in DTYPE_BITS:
                parser.raise_error(f"dtype must be one of {', '.join(DTYPE_BITS)}", dtype_pos)
            stride = None
            if parser.parse_optional_punctuation(","):
                parser.parse_keyword("stride")
                stride = parser.parse_integer(allow_boolean=False)
            if problem := _view_problem(space, offset, shape, dtype, stride):
                parser.raise_error(problem, start, parser.pos)
        stride = _normal_stride(shape, dtype, stride)
        dims = ArrayAttr(IntAttr(d) for d in shape)
        return (StringAttr(space), IntAttr(offset), dims, StringAttr(dtype), IntAttr(stride))

    def print_parameters(self, printer: Printer) -> None:
        text = f"<{self.space.data}, {self.offset.data}, {_fmt(self.get_shape())}, "
        text += self.dtype.data
        if self.row_stride_bytes.data != self.row_bytes:
            text += f", stride {self.row_stride_bytes.data}"
        printer.print_string(text + ">")

    def verify(self) -> None:
        shape = self.get_shape()
        stride = self.row_stride_bytes.data
        problem = _view_problem(self.space.data, self.offset.data, shape, self.dtype.data, stride)
        if problem:
            _fail(problem)

    def get_shape(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.shape.data)

    @property
    def rows(self) -> int:
        """Number of rows: the product of all dimensions but the last."""
        return prod(self.get_shape()[:-1])

    @property
    def row_bytes(self) -> int:
        """Bytes of one row (the last dimension); s4 counts half a byte per element."""
        return self.get_shape()[-1] * DTYPE_BITS[self.dtype.data] // 8

    @property
    def numel(self) -> int:
        return prod(self.get_shape())

    @property
    def is_contiguous(self) -> bool:
        return self.row_stride_bytes.data == self.row_bytes

    def access(self) -> Access:
        return Access(
            self.space.data,
            self.offset.data,
            self.rows,
            self.row_bytes,
            self.row_stride_bytes.data,
        )


def _normal_stride(shape: Sequence[int], dtype: str, stride: int | None) -> int:
    """The stored row stride: the row size for a contiguous (or single-row) view."""
    row_bytes = shape[-1] * DTYPE_BITS[dtype] // 8
    if stride is None or prod(shape[:-1]) == 1:
        return row_bytes
    return stride


def _eu_problem(kind: str, core: int, unit: int) -> str | None:
    if kind not in EU_KINDS:
        return f"eu kind must be conv, teng or sdma, got '{kind}'"
    if core < 0 or unit < 0:
        return f"eu core and unit indices must be >= 0, got {core}, {unit}"
    return None


@irdl_attr_definition
class EUAttr(ParametrizedAttribute):
    """`#axnpu.eu<kind, core, unit>`: execution unit `unit` of `kind` in NPU core `core`."""

    name = "axnpu.eu"

    kind: StringAttr
    core: IntAttr
    unit: IntAttr

    def __init__(self, kind: str | StringAttr, core: int | IntAttr, unit: int | IntAttr) -> None:
        super().__init__(_as_str(kind), _as_int(core), _as_int(unit))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            pos = parser.pos
            kind = parser.parse_optional_identifier()
            if kind not in EU_KINDS:
                parser.raise_error("eu kind must be conv, teng or sdma", pos)
            parser.parse_punctuation(",")
            core = parser.parse_integer(allow_boolean=False)
            parser.parse_punctuation(",")
            unit = parser.parse_integer(allow_boolean=False)
            if problem := _eu_problem(kind, core, unit):
                parser.raise_error(problem, pos, parser.pos)
        return (StringAttr(kind), IntAttr(core), IntAttr(unit))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.kind.data}, {self.core.data}, {self.unit.data}>")

    def verify(self) -> None:
        if problem := _eu_problem(self.kind.data, self.core.data, self.unit.data):
            _fail(problem)


class EltwiseKind(StrEnum):
    """Element-wise functions of `axnpu.eltwise`."""

    # binary: out = a (op) b, or a (op) scalar
    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    MAX = "max"
    MIN = "min"
    POW = "pow"
    # comparisons: out = 1 if a (pred) b else 0
    CMP_EQ = "cmp_eq"
    CMP_NE = "cmp_ne"
    CMP_LT = "cmp_lt"
    CMP_LE = "cmp_le"
    CMP_GT = "cmp_gt"
    CMP_GE = "cmp_ge"
    # ternary: out = b if a != 0 else c
    SELECT = "select"
    # gated: out = act(a) * b
    SWIGLU = "swiglu"
    GEGLU = "geglu"
    GEGLU_TANH = "geglu_tanh"
    # unary
    NEG = "neg"
    ABS = "abs"
    EXP = "exp"
    LOG = "log"
    SQRT = "sqrt"
    RSQRT = "rsqrt"
    RECIP = "recip"
    SQUARE = "square"
    TANH = "tanh"
    SIGMOID = "sigmoid"
    SILU = "silu"
    GELU = "gelu"
    GELU_TANH = "gelu_tanh"
    RELU = "relu"
    COS = "cos"
    SIN = "sin"
    ERF = "erf"
    TRUNC = "trunc"
    CAST = "cast"
    COPY = "copy"


BINARY_KINDS = frozenset(
    {EltwiseKind.ADD, EltwiseKind.SUB, EltwiseKind.MUL, EltwiseKind.DIV, EltwiseKind.MAX,
     EltwiseKind.MIN, EltwiseKind.POW, EltwiseKind.CMP_EQ, EltwiseKind.CMP_NE,
     EltwiseKind.CMP_LT, EltwiseKind.CMP_LE, EltwiseKind.CMP_GT, EltwiseKind.CMP_GE}
)
COMPARE_KINDS = frozenset(
    {EltwiseKind.CMP_EQ, EltwiseKind.CMP_NE, EltwiseKind.CMP_LT, EltwiseKind.CMP_LE,
     EltwiseKind.CMP_GT, EltwiseKind.CMP_GE}
)
TERNARY_KINDS = frozenset({EltwiseKind.SELECT})
INT_OK_KINDS = frozenset(
    {EltwiseKind.ADD, EltwiseKind.SUB, EltwiseKind.MUL, EltwiseKind.DIV, EltwiseKind.MAX,
     EltwiseKind.MIN, EltwiseKind.NEG, EltwiseKind.ABS, EltwiseKind.SELECT} | COMPARE_KINDS
)
"""Kinds that also take and produce the integer dtypes s8, i32 and u32 (exact in fp32 up to
2^24; an integer `div` result truncates toward zero)."""
GATED_KINDS = frozenset({EltwiseKind.SWIGLU, EltwiseKind.GEGLU, EltwiseKind.GEGLU_TANH})
UNARY_KINDS = frozenset(EltwiseKind) - BINARY_KINDS - GATED_KINDS - TERNARY_KINDS


class RopeStyle(StrEnum):
    """Pairing of rotated elements: `half` (x[i], x[i + R/2]) or `interleaved` (x[2i], x[2i+1])."""

    HALF = "half"
    INTERLEAVED = "interleaved"


class ReduceKind(StrEnum):
    SUM = "sum"
    MEAN = "mean"
    MAX = "max"
    MIN = "min"


@irdl_attr_definition
class EltwiseKindAttr(EnumAttribute[EltwiseKind], SpacedOpaqueSyntaxAttribute):
    """`#axnpu<eltwise_kind add>`; printed bare (`add`) inside `axnpu.eltwise`."""

    name = "axnpu.eltwise_kind"


@irdl_attr_definition
class RopeStyleAttr(EnumAttribute[RopeStyle], SpacedOpaqueSyntaxAttribute):
    """`#axnpu<rope_style half>`; printed bare inside `axnpu.rope`."""

    name = "axnpu.rope_style"


@irdl_attr_definition
class ReduceKindAttr(EnumAttribute[ReduceKind], SpacedOpaqueSyntaxAttribute):
    """`#axnpu<reduce_kind sum>`; printed bare inside `axnpu.reduce`."""

    name = "axnpu.reduce_kind"


# Convenient short names: `Region("ddr", 0, 1024)`, `View("ocm", 0, [16, 64], "bf16")`.
Region = RegionAttr
View = ViewAttr
EU = EUAttr


def _i64(value: int) -> IntegerAttr:
    return IntegerAttr(value, i64)


def _f32(value: float) -> FloatAttr:
    return FloatAttr(value, f32)


def _int_of(attr: IntegerAttr | None) -> int | None:
    return None if attr is None else attr.value.data


def _prop_int(op: Operation, name: str) -> int | None:
    """An integer property, or None when it is absent or not an integer."""
    attr = op.properties.get(name)
    return attr.value.data if isinstance(attr, IntegerAttr) else None


def _float_of(attr: FloatAttr | None) -> float | None:
    return None if attr is None else attr.value.data


# -- program structure ---------------------------------------------------------------------


def _line_of(op: Operation) -> str:
    loc = op.location
    return f", line {loc.line.data}" if isinstance(loc, FileLineColLoc) else ""


def _sym(op: Operation) -> str:
    name = op.properties.get("sym_name")
    return name.data if isinstance(name, StringAttr) else "?"


@dataclass(frozen=True)
class ChipLimits:
    """The program-level chip facts that instructions and buffers are checked against."""

    ocm_bytes: int
    ddr_bytes: int
    cores: int
    conv_per_core: int
    teng_per_core: int
    sdma_per_core: int

    def limit_bytes(self, space: str) -> int:
        """Size of a memory space: `ocm_bytes` or `ddr_bytes`."""
        if space == "vocm":
            return VOCM_BYTES
        return self.ocm_bytes if space == "ocm" else self.ddr_bytes

    def eu_count(self, kind: str) -> int:
        """Units of `kind` in each core."""
        return {"conv": self.conv_per_core, "teng": self.teng_per_core,
                "sdma": self.sdma_per_core}[kind]


@irdl_custom_directive
class Body(CustomDirective):
    """`custom<Body>($body)`: a single-block region printed `{...}`, also when empty."""

    body: RegionVariable

    def parse(self, parser: Parser, state: ParsingState) -> None:
        region = parser.parse_region()
        if not region.blocks:
            region.add_block(Block())
        self.body.set(state, region)

    def print(self, printer: Printer, state: PrintingState, op: IRDLOperation) -> None:
        state.print_whitespace(printer)
        printer.print_region(self.body.get(op), print_empty_block=False)


class _BodyOp(IRDLOperation, ABC):
    """An op with one single-block body; `{}` in the text still gets its (empty) block."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.regions) == 1 and not self.regions[0].blocks:
            self.regions[0].add_block(Block())

    def clone(self, *args, **kwargs):  # type: ignore[override]
        """xDSL clones the regions into the copy after `__post_init__` gave it an empty block;
        drop that block so the copy has exactly one, like the original."""
        new = super().clone(*args, **kwargs)
        for op in new.walk():
            for region in op.regions if isinstance(op, _BodyOp) else ():
                for block in [b for b in region.blocks if b.first_op is None]:
                    if len(region.blocks) > 1:
                        region.detach_block(block).erase()
        return new


@irdl_op_definition
class ProgramOp(_BodyOp):
    """A compiled program for one chip: its memory sizes and EU counts, and its groups."""

    name = "axnpu.program"

    sym_name = prop_def(SymbolNameConstraint())
    chip = prop_def(StringAttr)
    ocm_bytes = prop_def(IntegerAttr[I64])
    ddr_bytes = prop_def(IntegerAttr[I64])
    cores = prop_def(IntegerAttr[I64])
    conv_per_core = prop_def(IntegerAttr[I64])
    teng_per_core = prop_def(IntegerAttr[I64])
    sdma_per_core = prop_def(IntegerAttr[I64])
    body = region_def("single_block")

    traits = traits_def(SymbolOpInterface(), SymbolTable(), NoTerminator())

    custom_directives = (Body,)
    assembly_format = (
        "$sym_name `chip` $chip `ocm_bytes` $ocm_bytes `ddr_bytes` $ddr_bytes `cores` $cores "
        "`conv_per_core` $conv_per_core `teng_per_core` $teng_per_core "
        "`sdma_per_core` $sdma_per_core attr-dict-with-keyword custom<Body>($body)"
    )

    LIMIT_FIELDS: ClassVar[tuple[str, ...]] = (
        "ocm_bytes", "ddr_bytes", "cores", "conv_per_core", "teng_per_core", "sdma_per_core"
    )

    def __init__(
        self,
        sym_name: str,
        *,
        chip: str,
        ocm_bytes: int,
        ddr_bytes: int,
        cores: int = 1,
        conv_per_core: int = 1,
        teng_per_core: int = 1,
        sdma_per_core: int = 1,
        groups: Sequence[GroupOp] = (),
    ) -> None:
        counts = (ocm_bytes, ddr_bytes, cores, conv_per_core, teng_per_core, sdma_per_core)
        props: dict[str, Attribute] = {"sym_name": StringAttr(sym_name), "chip": StringAttr(chip)}
        props.update({k: _i64(v) for k, v in zip(self.LIMIT_FIELDS, counts, strict=True)})
        super().__init__(properties=props, regions=[IRRegion([Block(list(groups))])])

    def limits(self) -> ChipLimits | None:
        """The chip facts, or None while a field is missing or not positive."""
        values = [_prop_int(self, f) or 0 for f in self.LIMIT_FIELDS]
        return ChipLimits(*values) if all(v > 0 for v in values) else None

    def limit_bytes(self, space: str) -> int:
        """Size of a memory space: `ocm_bytes` or `ddr_bytes`."""
        if space == "vocm":
            return VOCM_BYTES
        return (self.ocm_bytes if space == "ocm" else self.ddr_bytes).value.data

    def eu_count(self, kind: str) -> int:
        """Units of `kind` in each core."""
        return _prop_int(self, f"{kind}_per_core") or 0

    def groups(self) -> list[GroupOp]:
        return [op for op in self.body.block.ops if isinstance(op, GroupOp)]

    def group(self, sym_name: str) -> GroupOp | None:
        return next((g for g in self.groups() if g.sym_name.data == sym_name), None)

    def verify_(self) -> None:
        for field in self.LIMIT_FIELDS:
            value = _prop_int(self, field)
            if value is not None and value <= 0:
                _fail(f"{field} must be > 0, got {value}")
        seen: dict[int, str] = {}
        for op in self.body.block.ops:
            if not isinstance(op, GroupOp):
                _fail(f"only axnpu.group ops may appear in a program, found '{op.name}'")
            index = _prop_int(op, "index")
            if index is None:
                continue
            if index in seen:
                _fail(f"groups @{seen[index]} and @{_sym(op)} both have index {index}")
            seen[index] = _sym(op)


def _limits_of(op: Operation) -> ChipLimits | None:
    """The chip facts of the program two levels up (group, program), if any."""
    group = op.parent_op()
    program = group.parent_op() if group is not None else None
    return program.limits() if isinstance(program, ProgramOp) else None


@irdl_op_definition
class GroupOp(_BodyOp):
    """One compiled shape (decode, a prefill chunk): buffer declarations, then instructions."""

    name = "axnpu.group"

    sym_name = prop_def(SymbolNameConstraint())
    index = prop_def(IntegerAttr[I64])
    body = region_def("single_block")

    traits = traits_def(HasParent(ProgramOp), SymbolOpInterface(), SymbolTable(), NoTerminator())

    assembly_format = "$sym_name `index` $index attr-dict-with-keyword custom<Body>($body)"
    custom_directives = (Body,)

    def __init__(self, sym_name: str, index: int, ops: Sequence[Operation] = ()) -> None:
        super().__init__(
            properties={"sym_name": StringAttr(sym_name), "index": _i64(index)},
            regions=[IRRegion([Block(list(ops))])],
        )

    def buffers(self) -> list[BufferOp]:
        return [op for op in self.body.block.ops if isinstance(op, BufferOp)]

    def instructions(self) -> list[InstructionOp]:
        return [op for op in self.body.block.ops if isinstance(op, InstructionOp)]

    def buffer(self, sym_name: str) -> BufferOp | None:
        return next((b for b in self.buffers() if b.sym_name.data == sym_name), None)

    def verify_(self) -> None:
        if self.index.value.data < 0:
            _fail(f"group index must be >= 0, got {self.index.value.data}")
        buffers: list[BufferOp] = []
        instructions: list[InstructionOp] = []
        for op in self.body.block.ops:
            if isinstance(op, BufferOp):
                if instructions:
                    _fail(f"buffer @{_sym(op)} is declared after the first instruction; "
                          "declare buffers first")
                buffers.append(op)
            elif isinstance(op, InstructionOp):
                instructions.append(op)
            else:
                _fail("only axnpu.buffer and axnpu instructions may appear in a group, "
                      f"found '{op.name}'")
        spans = self._verify_buffers(buffers)
        self._verify_ids(instructions)
        self._verify_ddr_accesses(instructions, spans)

    @staticmethod
    def _verify_buffers(buffers: list[BufferOp]) -> list[tuple[int, int, BufferOp]]:
        """Sorted (start, end, buffer) of the well-formed buffers; they must not overlap."""
        spans: list[tuple[int, int, BufferOp]] = []
        for b in buffers:
            view = b.properties.get("view")
            if isinstance(view, ViewAttr) and view.space.data == "ddr":
                acc = view.access()
                spans.append((acc.offset, acc.end, b))
        spans.sort(key=lambda s: (s[0], s[1]))
        widest: tuple[int, int, BufferOp] | None = None
        for span in spans:
            if widest is not None and span[0] < widest[1]:
                _fail(f"buffers @{_sym(widest[2])} (ddr [{widest[0]}, {widest[1]})) and "
                      f"@{_sym(span[2])} (ddr [{span[0]}, {span[1]})) overlap")
            if widest is None or span[1] > widest[1]:
                widest = span
        return spans

    def _verify_ids(self, instructions: list[InstructionOp]) -> None:
        seen: dict[int, int] = {}
        for pos, op in enumerate(instructions):
            for dep in op.get_deps():
                if dep not in seen:
                    _fail(f"{_describe(op, pos)} depends on id {dep}, which no earlier "
                          f"instruction of group @{self.sym_name.data} has")
            ident = op.get_id()
            if ident is not None:
                if ident in seen:
                    first = instructions[seen[ident]]
                    _fail(f"{_describe(op, pos)} reuses id {ident} of "
                          f"{_describe(first, seen[ident])}; ids must be unique in a group")
                seen[ident] = pos

    @staticmethod
    def _verify_ddr_accesses(
        instructions: list[InstructionOp], spans: list[tuple[int, int, BufferOp]]
    ) -> None:
        """DDR bytes an instruction touches lie in declared buffers (adjacent ones may be
        crossed, so one DMA can load a weight and its scales); weights are never written."""
        covered: list[list[int]] = []
        for start, end, _ in spans:
            if covered and start <= covered[-1][1]:
                covered[-1][1] = max(covered[-1][1], end)
            else:
                covered.append([start, end])
        starts = [c[0] for c in covered]
        weight = StringAttr("weight")
        weights = [(s, e, b) for s, e, b in spans if b.attributes.get("kind") == weight]
        for pos, op in enumerate(instructions):
            try:
                accesses = (("reads", op.reads()), ("writes", op.writes()))
            except Exception:  # a malformed instruction reports its own error later
                continue
            for verb, found in accesses:
                for acc in found:
                    if acc.space != "ddr":
                        continue
                    i = bisect_right(starts, acc.offset) - 1
                    if i < 0 or not acc.within(covered[i][0], covered[i][1]):
                        _fail(f"{_describe(op, pos)} {verb} {acc}, which is not inside "
                              "declared axnpu.buffer ops")
                    if verb != "writes":
                        continue
                    for start, end, buffer in weights:
                        if acc.overlaps(Access("ddr", start, 1, end - start, 0)):
                            _fail(f"{_describe(op, pos)} writes {acc} in weight buffer "
                                  f"@{_sym(buffer)}; weights are read-only")


def _describe(op: InstructionOp, pos: int) -> str:
    ident = op.get_id()
    id_text = f", id {ident}" if ident is not None else ""
    return f"instruction {pos} ('{op.name}'{id_text}{_line_of(op)})"


@irdl_op_definition
class BufferOp(IRDLOperation):
    """A named DDR tensor of the group: a graph input/output, a weight or scratch space."""

    name = "axnpu.buffer"

    sym_name = prop_def(SymbolNameConstraint())
    view = prop_def(ViewAttr)
    kind = attr_def(StringAttr)

    traits = traits_def(HasParent(GroupOp), SymbolOpInterface())

    assembly_format = "$sym_name `:` qualified($view) attr-dict"

    def __init__(self, sym_name: str, view: ViewAttr, kind: str) -> None:
        super().__init__(
            properties={"sym_name": StringAttr(sym_name), "view": view},
            attributes={"kind": StringAttr(kind)},
        )

    def verify_(self) -> None:
        if self.kind.data not in BUFFER_KINDS:
            _fail(f"buffer kind must be one of {', '.join(BUFFER_KINDS)}, "
                  f"got '{self.kind.data}'")
        acc = self.view.access()
        if acc.space != "ddr":
            _fail(f"buffer @{self.sym_name.data} must be in ddr, got {acc.space}")
        if not self.view.is_contiguous:
            _fail(f"buffer @{self.sym_name.data} must be contiguous, got row stride "
                  f"{self.view.row_stride_bytes.data} for rows of {self.view.row_bytes} bytes")
        limits = _limits_of(self)
        if limits is not None and acc.end > limits.ddr_bytes:
            _fail(f"buffer @{self.sym_name.data} spans {acc}, past ddr_bytes "
                  f"{limits.ddr_bytes}")


# -- instructions --------------------------------------------------------------------------


class Sched(TypedDict, total=False):
    """Optional per-instruction schedule fields, as constructor keywords."""

    id: int
    deps: Sequence[int]
    eu: EUAttr
    cycles: int


def _sched_props(sched: Sched) -> dict[str, Attribute]:
    props: dict[str, Attribute] = {}
    if "id" in sched:
        props["id"] = _i64(sched["id"])
    if "deps" in sched:
        props["deps"] = DenseArrayBase.from_list(i64, list(sched["deps"]))
    if "eu" in sched:
        props["eu"] = sched["eu"]
    if "cycles" in sched:
        props["cycles"] = _i64(sched["cycles"])
    return props


def _put(props: dict[str, Attribute], **values: Attribute | None) -> dict[str, Attribute]:
    props.update({k: v for k, v in values.items() if v is not None})
    return props


SCHED_FORMAT = "(`id` $id^)? (`deps` $deps^)? (`eu` $eu^)? (`cycles` $cycles^)? attr-dict"


class InstructionOp(IRDLOperation, ABC):
    """Base of the axnpu instructions: schedule fields and the memory-access interface.

    Subclasses name their view operands in `INPUTS` / `OUTPUTS` (property names), or
    override `named_inputs` / `named_outputs`.
    """

    id = opt_prop_def(IntegerAttr[I64])
    deps = opt_prop_def(DenseArrayBase[I64])
    eu = opt_prop_def(EUAttr)
    cycles = opt_prop_def(IntegerAttr[I64])

    traits = traits_def(HasParent(GroupOp))

    EU_KIND: ClassVar[str | None] = None
    IN_PLACE: ClassVar[bool] = False
    INPUTS: ClassVar[tuple[str, ...]] = ()
    OUTPUTS: ClassVar[tuple[str, ...]] = ()
    DDR_OK: ClassVar[frozenset[str]] = frozenset()

    # -- schedule fields

    # The getters tolerate ill-typed fields (they return None / ()), because a group
    # verifies its instructions' ids before the instructions verify their own fields.

    def get_id(self) -> int | None:
        return _prop_int(self, "id")

    def get_deps(self) -> tuple[int, ...]:
        deps = self.properties.get("deps")
        if not isinstance(deps, DenseArrayBase) or not isinstance(deps.elt_type, IntegerType):
            return ()
        return tuple(int(d) for d in deps.get_values())

    def get_cycles(self) -> int | None:
        return _prop_int(self, "cycles")

    def set_id(self, value: int | None) -> None:
        self._set_prop("id", None if value is None else _i64(value))

    def set_deps(self, value: Sequence[int] | None) -> None:
        self._set_prop("deps", None if value is None else DenseArrayBase.from_list(i64, value))

    def set_eu(self, value: EUAttr | None) -> None:
        self._set_prop("eu", value)

    def set_cycles(self, value: int | None) -> None:
        self._set_prop("cycles", None if value is None else _i64(value))

    def _set_prop(self, name: str, value: Attribute | None) -> None:
        if value is None:
            self.properties.pop(name, None)
        else:
            self.properties[name] = value

    def eu_kind(self) -> str | None:
        """The EU kind this instruction runs on: conv, teng, sdma (None for a barrier)."""
        return self.EU_KIND

    # -- memory accesses

    def _views(self, names: tuple[str, ...]) -> list[tuple[str, ViewAttr]]:
        found = ((n, self.properties.get(n)) for n in names)
        return [(n, v) for n, v in found if isinstance(v, ViewAttr)]

    def named_inputs(self) -> list[tuple[str, Access]]:
        """(operand name, bytes) of every input, in the order of the op's syntax."""
        return [(n, v.access()) for n, v in self._views(self.INPUTS)]

    def named_outputs(self) -> list[tuple[str, Access]]:
        return [(n, v.access()) for n, v in self._views(self.OUTPUTS)]

    def reads(self) -> list[Access]:
        """Every byte pattern this instruction reads."""
        return [a for _, a in self.named_inputs()]

    def writes(self) -> list[Access]:
        """Every byte pattern this instruction writes."""
        return [a for _, a in self.named_outputs()]

    # -- verification

    def verify_(self) -> None:
        for field in ("id", "cycles"):
            value = _prop_int(self, field)
            if value is not None and value < 0:
                _fail(f"{field} must be >= 0, got {value}")
        deps = self.get_deps()
        for i, dep in enumerate(deps):
            if dep < 0:
                _fail(f"deps must be >= 0, got {dep}")
            if dep in deps[:i]:
                _fail(f"deps lists id {dep} twice")
        if (ident := self.get_id()) is not None and ident in deps:
            _fail(f"instruction {ident} depends on itself")
        self._verify_spaces()
        self._verify_semantics()
        limits = _limits_of(self)
        self._verify_eu(limits)
        if limits is not None:
            self._verify_limits(limits)
        self._verify_overlaps()

    def _verify_spaces(self) -> None:
        for name, view in self._views(self.INPUTS + self.OUTPUTS):
            if view.space.data not in ONCHIP_SPACES and name not in self.DDR_OK:
                _fail(f"'{name}' must be in ocm, got {view.space.data}")

    def _verify_semantics(self) -> None:
        """Shapes and dtypes; overridden by each instruction."""

    def _verify_eu(self, limits: ChipLimits | None) -> None:
        if self.eu is None:
            return
        kind, core, unit = self.eu.kind.data, self.eu.core.data, self.eu.unit.data
        where = f"eu <{kind}, {core}, {unit}>"
        if self.EU_KIND is None:
            _fail(f"takes no eu (it runs on no unit), got {where}")
        if kind != self.EU_KIND:
            _fail(f"{where} is a {kind} unit, but '{self.name}' runs on {self.EU_KIND}")
        if limits is None:
            return
        if core >= limits.cores:
            _fail(f"{where}: core {core} is out of range, the program has {limits.cores} cores")
        count = limits.eu_count(kind)
        if unit >= count:
            _fail(f"{where}: unit {unit} is out of range, each core has {count} {kind} units")

    def _verify_limits(self, limits: ChipLimits) -> None:
        for name, acc in self.named_inputs() + self.named_outputs():
            limit = limits.limit_bytes(acc.space)
            if acc.end > limit:
                _fail(f"'{name}' spans {acc}, past {acc.space}_bytes {limit}")

    def _verify_overlaps(self) -> None:
        inputs, outputs = self.named_inputs(), self.named_outputs()
        for i, (out_name, out) in enumerate(outputs):
            for other_name, other in outputs[:i]:
                if out.overlaps(other):
                    _fail(f"outputs '{other_name}' ({other}) and '{out_name}' ({out}) overlap")
            for in_name, acc in inputs:
                if self.IN_PLACE and acc == out:
                    continue
                if acc.overlaps(out):
                    hint = " (in place is allowed only on exactly the same bytes)"
                    _fail(f"output '{out_name}' ({out}) overlaps input '{in_name}' ({acc})"
                          + (hint if self.IN_PLACE else ""))


# -- SDMA ----------------------------------------------------------------------------------


class _DmaOp(InstructionOp, ABC):
    """A 2-D strided byte copy: `rows` rows of `row_bytes`, strides per side."""

    src = prop_def(RegionAttr)
    dst = prop_def(RegionAttr)
    rows = opt_prop_def(IntegerAttr[I64])
    row_bytes = opt_prop_def(IntegerAttr[I64])
    src_stride_bytes = opt_prop_def(IntegerAttr[I64])
    dst_stride_bytes = opt_prop_def(IntegerAttr[I64])

    assembly_format = (
        "$src `->` $dst (`rows` $rows^ `row_bytes` $row_bytes `src_stride_bytes` "
        "$src_stride_bytes `dst_stride_bytes` $dst_stride_bytes)? " + SCHED_FORMAT
    )

    EU_KIND: ClassVar[str | None] = "sdma"
    SRC_SPACE: ClassVar[str]
    DST_SPACE: ClassVar[str]
    """`ocm` here also admits `vocm` (the virtual on-chip space)."""
    PATTERN_FIELDS: ClassVar[tuple[str, ...]] = (
        "rows", "row_bytes", "src_stride_bytes", "dst_stride_bytes"
    )

    def __init__(
        self,
        src: RegionAttr,
        dst: RegionAttr,
        *,
        rows: int | None = None,
        row_bytes: int | None = None,
        src_stride_bytes: int | None = None,
        dst_stride_bytes: int | None = None,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(_sched_props(sched), src=src, dst=dst)
        if rows is not None:
            assert row_bytes is not None, "a strided copy needs row_bytes"
            src_stride = row_bytes if src_stride_bytes is None else src_stride_bytes
            dst_stride = row_bytes if dst_stride_bytes is None else dst_stride_bytes
            pattern = (rows, row_bytes, src_stride, dst_stride)
            props.update({k: _i64(v) for k, v in zip(self.PATTERN_FIELDS, pattern, strict=True)})
        super().__init__(properties=props)

    def pattern(self) -> tuple[int, int, int, int]:
        """(rows, row_bytes, src_stride_bytes, dst_stride_bytes); a plain copy is one row."""
        if self.rows is None or self.row_bytes is None:
            size = self.src.size_bytes.data
            return 1, size, size, size
        return (self.rows.value.data, self.row_bytes.value.data,
                _int_of(self.src_stride_bytes) or 0, _int_of(self.dst_stride_bytes) or 0)

    def named_inputs(self) -> list[tuple[str, Access]]:
        rows, row_bytes, src_stride, _ = self.pattern()
        return [("src", Access(self.src.space.data, self.src.offset.data, rows, row_bytes,
                               src_stride))]

    def named_outputs(self) -> list[tuple[str, Access]]:
        rows, row_bytes, _, dst_stride = self.pattern()
        return [("dst", Access(self.dst.space.data, self.dst.offset.data, rows, row_bytes,
                               dst_stride))]

    def _verify_spaces(self) -> None:
        src, dst = self.src.space.data, self.dst.space.data
        def kind(space: str) -> str:
            return "ocm" if space in ONCHIP_SPACES else space

        if (kind(src), kind(dst)) != (self.SRC_SPACE, self.DST_SPACE):
            _fail(f"moves {self.SRC_SPACE} -> {self.DST_SPACE}, got {src} -> {dst}")

    def _verify_semantics(self) -> None:
        given = [self.properties.get(f) is not None for f in self.PATTERN_FIELDS]
        if any(given) and not all(given):
            _fail("a strided copy needs all of rows, row_bytes, src_stride_bytes and "
                  "dst_stride_bytes")
        src_size, dst_size = self.src.size_bytes.data, self.dst.size_bytes.data
        if not any(given):
            if src_size != dst_size:
                _fail(f"src has {src_size} bytes but dst has {dst_size}")
            return
        rows, row_bytes, src_stride, dst_stride = self.pattern()
        if rows <= 0 or row_bytes <= 0:
            _fail(f"rows and row_bytes must be > 0, got {rows} and {row_bytes}")
        if src_stride < 0:
            _fail(f"src_stride_bytes must be >= 0, got {src_stride}")
        if rows > 1 and dst_stride < row_bytes:
            _fail(f"dst_stride_bytes {dst_stride} is smaller than row_bytes {row_bytes}; "
                  "written rows would overlap")
        for side, size, stride in (("src", src_size, src_stride), ("dst", dst_size, dst_stride)):
            span = (rows - 1) * stride + row_bytes
            if size != span:
                _fail(f"{side} region has {size} bytes but {rows} rows of {row_bytes} bytes "
                      f"every {stride} span {span}")


@irdl_op_definition
class DmaLoadOp(_DmaOp):
    """DDR -> OCM copy."""

    name = "axnpu.dma_load"
    SRC_SPACE: ClassVar[str] = "ddr"
    DST_SPACE: ClassVar[str] = "ocm"


@irdl_op_definition
class DmaStoreOp(_DmaOp):
    """OCM -> DDR copy."""

    name = "axnpu.dma_store"
    SRC_SPACE: ClassVar[str] = "ocm"
    DST_SPACE: ClassVar[str] = "ddr"


@irdl_op_definition
class DmaCopyOp(_DmaOp):
    """OCM -> OCM copy (re-layout, concatenation, moving live data)."""

    name = "axnpu.dma_copy"
    SRC_SPACE: ClassVar[str] = "ocm"
    DST_SPACE: ClassVar[str] = "ocm"


# -- CONV ----------------------------------------------------------------------------------


def _check_dtype(name: str, view: ViewAttr, allowed: frozenset[str]) -> None:
    if view.dtype.data not in allowed:
        _fail(f"'{name}' has dtype {view.dtype.data}; expected one of "
              f"{', '.join(sorted(allowed))}")


def _check_rank(name: str, view: ViewAttr, rank: int) -> None:
    if len(view.get_shape()) != rank:
        _fail(f"'{name}' must be {rank}-D, got shape {_fmt(view.get_shape())}")


def _check_vector(name: str, view: ViewAttr, length: int) -> None:
    """A per-channel vector: `length` elements, laid out as [length] or [1, ..., length]."""
    shape = view.get_shape()
    if shape[-1] != length or view.numel != length:
        _fail(f"'{name}' must hold {length} elements along its last dimension, "
              f"got shape {_fmt(shape)}")


@irdl_op_definition
class MatmulOp(InstructionOp):
    """One matmul tile: out[M, N] = x[M, K] . W^T (+ out if accumulate) (+ bias), fp32 sums.

    W is `w` [N, K] (or [K, N] with `w_kn`); s8/s4 weights are dequantised on the fly as
    (q - zero) * scale with one scale per output channel and group of `group_size` along K.
    """

    name = "axnpu.matmul"

    x = prop_def(ViewAttr)
    w = prop_def(ViewAttr)
    scale = opt_prop_def(ViewAttr)
    zero = opt_prop_def(ViewAttr)
    group_size = opt_prop_def(IntegerAttr[I64])
    bias = opt_prop_def(ViewAttr)
    w_kn = opt_prop_def(UnitAttr)
    accumulate = opt_prop_def(UnitAttr)
    out = prop_def(ViewAttr)

    assembly_format = (
        "$x `,` $w (`scale` $scale^)? (`zero` $zero^)? (`group_size` $group_size^)? "
        "(`bias` $bias^)? (`w_kn` $w_kn^)? (`accumulate` $accumulate^)? `->` $out "
        + SCHED_FORMAT
    )

    EU_KIND: ClassVar[str | None] = "conv"
    INPUTS: ClassVar[tuple[str, ...]] = ("x", "w", "scale", "zero", "bias")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self,
        x: ViewAttr,
        w: ViewAttr,
        out: ViewAttr,
        *,
        scale: ViewAttr | None = None,
        zero: ViewAttr | None = None,
        group_size: int | None = None,
        bias: ViewAttr | None = None,
        w_kn: bool = False,
        accumulate: bool = False,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(
            _sched_props(sched), x=x, w=w, out=out, scale=scale, zero=zero, bias=bias,
            group_size=None if group_size is None else _i64(group_size),
            w_kn=UnitAttr() if w_kn else None, accumulate=UnitAttr() if accumulate else None,
        )
        super().__init__(properties=props)

    def mkn(self) -> tuple[int, int, int]:
        """The tile's (M, K, N)."""
        m, k = self.x.get_shape()
        n = self.w.get_shape()[1 if self.w_kn else 0]
        return m, k, n

    def reads(self) -> list[Access]:
        extra = [self.out.access()] if self.accumulate else []
        return super().reads() + extra

    def _verify_semantics(self) -> None:
        x, w, out = self.x, self.w, self.out
        for name, view in (("x", x), ("w", w), ("out", out)):
            _check_rank(name, view, 2)
        _check_dtype("x", x, FLOAT_DTYPES)
        _check_dtype("w", w, WEIGHT_DTYPES)
        _check_dtype("out", out, FLOAT_DTYPES)
        m, k = x.get_shape()
        wk, n = w.get_shape() if self.w_kn else reversed(w.get_shape())
        layout = "[K, N]" if self.w_kn else "[N, K]"
        if wk != k:
            _fail(f"x is [M, K] = {_fmt((m, k))} but w {layout} is {_fmt(w.get_shape())}: "
                  f"K {wk} != {k}")
        if out.get_shape() != (m, n):
            _fail(f"out must be [M, N] = {_fmt((m, n))}, got {_fmt(out.get_shape())}")
        if self.bias is not None:
            _check_dtype("bias", self.bias, FLOAT_DTYPES)
            _check_vector("bias", self.bias, n)
        if w.dtype.data in QUANT_DTYPES:
            self._verify_quant(k, n)
        else:
            for field in ("scale", "zero", "group_size"):
                if self.properties.get(field) is not None:
                    _fail(f"'{field}' applies only to s8/s4 weights, w is {w.dtype.data}")

    def _verify_quant(self, k: int, n: int) -> None:
        if self.w_kn:
            _fail(f"{self.w.dtype.data} weights must be laid out [N, K]; drop w_kn")
        if self.scale is None:
            _fail(f"{self.w.dtype.data} weights need a 'scale'")
        _check_dtype("scale", self.scale, FLOAT_DTYPES)
        groups = 1
        if (size := _int_of(self.group_size)) is not None:
            if size <= 0 or k % size:
                _fail(f"group_size {size} must be > 0 and divide K = {k}")
            groups = k // size
        if self.scale.get_shape() != (n, groups):
            _fail(f"scale must be [N, K / group_size] = {_fmt((n, groups))}, "
                  f"got {_fmt(self.scale.get_shape())}")
        if self.zero is not None:
            _check_dtype("zero", self.zero, FLOAT_DTYPES)
            if self.zero.get_shape() != (n, groups):
                _fail(f"zero must have the shape of scale {_fmt((n, groups))}, "
                      f"got {_fmt(self.zero.get_shape())}")


# -- TENG ----------------------------------------------------------------------------------


def _broadcasts(src: Sequence[int], dst: Sequence[int]) -> bool:
    """numpy broadcasting of `src` to exactly `dst`: right-aligned, each dim equal or 1."""
    if len(src) > len(dst):
        return False
    return all(s in (1, d) for s, d in zip(reversed(src), reversed(dst), strict=False))


def _check_broadcast(name: str, view: ViewAttr, out_shape: Sequence[int]) -> None:
    if not _broadcasts(view.get_shape(), out_shape):
        _fail(f"'{name}' shape {_fmt(view.get_shape())} does not broadcast to "
              f"{_fmt(out_shape)}")


def _check_same_shape(name: str, view: ViewAttr, shape: Sequence[int]) -> None:
    if view.get_shape() != tuple(shape):
        _fail(f"'{name}' must have shape {_fmt(shape)}, got {_fmt(view.get_shape())}")


class _TengOp(InstructionOp, ABC):
    EU_KIND: ClassVar[str | None] = "teng"


@irdl_op_definition
class EltwiseOp(_TengOp):
    """out = f(a[, b | scalar][, c]) element by element, inputs broadcast to `out`'s shape."""

    name = "axnpu.eltwise"

    kind = prop_def(EltwiseKindAttr)
    a = prop_def(ViewAttr)
    b = opt_prop_def(ViewAttr)
    c = opt_prop_def(ViewAttr)
    scalar = opt_prop_def(FloatAttr[Float32Type])
    out = prop_def(ViewAttr)

    assembly_format = (
        "$kind $a (`,` $b^)? (`else` $c^)? (`scalar` $scalar^)? `->` $out " + SCHED_FORMAT
    )

    IN_PLACE: ClassVar[bool] = True
    INPUTS: ClassVar[tuple[str, ...]] = ("a", "b", "c")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self,
        kind: str | EltwiseKind,
        a: ViewAttr,
        out: ViewAttr,
        *,
        b: ViewAttr | None = None,
        c: ViewAttr | None = None,
        scalar: float | None = None,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(
            _sched_props(sched), kind=EltwiseKindAttr(EltwiseKind(kind)), a=a, b=b, c=c,
            out=out,
            scalar=None if scalar is None else _f32(scalar),
        )
        super().__init__(properties=props)

    def get_kind(self) -> EltwiseKind:
        return self.kind.data

    def _verify_semantics(self) -> None:
        kind = self.kind.data
        has_b, has_scalar = self.b is not None, self.scalar is not None
        if (self.c is not None) != (kind in TERNARY_KINDS):
            _fail(f"'{kind}' takes three inputs (cond, then, else)" if kind in TERNARY_KINDS
                  else f"'{kind}' takes no 'else' input")
        if kind in TERNARY_KINDS and (not has_b or has_scalar):
            _fail(f"'{kind}' takes three inputs (cond, then, else) and no scalar")
        if kind in BINARY_KINDS and has_b == has_scalar:
            _fail(f"'{kind}' takes a second input or a scalar, exactly one of them")
        if kind in GATED_KINDS and (not has_b or has_scalar):
            _fail(f"'{kind}' takes two inputs (gate, up) and no scalar")
        if kind in UNARY_KINDS and (has_b or has_scalar):
            _fail(f"'{kind}' takes one input")
        out_shape = self.out.get_shape()
        for name, view in self._views(("a", "b", "c")):
            _check_broadcast(name, view, out_shape)
        if kind in (EltwiseKind.CAST, EltwiseKind.COPY):
            allowed = frozenset(DTYPE_BITS) - {"s4"}
            _check_dtype("a", self.a, allowed)
            _check_dtype("out", self.out, allowed)
            if kind == EltwiseKind.COPY and self.a.dtype != self.out.dtype:
                _fail(f"copy keeps the dtype, got {self.a.dtype.data} -> "
                      f"{self.out.dtype.data}; use cast")
            return
        allowed = FLOAT_DTYPES | (INT_DTYPES if kind in INT_OK_KINDS else frozenset())
        for name, view in self._views(("a", "b", "c", "out")):
            _check_dtype(name, view, allowed)


@irdl_op_definition
class RmsNormOp(_TengOp):
    """out = x / sqrt(mean(x^2 over the last dim) + eps) * (weight + weight_offset)."""

    name = "axnpu.rms_norm"

    x = prop_def(ViewAttr)
    weight = opt_prop_def(ViewAttr)
    weight_offset = opt_prop_def(FloatAttr[Float32Type])
    eps = prop_def(FloatAttr[Float32Type])
    out = prop_def(ViewAttr)

    assembly_format = (
        "$x (`weight` $weight^)? (`weight_offset` $weight_offset^)? `eps` $eps `->` $out "
        + SCHED_FORMAT
    )

    IN_PLACE: ClassVar[bool] = True
    INPUTS: ClassVar[tuple[str, ...]] = ("x", "weight")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self,
        x: ViewAttr,
        out: ViewAttr,
        *,
        eps: float,
        weight: ViewAttr | None = None,
        weight_offset: float | None = None,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(
            _sched_props(sched), x=x, weight=weight, eps=_f32(eps), out=out,
            weight_offset=None if weight_offset is None else _f32(weight_offset),
        )
        super().__init__(properties=props)

    def _verify_semantics(self) -> None:
        _verify_norm(self, self.x, self.out, ("weight",))
        if self.weight_offset is not None and self.weight is None:
            _fail("weight_offset needs a weight")


def _verify_norm(op: InstructionOp, x: ViewAttr, out: ViewAttr, params: tuple[str, ...]) -> None:
    _check_dtype("x", x, FLOAT_DTYPES)
    _check_dtype("out", out, FLOAT_DTYPES)
    _check_same_shape("out", out, x.get_shape())
    for name, view in op._views(params):
        _check_dtype(name, view, FLOAT_DTYPES)
        _check_vector(name, view, x.get_shape()[-1])
    eps = op.properties.get("eps")
    if isinstance(eps, FloatAttr) and eps.value.data < 0:
        _fail(f"eps must be >= 0, got {eps.value.data}")


@irdl_op_definition
class LayerNormOp(_TengOp):
    """out = (x - mean) / sqrt(var + eps) * weight + bias, over the last dim."""

    name = "axnpu.layer_norm"

    x = prop_def(ViewAttr)
    weight = opt_prop_def(ViewAttr)
    bias = opt_prop_def(ViewAttr)
    eps = prop_def(FloatAttr[Float32Type])
    out = prop_def(ViewAttr)

    assembly_format = (
        "$x (`weight` $weight^)? (`bias` $bias^)? `eps` $eps `->` $out " + SCHED_FORMAT
    )

    IN_PLACE: ClassVar[bool] = True
    INPUTS: ClassVar[tuple[str, ...]] = ("x", "weight", "bias")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self,
        x: ViewAttr,
        out: ViewAttr,
        *,
        eps: float,
        weight: ViewAttr | None = None,
        bias: ViewAttr | None = None,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(_sched_props(sched), x=x, weight=weight, bias=bias, eps=_f32(eps), out=out)
        super().__init__(properties=props)

    def _verify_semantics(self) -> None:
        _verify_norm(self, self.x, self.out, ("weight", "bias"))


@irdl_op_definition
class RopeOp(_TengOp):
    """Rotary embedding of each head of x [T, heads * head_dim] at the given positions."""

    name = "axnpu.rope"

    style = prop_def(RopeStyleAttr)
    x = prop_def(ViewAttr)
    positions = prop_def(ViewAttr)
    inv_freq = prop_def(ViewAttr)
    head_dim = prop_def(IntegerAttr[I64])
    scaling = opt_prop_def(FloatAttr[Float32Type])
    table_dtype = opt_prop_def(StringAttr)
    out = prop_def(ViewAttr)

    assembly_format = (
        "$style $x `positions` $positions `inv_freq` $inv_freq `head_dim` $head_dim "
        "(`scaling` $scaling^)? (`tables` $table_dtype^)? `->` $out " + SCHED_FORMAT
    )

    IN_PLACE: ClassVar[bool] = True
    INPUTS: ClassVar[tuple[str, ...]] = ("x", "positions", "inv_freq")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self,
        x: ViewAttr,
        positions: ViewAttr,
        inv_freq: ViewAttr,
        out: ViewAttr,
        *,
        head_dim: int,
        style: str | RopeStyle = RopeStyle.HALF,
        scaling: float | None = None,
        table_dtype: str | None = None,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(
            _sched_props(sched), style=RopeStyleAttr(RopeStyle(style)), x=x,
            positions=positions, inv_freq=inv_freq, head_dim=_i64(head_dim), out=out,
            scaling=None if scaling is None else _f32(scaling),
            table_dtype=None if table_dtype is None else StringAttr(table_dtype),
        )
        super().__init__(properties=props)

    def get_table_dtype(self) -> str:
        """The dtype cos/sin are rounded to: `tables`, else the output's dtype."""
        return self.table_dtype.data if self.table_dtype is not None else self.out.dtype.data

    def rotary_dim(self) -> int:
        """Rotated elements per head (2 x inv_freq length); the rest pass through."""
        return 2 * self.inv_freq.numel

    def _verify_semantics(self) -> None:
        _check_rank("x", self.x, 2)
        _check_dtype("x", self.x, FLOAT_DTYPES)
        _check_dtype("out", self.out, FLOAT_DTYPES)
        _check_same_shape("out", self.out, self.x.get_shape())
        tokens, width = self.x.get_shape()
        head_dim = self.head_dim.value.data
        if head_dim <= 0 or width % head_dim:
            _fail(f"head_dim {head_dim} must be > 0 and divide the row of x ({width})")
        _check_dtype("positions", self.positions, INDEX_DTYPES)
        _check_vector("positions", self.positions, tokens)
        _check_dtype("inv_freq", self.inv_freq, frozenset({"f32"}))
        if self.table_dtype is not None and self.table_dtype.data not in FLOAT_DTYPES:
            _fail(f"tables must be one of {', '.join(sorted(FLOAT_DTYPES))}, got "
                  f"'{self.table_dtype.data}'")
        if self.rotary_dim() > head_dim:
            _fail(f"inv_freq has {self.inv_freq.numel} frequencies, so it rotates "
                  f"{self.rotary_dim()} elements, more than head_dim {head_dim}")


@irdl_op_definition
class SoftmaxOp(_TengOp):
    """out = softmax(cap(x * scale) + mask) over the last dim; cap(s) = c * tanh(s / c)."""

    name = "axnpu.softmax"

    x = prop_def(ViewAttr)
    mask = opt_prop_def(ViewAttr)
    scale = opt_prop_def(FloatAttr[Float32Type])
    softcap = opt_prop_def(FloatAttr[Float32Type])
    out = prop_def(ViewAttr)

    assembly_format = (
        "$x (`mask` $mask^)? (`scale` $scale^)? (`softcap` $softcap^)? `->` $out "
        + SCHED_FORMAT
    )

    IN_PLACE: ClassVar[bool] = True
    INPUTS: ClassVar[tuple[str, ...]] = ("x", "mask")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self,
        x: ViewAttr,
        out: ViewAttr,
        *,
        mask: ViewAttr | None = None,
        scale: float | None = None,
        softcap: float | None = None,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(
            _sched_props(sched), x=x, mask=mask, out=out,
            scale=None if scale is None else _f32(scale),
            softcap=None if softcap is None else _f32(softcap),
        )
        super().__init__(properties=props)

    def _verify_semantics(self) -> None:
        for name, view in self._views(("x", "mask", "out")):
            _check_dtype(name, view, FLOAT_DTYPES)
        _check_same_shape("out", self.out, self.x.get_shape())
        if self.mask is not None:
            _check_broadcast("mask", self.mask, self.x.get_shape())
        if (cap := _float_of(self.softcap)) is not None and cap <= 0:
            _fail(f"softcap must be > 0, got {cap}")


@irdl_op_definition
class ReduceOp(_TengOp):
    """out = reduce(x) along `axis`, which is kept with size 1."""

    name = "axnpu.reduce"

    kind = prop_def(ReduceKindAttr)
    x = prop_def(ViewAttr)
    axis = prop_def(IntegerAttr[I64])
    out = prop_def(ViewAttr)

    assembly_format = "$kind $x `axis` $axis `->` $out " + SCHED_FORMAT

    INPUTS: ClassVar[tuple[str, ...]] = ("x",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self, kind: str | ReduceKind, x: ViewAttr, out: ViewAttr, *, axis: int,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(_sched_props(sched), kind=ReduceKindAttr(ReduceKind(kind)), x=x,
                     axis=_i64(axis), out=out)
        super().__init__(properties=props)

    def _verify_semantics(self) -> None:
        _check_dtype("x", self.x, FLOAT_DTYPES)
        _check_dtype("out", self.out, FLOAT_DTYPES)
        shape, axis = self.x.get_shape(), self.axis.value.data
        if not 0 <= axis < len(shape):
            _fail(f"axis {axis} is out of range for x of rank {len(shape)}")
        _check_same_shape("out", self.out, shape[:axis] + (1,) + shape[axis + 1:])


@irdl_op_definition
class TransposeOp(_TengOp):
    """out = x with its dimensions permuted: out.shape[i] = x.shape[perm[i]]."""

    name = "axnpu.transpose"

    x = prop_def(ViewAttr)
    perm = prop_def(DenseArrayBase[I64])
    out = prop_def(ViewAttr)

    assembly_format = "$x `perm` $perm `->` $out " + SCHED_FORMAT

    INPUTS: ClassVar[tuple[str, ...]] = ("x",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)

    def __init__(
        self, x: ViewAttr, out: ViewAttr, *, perm: Sequence[int], **sched: Unpack[Sched]
    ) -> None:
        props = _put(_sched_props(sched), x=x, perm=DenseArrayBase.from_list(i64, perm), out=out)
        super().__init__(properties=props)

    def get_perm(self) -> tuple[int, ...]:
        return tuple(self.perm.get_values())

    def _verify_semantics(self) -> None:
        shape, perm = self.x.get_shape(), self.get_perm()
        if sorted(perm) != list(range(len(shape))):
            _fail(f"perm {_fmt(perm)} is not a permutation of the {len(shape)} dims of x")
        if self.x.dtype != self.out.dtype or self.x.dtype.data == "s4":
            _fail(f"transpose keeps the dtype (not s4), got {self.x.dtype.data} -> "
                  f"{self.out.dtype.data}")
        _check_same_shape("out", self.out, tuple(shape[p] for p in perm))


@irdl_op_definition
class GatherOp(_TengOp):
    """out[t, :] = table[indices[t], :] (embedding lookup, row gather)."""

    name = "axnpu.gather"

    table = prop_def(ViewAttr)
    indices = prop_def(ViewAttr)
    out = prop_def(ViewAttr)

    assembly_format = "$table `indices` $indices `->` $out " + SCHED_FORMAT

    INPUTS: ClassVar[tuple[str, ...]] = ("table", "indices")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("out",)
    DDR_OK: ClassVar[frozenset[str]] = frozenset({"table"})

    def __init__(
        self, table: ViewAttr, indices: ViewAttr, out: ViewAttr, **sched: Unpack[Sched]
    ) -> None:
        props = _put(_sched_props(sched), table=table, indices=indices, out=out)
        super().__init__(properties=props)

    def _verify_semantics(self) -> None:
        _check_rank("table", self.table, 2)
        _check_rank("out", self.out, 2)
        _check_dtype("indices", self.indices, INDEX_DTYPES)
        if self.table.dtype != self.out.dtype or self.table.dtype.data == "s4":
            _fail(f"gather keeps the dtype (not s4), got {self.table.dtype.data} -> "
                  f"{self.out.dtype.data}")
        tokens = self.indices.numel
        _check_same_shape("out", self.out, (tokens, self.table.get_shape()[1]))


@irdl_op_definition
class TopKOp(_TengOp):
    """The k largest values of each row of x, descending, and their column indices."""

    name = "axnpu.topk"

    x = prop_def(ViewAttr)
    k = prop_def(IntegerAttr[I64])
    values = prop_def(ViewAttr)
    indices = prop_def(ViewAttr)

    assembly_format = "$x `k` $k `->` $values `,` $indices " + SCHED_FORMAT

    INPUTS: ClassVar[tuple[str, ...]] = ("x",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("values", "indices")

    def __init__(
        self, x: ViewAttr, values: ViewAttr, indices: ViewAttr, *, k: int,
        **sched: Unpack[Sched],
    ) -> None:
        props = _put(_sched_props(sched), x=x, k=_i64(k), values=values, indices=indices)
        super().__init__(properties=props)

    def _verify_semantics(self) -> None:
        _check_dtype("x", self.x, FLOAT_DTYPES)
        _check_dtype("values", self.values, FLOAT_DTYPES)
        _check_dtype("indices", self.indices, INDEX_DTYPES)
        shape, k = self.x.get_shape(), self.k.value.data
        if not 0 < k <= shape[-1]:
            _fail(f"k must be in [1, {shape[-1]}], got {k}")
        want = shape[:-1] + (k,)
        _check_same_shape("values", self.values, want)
        _check_same_shape("indices", self.indices, want)


# -- sync ----------------------------------------------------------------------------------


@irdl_op_definition
class BarrierOp(InstructionOp):
    """Touches no memory and runs on no EU; completes when all its deps have completed."""

    name = "axnpu.barrier"

    assembly_format = SCHED_FORMAT

    def __init__(self, **sched: Unpack[Sched]) -> None:
        super().__init__(properties=_sched_props(sched))


AXNPU = Dialect(
    "axnpu",
    [
        ProgramOp,
        GroupOp,
        BufferOp,
        DmaLoadOp,
        DmaStoreOp,
        DmaCopyOp,
        MatmulOp,
        EltwiseOp,
        RmsNormOp,
        LayerNormOp,
        RopeOp,
        SoftmaxOp,
        ReduceOp,
        TransposeOp,
        GatherOp,
        TopKOp,
        BarrierOp,
    ],
    [
        RegionAttr,
        ViewAttr,
        EUAttr,
        EltwiseKindAttr,
        RopeStyleAttr,
        ReduceKindAttr,
    ],
)
