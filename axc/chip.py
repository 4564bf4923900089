"""Chip files: the open description of an AX NPU that the cost and timing models read.

One file per chip (`axc/chips/<NAME>.chip`, or any path a user passes), in a small,
commented, human-readable format (grammar below; reference: docs/chip-model.md). A file
holds the public facts (EU counts, TOPS, DDR bus) and, in its `assumptions` block, every
number that is not public (OCM size, bf16 matmul rate, DMA efficiency, per-instruction
overheads, ...), each with a comment saying what it is and how it was calibrated. No chip
number lives in code: `load_chip` turns a file into a frozen `Chip` whose field names carry
their units.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from axc.chips import CHIPS_DIR
from axc.dialects.axnpu import EU_KINDS, FLOAT_DTYPES, WEIGHT_DTYPES, EltwiseKind
from axc.errors import AxcError

# -- the file format -------------------------------------------------------------------------

GRAMMAR = r"""
start: "chip" STRING block
block: "{" entry* "}"
entry: NAME "=" value       -> assign
     | NAME block           -> section
?value: NUMBER              -> number
      | STRING              -> string
      | NAME                -> ident
      | "[" [value ("," value)* ","?] "]" -> list

NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[+-]?\d[\d_]*(\.\d[\d_]*)?([eE][+-]?\d+)?/
STRING: /"[^"\n]*"/
COMMENT: /#[^\n]*/
%ignore COMMENT
%ignore /\s+/
"""
"""Lark grammar of a chip file: `chip "NAME" { key = value ... section { ... } }`.

Values are numbers (`1_048_576`, `0.55`, `1e-3`), strings, bare names and `[lists]`;
`#` starts a comment. Which keys exist and what they mean is the schema below.
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True)

# readable names of the grammar's terminals, for syntax errors
_TOKEN_WORDS = {
    "EQUAL": "'='", "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['", "RSQB": "']'",
    "COMMA": "','", "NAME": "a name", "NUMBER": "a number", "STRING": "a \"string\"",
    "CHIP": "'chip'", "$END": "the end of the file",
}

TENG_OP_KINDS = ("rms_norm", "layer_norm", "rope", "softmax", "reduce", "transpose", "gather")
"""TENG instructions other than `axnpu.eltwise` (whose kinds are `EltwiseKind`)."""


@dataclass(frozen=True)
class _Value:
    value: Any
    line: int


@dataclass(frozen=True)
class _Section:
    entries: dict[str, _Value | _Section]
    line: int


def _syntax_error(path: str, text: str, err: UnexpectedInput) -> AxcError:
    line, col = getattr(err, "line", 0), getattr(err, "column", 0)
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        line = text.count("\n") + 1
        what = "unexpected end of file (a '}' is missing?)"
    elif isinstance(err, UnexpectedToken):
        expected = sorted(_TOKEN_WORDS.get(t, t) for t in err.expected)
        what = f"unexpected {err.token.value!r}; expected {' or '.join(expected)}"
    elif isinstance(err, UnexpectedCharacters):
        what = f"unexpected character {err.char!r}"
    else:  # pragma: no cover - lark raises only the kinds above
        what = str(err).splitlines()[0]
    return AxcError(f"{path}:{line}:{col}: syntax error: {what}")


def _number(token: Token) -> int | float:
    text = token.value.replace("_", "")
    return float(text) if any(c in text for c in ".eE") else int(text)


class _Ident(str):
    """A bare name in a value position (e.g. `default_npu_mode = NPU3`)."""


def _to_value(node: Tree | Token) -> Any:
    if isinstance(node, Token):  # pragma: no cover - values are always wrapped
        return node.value
    if node.data == "number":
        return _number(node.children[0])
    if node.data == "string":
        return node.children[0].value[1:-1]
    if node.data == "ident":
        return _Ident(node.children[0].value)
    return [_to_value(c) for c in node.children if c is not None]


def _to_section(path: str, block: Tree, line: int) -> _Section:
    entries: dict[str, _Value | _Section] = {}
    for entry in block.children:
        name_token = entry.children[0]
        name, entry_line = name_token.value, name_token.line
        if name in entries:
            raise AxcError(f"{path}:{entry_line}: '{name}' is given twice in this section "
                           f"(first on line {entries[name].line})")
        if entry.data == "section":
            entries[name] = _to_section(path, entry.children[1], entry_line)
        else:
            entries[name] = _Value(_to_value(entry.children[1]), entry_line)
    return _Section(entries, line)


def parse_chip_text(text: str, path: str = "<chip>") -> tuple[str, _Section]:
    """Parse chip-file text into (chip name, top section); syntax errors name file:line:col."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(path, text, err) from None
    name_token, block = tree.children
    return name_token.value[1:-1], _to_section(path, block, name_token.line)


# -- the schema ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """One key of the schema: the Chip attribute it fills, its type and its range."""

    attr: str
    kind: str  # int | float | str | names | table
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: value must be > low (else >= low)
    required: bool = True
    keys: tuple[str, ...] = ()  # table: allowed keys
    required_keys: tuple[str, ...] = ()


def _pos_int(attr: str) -> _Field:
    return _Field(attr, "int", 1)


def _nonneg(attr: str, kind: str = "float") -> _Field:
    return _Field(attr, kind, 0)


def _positive(attr: str) -> _Field:
    return _Field(attr, "float", 0, low_open=True)


_TENG_COST_KEYS = ("default", *TENG_OP_KINDS, *(k.value for k in EltwiseKind))

SCHEMA: dict[str, Any] = {
    "aliases": _Field("aliases", "names", required=False),
    "description": _Field("description", "str", required=False),
    "npu_modes": _Field("npu_modes", "table", 1),
    "default_npu_mode": _Field("default_npu_mode", "str"),
    "units_per_core": {k: _pos_int(f"{k}_per_core") for k in EU_KINDS},
    "int8_tops": _positive("int8_tops"),
    "int4_tops": _positive("int4_tops"),
    "ddr": {"bus_bits": _pos_int("ddr_bus_bits"), "mt_per_s": _pos_int("ddr_mt_per_s")},
    "assumptions": {
        "clock_mhz": _positive("clock_mhz"),
        "ocm_bytes_per_core": _pos_int("ocm_bytes"),
        "group_launch_us": _nonneg("group_launch_us"),
        "dma": {
            "efficiency": _Field("dma_efficiency", "float", 0, 1, low_open=True),
            "latency_ns": _nonneg("ddr_latency_ns"),
            "burst_bytes": _pos_int("ddr_burst_bytes"),
            "overhead_cycles": _nonneg("dma_overhead_cycles", "int"),
            "ocm_copy_bytes_per_cycle": _positive("ocm_copy_bytes_per_cycle"),
        },
        "conv": {
            "overhead_cycles": _nonneg("conv_overhead_cycles", "int"),
            "m_granule_rows": _pos_int("conv_m_granule_rows"),
            "act_rate": _Field("matmul_act_rate", "table", 0, low_open=True,
                               keys=tuple(sorted(FLOAT_DTYPES)),
                               required_keys=tuple(sorted(FLOAT_DTYPES))),
            "weight_rate": _Field("matmul_weight_rate", "table", 0, low_open=True,
                                  keys=tuple(sorted(WEIGHT_DTYPES)),
                                  required_keys=tuple(sorted(WEIGHT_DTYPES))),
        },
        "teng": {
            "overhead_cycles": _nonneg("teng_overhead_cycles", "int"),
            "elements_per_cycle": _positive("teng_elements_per_cycle"),
            "cost_factor": _Field("teng_cost_factors", "table", 0, low_open=True,
                                  keys=_TENG_COST_KEYS, required_keys=("default",)),
        },
    },
}
"""Every key a chip file may hold, nested as in the file, mapped to a `Chip` attribute."""


def _check_number(path: str, where: str, spec: _Field, item: _Value, value: Any) -> Any:
    is_num = isinstance(value, int | float) and not isinstance(value, bool | str)
    if spec.kind == "int" and not (is_num and float(value).is_integer()):
        raise AxcError(f"{path}:{item.line}: '{where}' must be an integer, got {value!r}")
    if spec.kind in ("float", "table") and not is_num:
        raise AxcError(f"{path}:{item.line}: '{where}' must be a number, got {value!r}")
    value = int(value) if spec.kind == "int" else float(value)
    if spec.low is not None and (value <= spec.low if spec.low_open else value < spec.low):
        bound = ">" if spec.low_open else ">="
        raise AxcError(f"{path}:{item.line}: '{where}' must be {bound} {spec.low:g}, got {value:g}")
    if spec.high is not None and value > spec.high:
        raise AxcError(f"{path}:{item.line}: '{where}' must be <= {spec.high:g}, got {value:g}")
    return value


def _check_field(path: str, where: str, spec: _Field, item: _Value | _Section) -> Any:
    if spec.kind == "table":
        if not isinstance(item, _Section):
            raise AxcError(f"{path}:{item.line}: '{where}' must be a section "
                           f"`{where.rsplit('.', 1)[-1]} {{ key = number ... }}`")
        table: dict[str, float] = {}
        for key, sub in item.entries.items():
            if spec.keys and key not in spec.keys:
                raise AxcError(f"{path}:{sub.line}: unknown key '{key}' in '{where}'; "
                               f"expected one of: {', '.join(spec.keys)}")
            if isinstance(sub, _Section):
                raise AxcError(f"{path}:{sub.line}: '{where}.{key}' must be a number")
            table[key] = _check_number(path, f"{where}.{key}", spec, sub, sub.value)
        for key in spec.required_keys:
            if key not in table:
                raise AxcError(f"{path}:{item.line}: '{where}' lacks '{key}'")
        if not table:
            raise AxcError(f"{path}:{item.line}: '{where}' is empty")
        return tuple(table.items())
    if isinstance(item, _Section):
        raise AxcError(f"{path}:{item.line}: '{where}' must be a value, not a section")
    value = item.value
    if spec.kind == "str":
        if not isinstance(value, str):
            raise AxcError(f"{path}:{item.line}: '{where}' must be a string, got {value!r}")
        return str(value)
    if spec.kind == "names":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AxcError(f"{path}:{item.line}: '{where}' must be a list of names, "
                           f"e.g. [\"AX650N\"], got {value!r}")
        return tuple(str(v) for v in value)
    return _check_number(path, where, spec, item, value)


def _walk(path: str, section: _Section, schema: dict[str, Any], prefix: str,
          out: dict[str, Any], assumed: list[str], in_assumptions: bool) -> None:
    for key, item in section.entries.items():
        where = f"{prefix}{key}"
        if key not in schema:
            place = f"section '{prefix[:-1]}'" if prefix else "the chip block"
            raise AxcError(f"{path}:{item.line}: unknown key '{key}' in {place}; expected "
                           f"one of: {', '.join(schema)}")
        spec = schema[key]
        if isinstance(spec, dict):
            if not isinstance(item, _Section):
                raise AxcError(f"{path}:{item.line}: '{where}' must be a section "
                               f"`{key} {{ ... }}`")
            _walk(path, item, spec, where + ".", out, assumed,
                  in_assumptions or key == "assumptions")
            continue
        out[spec.attr] = _check_field(path, where, spec, item)
        if in_assumptions:
            assumed.append(spec.attr)
    for key, spec in schema.items():
        if key in section.entries:
            continue
        required = isinstance(spec, dict) or spec.required
        if required:
            place = f"section '{prefix[:-1]}'" if prefix else "the chip block"
            raise AxcError(f"{path}:{section.line}: {place} lacks '{key}'")


# -- the chip --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    """One chip in one npu_mode: public facts plus the named assumptions of its chip file.

    Rates are per execution unit unless the name says otherwise; `cores` is the number of
    NPU cores (pulsar2 "groups") the selected `npu_mode` uses.
    """

    name: str
    aliases: tuple[str, ...]
    description: str
    path: str
    npu_mode: str
    npu_modes: tuple[tuple[str, int], ...]
    default_npu_mode: str
    cores: int
    conv_per_core: int
    teng_per_core: int
    sdma_per_core: int
    int8_tops: float
    int4_tops: float
    ddr_bus_bits: int
    ddr_mt_per_s: int
    # -- assumptions (see the chip file for what each is and how it was calibrated)
    clock_mhz: float
    ocm_bytes: int
    group_launch_us: float
    dma_efficiency: float
    ddr_latency_ns: float
    ddr_burst_bytes: int
    dma_overhead_cycles: int
    ocm_copy_bytes_per_cycle: float
    conv_overhead_cycles: int
    conv_m_granule_rows: int
    matmul_act_rate: tuple[tuple[str, float], ...]
    matmul_weight_rate: tuple[tuple[str, float], ...]
    teng_overhead_cycles: int
    teng_elements_per_cycle: float
    teng_cost_factors: tuple[tuple[str, float], ...]
    assumptions: tuple[str, ...] = field(default=(), compare=False)
    """Names of the attributes that came from the file's `assumptions` block."""

    # -- derived quantities

    @property
    def max_cores(self) -> int:
        """Cores of the whole chip (the largest npu_mode): the TOPS figures are for these."""
        return max(n for _, n in self.npu_modes)

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def ddr_peak_gbps(self) -> float:
        """Peak DDR bandwidth in GB/s (1e9 bytes/s): bus bytes x transfers per second."""
        return self.ddr_bus_bits / 8 * self.ddr_mt_per_s * 1e6 / 1e9

    @property
    def ddr_gbps(self) -> float:
        """DDR bandwidth the SDMA units achieve together: peak x dma_efficiency."""
        return self.ddr_peak_gbps * self.dma_efficiency

    @property
    def ddr_bytes_per_cycle(self) -> float:
        """Achievable DDR bytes per NPU cycle, shared by all DMAs in flight."""
        return self.ddr_gbps * 1e9 / self.clock_hz

    @property
    def ddr_latency_cycles(self) -> int:
        return round(self.ddr_latency_ns * self.clock_mhz / 1000)

    @property
    def group_launch_cycles(self) -> int:
        return round(self.group_launch_us * self.clock_mhz)

    @property
    def int8_macs_per_cycle(self) -> float:
        """INT8 x INT8 MACs per cycle of one CONV EU (1 MAC = 2 ops; TOPS are chip-wide)."""
        return self.int8_tops * 1e12 / 2 / self.clock_hz / (self.max_cores * self.conv_per_core)

    def eu_count(self, kind: str) -> int:
        """Units of `kind` in each core."""
        return {"conv": self.conv_per_core, "teng": self.teng_per_core,
                "sdma": self.sdma_per_core}[kind]

    def eus(self) -> list[tuple[str, int, int]]:
        """Every (kind, core, unit) of the selected npu_mode, cores first."""
        return [(kind, core, unit) for core in range(self.cores) for kind in EU_KINDS
                for unit in range(self.eu_count(kind))]

    def matmul_macs_per_cycle(self, act_dtype: str, weight_dtype: str) -> float:
        """MACs per cycle of one CONV EU for these dtypes: INT8 peak x act and weight rates."""
        act, weight = dict(self.matmul_act_rate), dict(self.matmul_weight_rate)
        if act_dtype not in act or weight_dtype not in weight:
            raise AxcError(f"chip {self.name} has no matmul rate for {act_dtype} activations "
                           f"x {weight_dtype} weights")
        return self.int8_macs_per_cycle * act[act_dtype] * weight[weight_dtype]

    def teng_cost_factor(self, kind: str) -> float:
        """Relative TENG cost per element of an op kind (eltwise kind or op name)."""
        factors = dict(self.teng_cost_factors)
        return factors.get(kind, factors["default"])

    def cycles_to_ms(self, cycles: float) -> float:
        return cycles / self.clock_hz * 1e3

    def with_npu_mode(self, npu_mode: str | None) -> Chip:
        """This chip in another npu_mode (None: the file's default)."""
        mode = npu_mode or self.default_npu_mode
        modes = dict(self.npu_modes)
        key = next((m for m in modes if m.lower() == mode.lower()), None)
        if key is None:
            raise AxcError(f"chip {self.name} has no npu_mode '{mode}'; it has "
                           f"{', '.join(f'{m} ({n} cores)' for m, n in self.npu_modes)}")
        return replace(self, npu_mode=key, cores=modes[key])

    def program_limits(self) -> dict[str, int | str]:
        """The chip facts an `axnpu.program` carries (all but ddr_bytes)."""
        return {"chip": self.name, "ocm_bytes": self.ocm_bytes, "cores": self.cores,
                "conv_per_core": self.conv_per_core, "teng_per_core": self.teng_per_core,
                "sdma_per_core": self.sdma_per_core}

    def summary(self) -> str:
        return (f"{self.name} {self.npu_mode}: {self.cores} cores x ({self.conv_per_core} CONV "
                f"+ {self.teng_per_core} TENG + {self.sdma_per_core} SDMA) @ "
                f"{self.clock_mhz:g} MHz, {self.int8_tops:g} INT8 TOPS, DDR "
                f"{self.ddr_peak_gbps:.1f} GB/s peak ({self.ddr_gbps:.1f} achievable), "
                f"OCM {self.ocm_bytes // 1024} KiB/core")


def _build(path: str, name: str, top: _Section) -> Chip:
    values: dict[str, Any] = {}
    assumed: list[str] = []
    _walk(path, top, SCHEMA, "", values, assumed, False)
    modes = values.pop("npu_modes")
    default = values["default_npu_mode"]
    if default not in dict(modes):
        line = top.entries["default_npu_mode"].line
        raise AxcError(f"{path}:{line}: default_npu_mode '{default}' is not one of the "
                       f"npu_modes ({', '.join(m for m, _ in modes)})")
    for mode, cores in modes:
        if not float(cores).is_integer():
            line = top.entries["npu_modes"].line
            raise AxcError(f"{path}:{line}: npu_modes.{mode} must be a whole number of cores")
    modes = tuple((m, int(n)) for m, n in modes)
    values.setdefault("aliases", ())
    values.setdefault("description", "")
    return Chip(name=name, path=path, npu_mode=default, npu_modes=modes,
                cores=dict(modes)[default], assumptions=tuple(assumed), **values)


@cache
def _load_file(path: str, mtime_ns: int) -> Chip:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise AxcError(f"cannot read chip file {path}: {err.strerror}") from None
    name, top = parse_chip_text(text, path)
    return _build(path, name, top)


def load_chip_file(path: str | os.PathLike[str], npu_mode: str | None = None) -> Chip:
    """Load one chip file (any path), in `npu_mode` (None: the file's default)."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise AxcError(f"no chip file at {path}")
    return _load_file(str(resolved), resolved.stat().st_mtime_ns).with_npu_mode(npu_mode)


def _packaged() -> dict[str, Chip]:
    """Every packaged chip by its name."""
    chips = (load_chip_file(p) for p in sorted(CHIPS_DIR.glob("*.chip")))
    return {chip.name: chip for chip in chips}


def list_chips() -> list[str]:
    """Names of the packaged chips (their aliases are accepted by `load_chip` too)."""
    return sorted(_packaged())


def known_chip_names() -> Mapping[str, tuple[str, ...]]:
    """Packaged chip name -> its aliases."""
    return {name: chip.aliases for name, chip in sorted(_packaged().items())}


def load_chip(name_or_path: str | os.PathLike[str], npu_mode: str | None = None) -> Chip:
    """A chip by name or alias (case-insensitive; `AX630C` is `AX620E`) or by file path.

    `npu_mode` selects how many cores a model uses (e.g. NPU1/NPU2/NPU3 on AX650); None takes
    the chip file's `default_npu_mode`.
    """
    text = os.fspath(name_or_path)
    if text.endswith(".chip") or os.sep in text or Path(text).is_file():
        return load_chip_file(text, npu_mode)
    chips = _packaged()
    wanted = text.lower()
    for chip in chips.values():
        if wanted == chip.name.lower() or wanted in (a.lower() for a in chip.aliases):
            return chip.with_npu_mode(npu_mode)
    known = "; ".join(
        f"{c.name} (also {', '.join(c.aliases)})" if c.aliases else c.name
        for c in chips.values()
    )
    raise AxcError(f"unknown chip '{text}'; known chips: {known}; or pass the path of a "
                   ".chip file (format: docs/chip-model.md)")
