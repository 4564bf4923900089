"""The axh dialect: hardware-independent tensor ops on static shapes.

axh is what the frontend produces from a Hugging Face model and what the axh passes
(canonicalization, fusion, quantization) rewrite before `convert-axh-to-axnpu`. A reference
interpreter and the lowering implement the ops from the docstrings below, so each one says its
semantics precisely.

Conventions shared by all ops:
- every value is a ranked tensor with a static shape; activations are f32, bf16 or f16,
  indices i32, i64 or ui32, masks and predicates i1;
- weights never enter the IR as data: `axh.weight` names a tensor of the weight store;
- broadcasting is numpy's: shapes are aligned at the right and a dimension of 1 stretches;
- axes in the IR are non-negative (verifiers reject negative ones); the Python builders accept
  negative axes, as PyTorch does, and normalise them;
- float attributes are f32, integer attributes i64;
- every op is `Pure`, so unused ops are dead code that `canonicalize` removes.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, cast

from xdsl.dialects.builtin import (
    I64,
    BFloat16Type,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    i1,
    i32,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, Dialect, Operation, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import (
    AnyAttr,
    AttrConstraint,
    AttrSizedOperandSegments,
    EqAttrConstraint,
    IRDLOperation,
    ParamAttrConstraint,
    ParsePropInAttrDict,
    VarConstraint,
    VerificationContext,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.pattern_rewriter import RewritePattern
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

# ---------------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------------

#: The largest `axh.constant`; anything bigger belongs in the weight store.
MAX_CONSTANT_ELEMENTS = 1024

ui32 = IntegerType(32, Signedness.UNSIGNED)


@dataclass(frozen=True)
class StaticTensorConstraint(AttrConstraint[TensorType[Attribute]]):
    """A ranked tensor type with a static shape whose element type satisfies `element`."""

    element: AttrConstraint
    element_text: str
    """How error messages name the allowed element types."""

    def verify(self, attr: Attribute, constraint_context: VerificationContext) -> None:
        if not isinstance(attr, TensorType) or any(d < 0 for d in attr.get_shape()):
            raise VerifyException(
                f"expected a static-shape tensor of {self.element_text}, got {attr}"
            )
        if not self.element.verifies(attr.element_type):
            raise VerifyException(f"expected a tensor of {self.element_text}, got {attr}")

    def get_bases(self) -> set[type[Attribute]]:
        return {TensorType}

    def mapping_type_vars(self, type_var_mapping: object) -> StaticTensorConstraint:
        return self


_FLOAT = base(Float32Type) | base(BFloat16Type) | base(Float16Type)

FloatTensor = StaticTensorConstraint(_FLOAT, "f32, bf16 or f16")
IndexTensor = StaticTensorConstraint(
    EqAttrConstraint(i32) | EqAttrConstraint(i64) | EqAttrConstraint(ui32), "i32, i64 or ui32"
)
BoolTensor = StaticTensorConstraint(EqAttrConstraint(i1), "i1")
I32Tensor = StaticTensorConstraint(EqAttrConstraint(i32), "i32")
AnyTensor = StaticTensorConstraint(_FLOAT | base(IntegerType), "f32, bf16, f16 or integers")
"""Any tensor axh knows: float activations, integer indices and i1 masks."""

# ---------------------------------------------------------------------------------------------
# Enum attributes (printed as bare keywords by the op formats)
# ---------------------------------------------------------------------------------------------


class UnaryKind(StrEnum):
    NEG = "neg"
    EXP = "exp"
    LOG = "log"
    SQRT = "sqrt"
    RSQRT = "rsqrt"
    RECIPROCAL = "reciprocal"
    TANH = "tanh"
    SIGMOID = "sigmoid"
    COS = "cos"
    SIN = "sin"
    ABS = "abs"
    RELU = "relu"
    ERF = "erf"
    SQUARE = "square"


class BinaryKind(StrEnum):
    POW = "pow"
    MAXIMUM = "maximum"
    MINIMUM = "minimum"


class ComparePredicate(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"


class ReduceKind(StrEnum):
    SUM = "sum"
    MEAN = "mean"
    MAX = "max"
    MIN = "min"


class GeluApproximation(StrEnum):
    NONE = "none"
    TANH = "tanh"


@irdl_attr_definition
class UnaryKindAttr(EnumAttribute[UnaryKind], SpacedOpaqueSyntaxAttribute):
    """The function `axh.unary` applies."""

    name = "axh.unary_kind"


@irdl_attr_definition
class BinaryKindAttr(EnumAttribute[BinaryKind], SpacedOpaqueSyntaxAttribute):
    """The function `axh.binary` applies."""

    name = "axh.binary_kind"


@irdl_attr_definition
class ComparePredicateAttr(EnumAttribute[ComparePredicate], SpacedOpaqueSyntaxAttribute):
    """The comparison `axh.compare` makes."""

    name = "axh.compare_predicate"


@irdl_attr_definition
class ReduceKindAttr(EnumAttribute[ReduceKind], SpacedOpaqueSyntaxAttribute):
    """The reduction `axh.reduce` computes."""

    name = "axh.reduce_kind"


@irdl_attr_definition
class GeluApproximationAttr(EnumAttribute[GeluApproximation], SpacedOpaqueSyntaxAttribute):
    """GELU's formula: exact (`none`, with erf) or the tanh approximation."""

    name = "axh.gelu_approximation"


# ---------------------------------------------------------------------------------------------
# Shape helpers (also used by the builders, the importer and the passes)
# ---------------------------------------------------------------------------------------------


def shape_text(shape: Sequence[int]) -> str:
    """`[1, 5, 64]`: how error messages print a shape."""
    return "[" + ", ".join(str(d) for d in shape) + "]"


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The numpy broadcast of `shapes`; raises VerifyException naming the clash."""
    rank = max((len(s) for s in shapes), default=0)
    result: list[int] = []
    for i in range(-rank, 0):
        dims = {s[i] for s in shapes if len(s) >= -i} - {1}
        if len(dims) > 1:
            raise VerifyException(
                f"shapes {', '.join(shape_text(s) for s in shapes)} do not broadcast: "
                f"dimension {i} has sizes {', '.join(str(d) for d in sorted(dims))}"
            )
        result.append(dims.pop() if dims else 1)
    return tuple(result)


def normalize_axis(axis: int, rank: int) -> int:
    """A PyTorch axis (negative counts from the end) as the non-negative axis axh stores.

    An axis outside [-rank, rank) is returned unchanged so that the verifier reports it.
    """
    return axis + rank if -rank <= axis < 0 else axis


def _type(value: SSAValue) -> TensorType[Attribute]:
    return cast(TensorType[Attribute], value.type)


def _shape(value: SSAValue) -> tuple[int, ...]:
    return _type(value).get_shape()


def _element(value: SSAValue) -> Attribute:
    return _type(value).element_type


def _int(attr: IntegerAttr) -> int:
    return attr.value.data


def _float(attr: FloatAttr) -> float:
    return attr.value.data


def _i64(value: int | IntegerAttr) -> IntegerAttr:
    return value if isinstance(value, IntegerAttr) else IntegerAttr(value, i64)


def _f32(value: float | FloatAttr) -> FloatAttr:
    return value if isinstance(value, FloatAttr) else FloatAttr(value, f32)


def _i64_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def _check_same_elements(**values: SSAValue) -> None:
    """All `values` have the same element type (named in the error by keyword)."""
    (first_name, first), *rest = values.items()
    for name, value in rest:
        if _element(value) != _element(first):
            raise VerifyException(
                f"{name} element type {_element(value)} differs from {first_name} element "
                f"type {_element(first)}"
            )


def _check_shape(what: str, actual: Sequence[int], expected: Sequence[int], why: str) -> None:
    if tuple(actual) != tuple(expected):
        raise VerifyException(
            f"{what} shape {shape_text(actual)} should be {shape_text(expected)} ({why})"
        )


def _check_rank(what: str, value: SSAValue, rank: int) -> None:
    if len(_shape(value)) != rank:
        raise VerifyException(
            f"{what} must have rank {rank}, got rank {len(_shape(value))} "
            f"({shape_text(_shape(value))})"
        )


def _check_axis(what: str, axis: int, rank: int) -> None:
    if not 0 <= axis < rank:
        raise VerifyException(f"{what} {axis} is out of range [0, {rank}) for rank {rank}")


def _check_positive(what: str, value: float) -> None:
    if not value > 0:  # also rejects NaN
        raise VerifyException(f"{what} must be > 0, got {value}")


# ---------------------------------------------------------------------------------------------
# Canonicalization patterns (implemented in axc.passes.canonicalize_axh, imported lazily so
# that the passes may import this module)
# ---------------------------------------------------------------------------------------------


def _canonicalized_by(*pattern_names: str) -> HasCanonicalizationPatternsTrait:
    """The canonicalization trait of an op: the named patterns of
    `axc.passes.canonicalize_axh`, imported on first use (that module imports this one)."""

    class Patterns(HasCanonicalizationPatternsTrait):
        @classmethod
        def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
            module = importlib.import_module("axc.passes.canonicalize_axh")
            return tuple(getattr(module, name)() for name in pattern_names)

    return Patterns()


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class WeightOp(IRDLOperation):
    """`result` is the tensor named `weight_name` in the weight store, with its shape and
    element type. The data never enters the IR; two weight ops with one name are one value."""

    name = "axh.weight"

    weight_name = prop_def(StringAttr)
    result = result_def(AnyTensor)

    traits = traits_def(Pure())

    assembly_format = "$weight_name attr-dict `:` type($result)"

    def __init__(self, weight_name: str | StringAttr, result_type: TensorType[Attribute]):
        if isinstance(weight_name, str):
            weight_name = StringAttr(weight_name)
        super().__init__(properties={"weight_name": weight_name}, result_types=[result_type])

    def verify_(self) -> None:
        if not self.weight_name.data:
            raise VerifyException("weight name is empty")


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """`result` is `value`, a dense attribute of the result type. For scalars and short
    vectors only (at most 1024 elements, counted by shape even when splat); larger tensors are
    weights."""

    name = "axh.constant"

    _T: ClassVar = VarConstraint("T", AnyTensor)
    value = prop_def(ParamAttrConstraint(DenseIntOrFPElementsAttr, (_T, AnyAttr())))
    result = result_def(_T)

    traits = traits_def(Pure(), ConstantLike())

    assembly_format = "$value attr-dict"

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super().__init__(properties={"value": value}, result_types=[value.type])

    def verify_(self) -> None:
        count = math.prod(_shape(self.result))
        if count > MAX_CONSTANT_ELEMENTS:
            raise VerifyException(
                f"constant has {count} elements, more than {MAX_CONSTANT_ELEMENTS}: "
                "use axh.weight for tensors"
            )


@irdl_op_definition
class IotaOp(IRDLOperation):
    """`result[i] = start + i * step`: a rank-1 sequence (ATen's `arange`), generated rather
    than stored so position ranges of any length stay out of constants and weights."""

    name = "axh.iota"

    start = prop_def(IntegerAttr[I64])
    step = prop_def(IntegerAttr[I64])
    result = result_def(AnyTensor)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, result_type: TensorType[Attribute], start: int = 0, step: int = 1):
        super().__init__(
            result_types=[result_type], properties={"start": _i64(start), "step": _i64(step)}
        )

    def verify_(self) -> None:
        _check_rank("result", self.result, 1)
        if _int(self.step) == 0:
            raise VerifyException("step must not be 0")


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class EmbeddingOp(IRDLOperation):
    """Gather rows: `result[i...] = table[ids[i...], :]`. ids has any shape [...], table is
    [vocab, hidden], result is [..., hidden] with the table's element type. An id outside
    [0, vocab) is undefined behaviour."""

    name = "axh.embedding"

    ids = operand_def(IndexTensor)
    table = operand_def(FloatTensor)
    result = result_def(FloatTensor)

    traits = traits_def(Pure())

    assembly_format = "$ids `,` $table attr-dict `:` functional-type(operands, results)"

    def __init__(self, ids: SSAValue | Operation, table: SSAValue | Operation):
        ids, table = SSAValue.get(ids), SSAValue.get(table)
        shape = (*_shape(ids), _shape(table)[-1])
        super().__init__(operands=[ids, table], result_types=[TensorType(_element(table), shape)])

    def verify_(self) -> None:
        _check_rank("table", self.table, 2)
        _check_same_elements(table=self.table, result=self.result)
        hidden = _shape(self.table)[1]
        _check_shape(
            "result",
            _shape(self.result),
            (*_shape(self.ids), hidden),
            f"ids shape + hidden size {hidden}",
        )


@irdl_op_definition
class LinearOp(IRDLOperation):
    """`result = input @ dequant(weight)^T + bias`, PyTorch's `nn.Linear`: input [..., K],
    weight [N, K], optional bias [N], result [..., N] of the input's element type; accumulates
    in f32.

    A float weight is used as it is (it may be stored in another float type than the
    activations, e.g. bf16 weights under an f32 reference). An integer weight (i8: s8, i4: s4,
    signed) is quantized and needs `scale` [N, G] (float, G groups along K, each K / G wide;
    G = 1 is per-output-channel) and may have `zero` [N, G] (asymmetric AWQ/GPTQ checkpoints):
    `dequant(w)[n, k] = (w[n, k] - zero[n, k // (K / G)]) * scale[n, k // (K / G)]`, in f32."""

    name = "axh.linear"

    input = operand_def(FloatTensor)
    weight = operand_def(AnyTensor)
    bias = opt_operand_def(FloatTensor)
    scale = opt_operand_def(FloatTensor)
    zero = opt_operand_def(AnyTensor)
    result = result_def(FloatTensor)

    traits = traits_def(Pure())
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    # `%y = axh.linear %x, %w(, %b)? (scale %s)? (zero %z)? attr-dict : (types) -> type`.
    # Written by hand: a declarative format cannot say functional-type(operands, results)
    # when several optional operands exist.
    @classmethod
    def parse(cls, parser: Parser) -> LinearOp:
        pos = parser.pos
        names = {"input": parser.parse_unresolved_operand()}
        parser.parse_punctuation(",")
        names["weight"] = parser.parse_unresolved_operand()
        if parser.parse_optional_punctuation(","):
            names["bias"] = parser.parse_unresolved_operand()
        for keyword in ("scale", "zero"):
            if parser.parse_optional_keyword(keyword):
                names[keyword] = parser.parse_unresolved_operand()
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        func_type = parser.parse_function_type()
        if len(func_type.inputs) != len(names) or len(func_type.outputs) != 1:
            parser.raise_error(
                f"expected {len(names)} operand types and one result type", pos, parser.pos
            )
        values = {
            name: parser.resolve_operand(operand, ty)
            for (name, operand), ty in zip(names.items(), func_type.inputs.data, strict=True)
        }
        op = cls.__new__(cls)
        IRDLOperation.__init__(
            op,
            operands=[values.get(n) for n in ("input", "weight", "bias", "scale", "zero")],
            result_types=[func_type.outputs.data[0]],
            attributes=attributes,
        )
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_string(", ")
        printer.print_operand(self.weight)
        if self.bias is not None:
            printer.print_string(", ")
            printer.print_operand(self.bias)
        for keyword, value in (("scale", self.scale), ("zero", self.zero)):
            if value is not None:
                printer.print_string(f" {keyword} ")
                printer.print_operand(value)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_function_type(self.operand_types, self.result_types)

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation | None = None,
        scale: SSAValue | Operation | None = None,
        zero: SSAValue | Operation | None = None,
    ):
        input, weight = SSAValue.get(input), SSAValue.get(weight)
        shape = (*_shape(input)[:-1], _shape(weight)[0])
        super().__init__(
            operands=[input, weight, bias, scale, zero],
            result_types=[TensorType(_element(input), shape)],
        )

    @property
    def weight_is_quantized(self) -> bool:
        return isinstance(_element(self.weight), IntegerType)

    @property
    def group_size(self) -> int:
        """Input features per scale group (K for per-channel and for float weights)."""
        k = _shape(self.weight)[1]
        return k if self.scale is None else k // _shape(self.scale)[1]

    def verify_(self) -> None:
        _check_rank("weight", self.weight, 2)
        x, (n, k) = _shape(self.input), _shape(self.weight)
        if not x:
            raise VerifyException("input must have rank >= 1, got rank 0")
        if x[-1] != k:
            raise VerifyException(f"weight has {k} input features but the input has {x[-1]}")
        values = {"input": self.input, "result": self.result}
        if self.bias is not None:
            _check_rank("bias", self.bias, 1)
            if _shape(self.bias)[0] != n:
                raise VerifyException(
                    f"bias has {_shape(self.bias)[0]} elements but the weight has {n} "
                    "output features"
                )
        _check_same_elements(**values)
        w_elem = _element(self.weight)
        if isinstance(w_elem, IntegerType):
            if w_elem.width.data not in (4, 8):
                raise VerifyException(f"integer weights must be i8 or i4, got {w_elem}")
            if self.scale is None:
                raise VerifyException(f"a {w_elem} weight needs a scale operand")
            _check_rank("scale", self.scale, 2)
            sn, groups = _shape(self.scale)
            if sn != n or groups == 0 or k % groups:
                raise VerifyException(
                    f"scale shape {shape_text(_shape(self.scale))} should be [{n}, G] with G "
                    f"dividing the {k} input features"
                )
            if self.zero is not None and _shape(self.zero) != _shape(self.scale):
                raise VerifyException(
                    f"zero shape {shape_text(_shape(self.zero))} differs from scale shape "
                    f"{shape_text(_shape(self.scale))}"
                )
        else:
            if not _FLOAT.verifies(w_elem):
                raise VerifyException(f"weight must be float or i8/i4, got {w_elem}")
            if self.scale is not None or self.zero is not None:
                raise VerifyException("a float weight takes no scale or zero operand")
        _check_shape("result", _shape(self.result), (*x[:-1], n), "input [..., K] -> [..., N]")


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """Batched matrix product, `torch.matmul` for rank >= 2: lhs [..., M, K] times rhs
    [..., K, N] (rhs [..., N, K] when `transpose_b`), result [broadcast(...), M, N]; the batch
    dimensions broadcast numpy-style. All of one element type; accumulates in f32."""

    name = "axh.matmul"

    lhs = operand_def(FloatTensor)
    rhs = operand_def(FloatTensor)
    result = result_def(FloatTensor)
    transpose_b = opt_prop_def(UnitAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, lhs: SSAValue | Operation, rhs: SSAValue | Operation, transpose_b: bool = False
    ):
        lhs, rhs = SSAValue.get(lhs), SSAValue.get(rhs)
        a, b = _shape(lhs), _shape(rhs)
        n = b[-2] if transpose_b else b[-1]
        shape = (*broadcast_shapes(a[:-2], b[:-2]), a[-2], n)
        super().__init__(
            operands=[lhs, rhs],
            result_types=[TensorType(_element(lhs), shape)],
            properties={"transpose_b": UnitAttr() if transpose_b else None},
        )

    def verify_(self) -> None:
        a, b = _shape(self.lhs), _shape(self.rhs)
        for what, shape in (("lhs", a), ("rhs", b)):
            if len(shape) < 2:
                raise VerifyException(
                    f"{what} must have rank >= 2, got rank {len(shape)} ({shape_text(shape)})"
                )
        if self.transpose_b is not None:
            n, k, where = b[-2], b[-1], "columns (transpose_b)"
        else:
            k, n, where = b[-2], b[-1], "rows"
        if a[-1] != k:
            raise VerifyException(f"lhs has {a[-1]} columns but rhs has {k} {where}")
        _check_same_elements(lhs=self.lhs, rhs=self.rhs, result=self.result)
        expected = (*broadcast_shapes(a[:-2], b[:-2]), a[-2], n)
        _check_shape("result", _shape(self.result), expected, "[batch..., M, N]")


@irdl_op_definition
class RMSNormOp(IRDLOperation):
    """RMSNorm over the last dimension, computed in f32:
    `result = input / sqrt(mean(input^2, -1) + epsilon) * (weight + weight_offset)`.
    weight is [D] where D is the input's last dimension; weight_offset is 0.0 for llama and
    qwen, 1.0 for gemma (whose checkpoints store weight - 1)."""

    name = "axh.rms_norm"

    _T: ClassVar = VarConstraint("T", FloatTensor)
    input = operand_def(_T)
    weight = operand_def(FloatTensor)
    result = result_def(_T)
    epsilon = prop_def(FloatAttr[Float32Type])
    weight_offset = prop_def(FloatAttr[Float32Type], default_value=FloatAttr(0.0, f32))

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$input `,` $weight attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        epsilon: float | FloatAttr,
        weight_offset: float | FloatAttr = 0.0,
    ):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input, weight],
            result_types=[input.type],
            properties={"epsilon": _f32(epsilon), "weight_offset": _f32(weight_offset)},
        )

    def verify_(self) -> None:
        _check_positive("epsilon", _float(self.epsilon))
        _check_norm_params(self.input, weight=self.weight)


def _check_norm_params(input: SSAValue, **params: SSAValue) -> None:
    """Norm weights/biases are [D], D the input's last dimension, of the input's type."""
    shape = _shape(input)
    if not shape:
        raise VerifyException("input must have rank >= 1, got rank 0")
    for name, param in params.items():
        _check_rank(name, param, 1)
        if _shape(param)[0] != shape[-1]:
            raise VerifyException(
                f"{name} has {_shape(param)[0]} elements but the input's last dimension is "
                f"{shape[-1]}"
            )
    _check_same_elements(input=input, **params)


@irdl_op_definition
class LayerNormOp(IRDLOperation):
    """LayerNorm over the last dimension, computed in f32:
    `result = (input - mean) / sqrt(var + epsilon) * weight + bias` with mean and the biased
    variance (mean of squared deviations) over the last dimension D; weight and bias are [D]."""

    name = "axh.layer_norm"

    _T: ClassVar = VarConstraint("T", FloatTensor)
    input = operand_def(_T)
    weight = operand_def(FloatTensor)
    bias = operand_def(FloatTensor)
    result = result_def(_T)
    epsilon = prop_def(FloatAttr[Float32Type])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = (
        "$input `,` $weight `,` $bias attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation,
        epsilon: float | FloatAttr,
    ):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input, weight, bias],
            result_types=[input.type],
            properties={"epsilon": _f32(epsilon)},
        )

    def verify_(self) -> None:
        _check_positive("epsilon", _float(self.epsilon))
        _check_norm_params(self.input, weight=self.weight, bias=self.bias)


@irdl_op_definition
class RopeOp(IRDLOperation):
    """Rotary position embedding. input is [B, H, T, D]; cos and sin are [B, T, R] with
    R = rotary_dim (even, <= D), broadcast over the heads. With x = input[..., :R]:
    `result[..., :R] = x * cos + rotate(x) * sin` and `result[..., R:] = input[..., R:]`
    (phi's partial rotary). rotate is rotate_half, `cat(-x[..., R/2:], x[..., :R/2])`, or with
    `interleaved` (GPT-J) rotate_every_two: `rotate(x)[2i] = -x[2i+1]`,
    `rotate(x)[2i+1] = x[2i]`. cos/sin may stay f32 under a 16-bit input: the tables are
    computed from positions, in f32 as Hugging Face does (bf16 angles are off by radians at
    position 1000)."""

    name = "axh.rope"

    _T: ClassVar = VarConstraint("T", FloatTensor)
    input = operand_def(_T)
    cos = operand_def(FloatTensor)
    sin = operand_def(FloatTensor)
    result = result_def(_T)
    rotary_dim = prop_def(IntegerAttr[I64])
    interleaved = opt_prop_def(UnitAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$input `,` $cos `,` $sin attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        cos: SSAValue | Operation,
        sin: SSAValue | Operation,
        interleaved: bool = False,
    ):
        input, cos = SSAValue.get(input), SSAValue.get(cos)
        super().__init__(
            operands=[input, cos, sin],
            result_types=[input.type],
            properties={
                "rotary_dim": _i64(_shape(cos)[-1]),
                "interleaved": UnitAttr() if interleaved else None,
            },
        )

    def verify_(self) -> None:
        _check_rank("input", self.input, 4)
        _check_rank("cos", self.cos, 3)
        b, _, t, d = _shape(self.input)
        cos, sin, r = _shape(self.cos), _shape(self.sin), _int(self.rotary_dim)
        if sin != cos:
            raise VerifyException(
                f"sin shape {shape_text(sin)} differs from cos shape {shape_text(cos)}"
            )
        if r <= 0 or r % 2:
            raise VerifyException(f"rotary_dim must be even and > 0, got {r}")
        if r > d:
            raise VerifyException(f"rotary_dim {r} exceeds the head dimension {d}")
        _check_shape("cos/sin", cos, (b, t, r), "[batch, tokens, rotary_dim] of the input")
        _check_same_elements(cos=self.cos, sin=self.sin)
        if _element(self.cos) not in (_element(self.input), f32):
            raise VerifyException(
                f"cos/sin element type {_element(self.cos)} must be the input's "
                f"({_element(self.input)}) or f32"
            )


@irdl_op_definition
class AttentionOp(IRDLOperation):
    """Scaled dot-product attention with grouped KV heads:
    `result = softmax(s + mask, -1) @ v` with `s = q @ k^T * scale`, then
    `s = softcap * tanh(s / softcap)` if softcap is set. q is [B, Hq, T, D], k [B, Hkv, S, D],
    v [B, Hkv, S, Dv]; query head h reads KV head `h // (Hq / Hkv)`. mask is additive, of any
    float type, [B, 1 or Hq, T, S] or [B, T, S] (broadcast over the heads); the KV cache, if
    any, is part of k and v. The result is [B, Hq, T, Dv]. sliding_window (>= 1) states that
    the mask already hides keys outside the window; it never changes the result, it lets
    lowerings read only the last sliding_window keys. Softmax is computed in f32."""

    name = "axh.attention"

    query = operand_def(FloatTensor)
    key = operand_def(FloatTensor)
    value = operand_def(FloatTensor)
    mask = operand_def(FloatTensor)
    result = result_def(FloatTensor)
    scale = prop_def(FloatAttr[Float32Type])
    softcap = opt_prop_def(FloatAttr[Float32Type])
    sliding_window = opt_prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = (
        "$query `,` $key `,` $value `,` $mask attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        query: SSAValue | Operation,
        key: SSAValue | Operation,
        value: SSAValue | Operation,
        mask: SSAValue | Operation,
        scale: float | None = None,
        softcap: float | None = None,
        sliding_window: int | None = None,
    ):
        """scale defaults to 1/sqrt(D), PyTorch's default."""
        query, value = SSAValue.get(query), SSAValue.get(value)
        b, hq, t, d = _shape(query)
        shape = (b, hq, t, _shape(value)[-1])
        super().__init__(
            operands=[query, key, value, mask],
            result_types=[TensorType(_element(query), shape)],
            properties={
                "scale": _f32(1 / math.sqrt(d) if scale is None else scale),
                "softcap": None if softcap is None else _f32(softcap),
                "sliding_window": None if sliding_window is None else _i64(sliding_window),
            },
        )

    def verify_(self) -> None:
        for what, value in (("query", self.query), ("key", self.key), ("value", self.value)):
            _check_rank(what, value, 4)
        b, hq, t, d = _shape(self.query)
        kb, hkv, s, kd = _shape(self.key)
        vshape = _shape(self.value)
        if kb != b:
            raise VerifyException(f"key batch {kb} differs from query batch {b}")
        if kd != d:
            raise VerifyException(f"key head dim {kd} differs from query head dim {d}")
        _check_shape("value", vshape[:3], (b, hkv, s), "key's [B, Hkv, S]")
        if hkv == 0 or hq % hkv:
            raise VerifyException(f"{hq} query heads are not a multiple of {hkv} key/value heads")
        mask = _shape(self.mask)
        per_head = len(mask) == 4 and mask[1] in (1, hq) and (mask[0], *mask[2:]) == (b, t, s)
        if mask != (b, t, s) and not per_head:
            raise VerifyException(
                f"mask shape {shape_text(mask)} should be [B, 1 or Hq, T, S] = "
                f"[{b}, 1 or {hq}, {t}, {s}] or [B, T, S] = [{b}, {t}, {s}]"
            )
        _check_same_elements(query=self.query, key=self.key, value=self.value, result=self.result)
        _check_shape("result", _shape(self.result), (b, hq, t, vshape[3]), "[B, Hq, T, Dv]")
        _check_positive("scale", _float(self.scale))
        if self.softcap is not None:
            _check_positive("softcap", _float(self.softcap))
        if self.sliding_window is not None and _int(self.sliding_window) < 1:
            raise VerifyException(f"sliding_window must be >= 1, got {_int(self.sliding_window)}")


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


class _UnaryFloatOp(IRDLOperation):
    """A float element-wise op whose result has the input's type."""

    _T: ClassVar = VarConstraint("T", FloatTensor)
    input = operand_def(_T)
    result = result_def(_T)

    traits = traits_def(Pure())


@irdl_op_definition
class SiluOp(_UnaryFloatOp):
    """`result = input * sigmoid(input)`, element-wise."""

    name = "axh.silu"

    assembly_format = "$input attr-dict `:` type($result)"

    def __init__(self, input: SSAValue | Operation):
        input = SSAValue.get(input)
        super().__init__(operands=[input], result_types=[input.type])


def _gelu_attr(approximate: str | GeluApproximationAttr) -> GeluApproximationAttr:
    if isinstance(approximate, GeluApproximationAttr):
        return approximate
    return GeluApproximationAttr(GeluApproximation(approximate))


_GELU_DEFAULT = GeluApproximationAttr(GeluApproximation.NONE)


@irdl_op_definition
class GeluOp(_UnaryFloatOp):
    """GELU, element-wise, as `torch.nn.functional.gelu(input, approximate=...)`:
    `none` is `x/2 * (1 + erf(x/sqrt(2)))`, `tanh` is
    `x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`."""

    name = "axh.gelu"

    approximate = prop_def(GeluApproximationAttr, default_value=_GELU_DEFAULT)

    assembly_format = "$input (`approximate` `=` $approximate^)? attr-dict `:` type($result)"

    def __init__(
        self, input: SSAValue | Operation, approximate: str | GeluApproximationAttr = "none"
    ):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={"approximate": _gelu_attr(approximate)},
        )


class _GatedOp(IRDLOperation):
    """`result = act(gate) * up`, element-wise; gate, up and result have one type."""

    _T: ClassVar = VarConstraint("T", FloatTensor)
    gate = operand_def(_T)
    up = operand_def(_T)
    result = result_def(_T)

    traits = traits_def(Pure())


@irdl_op_definition
class SwiGLUOp(_GatedOp):
    """`result = silu(gate) * up`, element-wise (the llama/qwen MLP)."""

    name = "axh.swiglu"

    assembly_format = "$gate `,` $up attr-dict `:` type($result)"

    def __init__(self, gate: SSAValue | Operation, up: SSAValue | Operation):
        gate = SSAValue.get(gate)
        super().__init__(operands=[gate, up], result_types=[gate.type])


@irdl_op_definition
class GeGLUOp(_GatedOp):
    """`result = gelu(gate, approximate) * up`, element-wise (the gemma MLP)."""

    name = "axh.geglu"

    approximate = prop_def(GeluApproximationAttr, default_value=_GELU_DEFAULT)

    assembly_format = "$gate `,` $up (`approximate` `=` $approximate^)? attr-dict `:` type($result)"

    def __init__(
        self,
        gate: SSAValue | Operation,
        up: SSAValue | Operation,
        approximate: str | GeluApproximationAttr = "none",
    ):
        gate = SSAValue.get(gate)
        super().__init__(
            operands=[gate, up],
            result_types=[gate.type],
            properties={"approximate": _gelu_attr(approximate)},
        )


# ---------------------------------------------------------------------------------------------
# Generic element-wise ops (what the ATen importer produces)
# ---------------------------------------------------------------------------------------------


class _BroadcastOp(IRDLOperation):
    """`result = f(lhs, rhs)` element-wise after numpy broadcasting; lhs and rhs have one
    element type, the result's shape is their broadcast shape."""

    lhs = operand_def(AnyTensor)
    rhs = operand_def(AnyTensor)
    result = result_def(AnyTensor)

    traits = traits_def(Pure())

    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        *,
        result_element: Attribute | None = None,
        properties: dict[str, Attribute] | None = None,
    ):
        lhs, rhs = SSAValue.get(lhs), SSAValue.get(rhs)
        shape = broadcast_shapes(_shape(lhs), _shape(rhs))
        super().__init__(
            operands=[lhs, rhs],
            result_types=[TensorType(result_element or _element(lhs), shape)],
            properties=properties,
        )

    def _verify_broadcast(self) -> None:
        _check_same_elements(lhs=self.lhs, rhs=self.rhs)
        expected = broadcast_shapes(_shape(self.lhs), _shape(self.rhs))
        _check_shape("result", _shape(self.result), expected, "the broadcast operand shape")

    def verify_(self) -> None:
        self._verify_broadcast()
        _check_same_elements(lhs=self.lhs, result=self.result)


@irdl_op_definition
class AddOp(_BroadcastOp):
    """`result = lhs + rhs`, broadcast."""

    name = "axh.add"

    traits = traits_def(Pure(), _canonicalized_by("FoldAddZero"))


@irdl_op_definition
class SubOp(_BroadcastOp):
    """`result = lhs - rhs`, broadcast."""

    name = "axh.sub"

    traits = traits_def(Pure(), _canonicalized_by("FoldSubZero"))


@irdl_op_definition
class MulOp(_BroadcastOp):
    """`result = lhs * rhs`, broadcast."""

    name = "axh.mul"

    traits = traits_def(Pure(), _canonicalized_by("FoldMulOne"))


@irdl_op_definition
class DivOp(_BroadcastOp):
    """`result = lhs / rhs`, broadcast. Integer division truncates toward zero (the importer
    casts to float first for PyTorch's true division)."""

    name = "axh.div"

    traits = traits_def(Pure(), _canonicalized_by("FoldDivOne"))


@irdl_op_definition
class UnaryOp(_UnaryFloatOp):
    """`result = kind(input)` element-wise on floats: neg -x, exp, log (natural), sqrt,
    rsqrt 1/sqrt(x), reciprocal 1/x, tanh, sigmoid 1/(1+exp(-x)), cos, sin, abs,
    relu max(x, 0), erf, square x*x."""

    name = "axh.unary"

    kind = prop_def(UnaryKindAttr)

    assembly_format = "$kind $input attr-dict `:` type($result)"

    def __init__(self, input: SSAValue | Operation, kind: str | UnaryKind):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={"kind": UnaryKindAttr(UnaryKind(kind))},
        )


@irdl_op_definition
class BinaryOp(_BroadcastOp):
    """`result = kind(lhs, rhs)` element-wise after broadcasting: pow lhs^rhs, maximum,
    minimum (NaN propagates, as in PyTorch)."""

    name = "axh.binary"

    kind = prop_def(BinaryKindAttr)

    assembly_format = "$kind $lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, lhs: SSAValue | Operation, rhs: SSAValue | Operation, kind: str | BinaryKind
    ):
        super().__init__(lhs, rhs, properties={"kind": BinaryKindAttr(BinaryKind(kind))})


@irdl_op_definition
class CompareOp(_BroadcastOp):
    """`result = lhs <predicate> rhs` element-wise after broadcasting, as i1 (an ordered
    comparison: any comparison with NaN is false except ne)."""

    name = "axh.compare"

    result = result_def(BoolTensor)
    predicate = prop_def(ComparePredicateAttr)

    assembly_format = "$predicate $lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        predicate: str | ComparePredicate,
    ):
        super().__init__(
            lhs,
            rhs,
            result_element=i1,
            properties={"predicate": ComparePredicateAttr(ComparePredicate(predicate))},
        )

    def verify_(self) -> None:
        self._verify_broadcast()


@irdl_op_definition
class SelectOp(IRDLOperation):
    """`result = condition ? true_value : false_value` element-wise (`torch.where`); the
    three operands broadcast together, the values have the result's element type."""

    name = "axh.select"

    condition = operand_def(BoolTensor)
    true_value = operand_def(AnyTensor)
    false_value = operand_def(AnyTensor)
    result = result_def(AnyTensor)

    traits = traits_def(Pure())

    assembly_format = (
        "$condition `,` $true_value `,` $false_value attr-dict `:` "
        "functional-type(operands, results)"
    )

    def __init__(
        self,
        condition: SSAValue | Operation,
        true_value: SSAValue | Operation,
        false_value: SSAValue | Operation,
    ):
        operands = [SSAValue.get(v) for v in (condition, true_value, false_value)]
        shape = broadcast_shapes(*(_shape(v) for v in operands))
        super().__init__(operands=operands, result_types=[TensorType(_element(operands[1]), shape)])

    def verify_(self) -> None:
        _check_same_elements(
            true_value=self.true_value, false_value=self.false_value, result=self.result
        )
        expected = broadcast_shapes(
            _shape(self.condition), _shape(self.true_value), _shape(self.false_value)
        )
        _check_shape("result", _shape(self.result), expected, "the broadcast operand shape")


@irdl_op_definition
class CastOp(IRDLOperation):
    """Element type conversion, same shape, with PyTorch's `.to(dtype)` rules: float to float
    rounds to nearest even, float to integer truncates toward zero, integer to float rounds to
    nearest, anything to i1 is `x != 0`, i1 to anything is 0 or 1."""

    name = "axh.cast"

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)

    traits = traits_def(Pure(), _canonicalized_by("FoldIdentityCast"))

    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, element_type: Attribute):
        input = SSAValue.get(input)
        super().__init__(operands=[input], result_types=[TensorType(element_type, _shape(input))])

    def verify_(self) -> None:
        _check_shape("result", _shape(self.result), _shape(self.input), "cast keeps the shape")


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """Reduce `input` over `axes` (strictly increasing, in [0, rank)) with sum, mean, max or
    min; the reduced dimensions are kept as 1 with `keepdim`, else removed. mean needs float
    elements; float sums and means accumulate in f32."""

    name = "axh.reduce"

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    kind = prop_def(ReduceKindAttr)
    axes = prop_def(DenseArrayBase.constr(i64))
    keepdim = opt_prop_def(UnitAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$kind $input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self,
        input: SSAValue | Operation,
        kind: str | ReduceKind,
        axes: Sequence[int],
        keepdim: bool = False,
    ):
        input = SSAValue.get(input)
        shape = _shape(input)
        axes = sorted(normalize_axis(a, len(shape)) for a in axes)
        if keepdim:
            out = tuple(1 if i in axes else d for i, d in enumerate(shape))
        else:
            out = tuple(d for i, d in enumerate(shape) if i not in axes)
        super().__init__(
            operands=[input],
            result_types=[TensorType(_element(input), out)],
            properties={
                "kind": ReduceKindAttr(ReduceKind(kind)),
                "axes": _i64_array(axes),
                "keepdim": UnitAttr() if keepdim else None,
            },
        )

    def verify_(self) -> None:
        shape = _shape(self.input)
        axes = cast(tuple[int, ...], self.axes.get_values())
        if not axes:
            raise VerifyException("axes must not be empty")
        for axis in axes:
            _check_axis("axis", axis, len(shape))
        if list(axes) != sorted(set(axes)):
            raise VerifyException(f"axes {shape_text(axes)} must be strictly increasing")
        if self.kind.data == ReduceKind.MEAN and not _FLOAT.verifies(_element(self.input)):
            raise VerifyException(f"mean needs float elements, got {_element(self.input)}")
        _check_same_elements(input=self.input, result=self.result)
        if self.keepdim is not None:
            expected = tuple(1 if i in axes else d for i, d in enumerate(shape))
        else:
            expected = tuple(d for i, d in enumerate(shape) if i not in axes)
        why = "reduced axes kept as 1" if self.keepdim is not None else "reduced axes removed"
        _check_shape("result", _shape(self.result), expected, why)


@irdl_op_definition
class SoftmaxOp(IRDLOperation):
    """`result = exp(x - max) / sum(exp(x - max))` along `axis`, computed in f32."""

    name = "axh.softmax"

    _T: ClassVar = VarConstraint("T", FloatTensor)
    input = operand_def(_T)
    result = result_def(_T)
    axis = prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$input attr-dict `:` type($result)"

    def __init__(self, input: SSAValue | Operation, axis: int = -1):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={"axis": _i64(normalize_axis(axis, len(_shape(input))))},
        )

    def verify_(self) -> None:
        _check_axis("axis", _int(self.axis), len(_shape(self.input)))


@irdl_op_definition
class TopKOp(IRDLOperation):
    """The k largest values along the last dimension, in descending order, and their i32
    indices; among equal values the lower index comes first. input [..., N], 1 <= k <= N,
    values and indices [..., k]."""

    name = "axh.topk"

    input = operand_def(FloatTensor)
    values = result_def(FloatTensor)
    indices = result_def(I32Tensor)
    k = prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue | Operation, k: int):
        input = SSAValue.get(input)
        shape = (*_shape(input)[:-1], k)
        super().__init__(
            operands=[input],
            result_types=[TensorType(_element(input), shape), TensorType(i32, shape)],
            properties={"k": _i64(k)},
        )

    def verify_(self) -> None:
        shape, k = _shape(self.input), _int(self.k)
        if not shape:
            raise VerifyException("input must have rank >= 1, got rank 0")
        if not 1 <= k <= shape[-1]:
            raise VerifyException(f"k must be in [1, {shape[-1]}] (the last dimension), got {k}")
        _check_same_elements(input=self.input, values=self.values)
        expected = (*shape[:-1], k)
        _check_shape("values", _shape(self.values), expected, "[..., k]")
        _check_shape("indices", _shape(self.indices), expected, "[..., k]")


# ---------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class ReshapeOp(IRDLOperation):
    """The same elements in the same row-major order under the result's shape (same element
    count and element type)."""

    name = "axh.reshape"

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)

    traits = traits_def(Pure(), _canonicalized_by("FoldIdentityReshape", "FoldReshapeOfReshape"))

    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, shape: Sequence[int]):
        input = SSAValue.get(input)
        super().__init__(operands=[input], result_types=[TensorType(_element(input), shape)])

    def verify_(self) -> None:
        _check_same_elements(input=self.input, result=self.result)
        before, after = math.prod(_shape(self.input)), math.prod(_shape(self.result))
        if before != after:
            raise VerifyException(
                f"reshape from {shape_text(_shape(self.input))} ({before} elements) to "
                f"{shape_text(_shape(self.result))} ({after} elements) changes the element "
                "count"
            )


@irdl_op_definition
class TransposeOp(IRDLOperation):
    """Permute dimensions: result dimension i is input dimension permutation[i]
    (`result.shape[i] = input.shape[permutation[i]]`, numpy's and PyTorch's `permute`)."""

    name = "axh.transpose"

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    permutation = prop_def(DenseArrayBase.constr(i64))

    traits = traits_def(
        Pure(), _canonicalized_by("FoldIdentityTranspose", "FoldTransposeOfTranspose")
    )
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, permutation: Sequence[int]):
        input = SSAValue.get(input)
        shape = _shape(input)
        perm = [normalize_axis(p, len(shape)) for p in permutation]
        out = [shape[p] if 0 <= p < len(shape) else 0 for p in perm]
        super().__init__(
            operands=[input],
            result_types=[TensorType(_element(input), out)],
            properties={"permutation": _i64_array(perm)},
        )

    def get_permutation(self) -> tuple[int, ...]:
        return cast(tuple[int, ...], self.permutation.get_values())

    def verify_(self) -> None:
        shape, perm = _shape(self.input), self.get_permutation()
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(
                f"permutation {shape_text(perm)} is not a permutation of 0..{len(shape) - 1} "
                f"(input rank {len(shape)})"
            )
        _check_same_elements(input=self.input, result=self.result)
        expected = tuple(shape[p] for p in perm)
        _check_shape("result", _shape(self.result), expected, "the input shape permuted")


@irdl_op_definition
class SliceOp(IRDLOperation):
    """`input[..., start:end:step, ...]` along `axis`: 0 <= start <= end <= dim, step >= 1,
    the result dimension is ceil((end - start) / step), the others are unchanged."""

    name = "axh.slice"

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    axis = prop_def(IntegerAttr[I64])
    start = prop_def(IntegerAttr[I64])
    end = prop_def(IntegerAttr[I64])
    step = prop_def(IntegerAttr[I64], default_value=IntegerAttr(1, i64))

    traits = traits_def(Pure(), _canonicalized_by("FoldFullSlice"))
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, axis: int, start: int, end: int, step: int = 1):
        """start and end follow Python slicing (negative counts from the end, out-of-range
        values clamp), so PyTorch's `x[:, -3:]` and `end=sys.maxsize` need no preprocessing."""
        input = SSAValue.get(input)
        shape = list(_shape(input))
        axis = normalize_axis(axis, len(shape))
        if 0 <= axis < len(shape) and step >= 1:
            start, end, _ = slice(start, end, step).indices(shape[axis])
            end = max(start, end)
            shape[axis] = -(-(end - start) // step)
        super().__init__(
            operands=[input],
            result_types=[TensorType(_element(input), shape)],
            properties={
                "axis": _i64(axis),
                "start": _i64(start),
                "end": _i64(end),
                "step": _i64(step),
            },
        )

    def verify_(self) -> None:
        shape = _shape(self.input)
        axis, start, end, step = (_int(a) for a in (self.axis, self.start, self.end, self.step))
        _check_axis("axis", axis, len(shape))
        if step < 1:
            raise VerifyException(f"step must be >= 1, got {step}")
        if not 0 <= start <= end <= shape[axis]:
            raise VerifyException(
                f"slice [{start}:{end}] is not within 0 <= start <= end <= {shape[axis]} "
                f"(dimension {axis})"
            )
        _check_same_elements(input=self.input, result=self.result)
        expected = list(shape)
        expected[axis] = -(-(end - start) // step)
        _check_shape("result", _shape(self.result), expected, "ceil((end - start) / step)")


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Concatenate `inputs` (at least one) along `axis`; they share the element type and all
    dimensions except `axis`, whose sizes add up."""

    name = "axh.concat"

    inputs = var_operand_def(AnyTensor)
    result = result_def(AnyTensor)
    axis = prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue | Operation], axis: int):
        values = [SSAValue.get(v) for v in inputs]
        shape = list(_shape(values[0]))
        axis = normalize_axis(axis, len(shape))
        if 0 <= axis < len(shape):
            shape[axis] = sum(_shape(v)[axis] for v in values if len(_shape(v)) > axis)
        super().__init__(
            operands=[values],
            result_types=[TensorType(_element(values[0]), shape)],
            properties={"axis": _i64(axis)},
        )

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException("concat needs at least one input")
        first = _shape(self.inputs[0])
        axis = _int(self.axis)
        _check_axis("axis", axis, len(first))
        for i, value in enumerate(self.inputs):
            shape = _shape(value)
            if len(shape) != len(first) or any(
                a != b for j, (a, b) in enumerate(zip(shape, first, strict=True)) if j != axis
            ):
                raise VerifyException(
                    f"input {i} has shape {shape_text(shape)} but input 0 has "
                    f"{shape_text(first)}: all dimensions but {axis} must match"
                )
            _check_same_elements(**{"input 0": self.inputs[0], f"input {i}": value})
        _check_same_elements(**{"input 0": self.inputs[0], "result": self.result})
        expected = list(first)
        expected[axis] = sum(_shape(v)[axis] for v in self.inputs)
        _check_shape("result", _shape(self.result), expected, f"the inputs' sum along {axis}")


@irdl_op_definition
class BroadcastOp(IRDLOperation):
    """Expand `input` numpy-style to the result's shape (`torch.expand`): shapes aligned at the
    right, each input dimension equals the result's or is 1; leading dimensions are added."""

    name = "axh.broadcast"

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)

    traits = traits_def(Pure(), _canonicalized_by("FoldIdentityBroadcast"))

    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, shape: Sequence[int]):
        input = SSAValue.get(input)
        super().__init__(operands=[input], result_types=[TensorType(_element(input), shape)])

    def verify_(self) -> None:
        _check_same_elements(input=self.input, result=self.result)
        source, target = _shape(self.input), _shape(self.result)
        if len(source) > len(target) or any(
            s not in (1, t) for s, t in zip(reversed(source), reversed(target), strict=False)
        ):
            raise VerifyException(
                f"input shape {shape_text(source)} does not broadcast to {shape_text(target)}"
            )


AXH = Dialect(
    "axh",
    [
        WeightOp,
        ConstantOp,
        IotaOp,
        EmbeddingOp,
        LinearOp,
        MatmulOp,
        RMSNormOp,
        LayerNormOp,
        RopeOp,
        AttentionOp,
        SiluOp,
        GeluOp,
        SwiGLUOp,
        GeGLUOp,
        AddOp,
        SubOp,
        MulOp,
        DivOp,
        UnaryOp,
        BinaryOp,
        CompareOp,
        SelectOp,
        CastOp,
        ReduceOp,
        SoftmaxOp,
        TopKOp,
        ReshapeOp,
        TransposeOp,
        SliceOp,
        ConcatOp,
        BroadcastOp,
    ],
    [
        UnaryKindAttr,
        BinaryKindAttr,
        ComparePredicateAttr,
        ReduceKindAttr,
        GeluApproximationAttr,
    ],
)
