"""The axnpu dialect from Python: construction, verification, accessors, exact overlaps."""

from __future__ import annotations

import io
import itertools
import random
import re
from pathlib import Path

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from axc.dialects.axnpu import (
    AXNPU,
    EU,
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
    Region,
    RmsNormOp,
    RopeOp,
    SoftmaxOp,
    TopKOp,
    TransposeOp,
    View,
)

ROOT = Path(__file__).resolve().parents[1]
ROUNDTRIP = ROOT / "lit_tests" / "dialects" / "axnpu_roundtrip.mlir"
INVALID = ROOT / "lit_tests" / "dialects" / "axnpu_invalid.mlir"
DOC = ROOT / "docs" / "axnpu.md"


def _ctx() -> Context:
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(AXNPU)
    return ctx


def _print(op, generic: bool = False) -> str:
    out = io.StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(op)
    return out.getvalue()


def _program(*ops, buffers=(), **chip) -> ProgramOp:
    limits = dict(chip="AX650", ocm_bytes=65536, ddr_bytes=65536, cores=3, conv_per_core=2)
    limits.update(chip)
    return ProgramOp("p", groups=[GroupOp("g", 0, [*buffers, *ops])], **limits)


def _verify(*ops, buffers=(), **chip) -> None:
    ModuleOp([_program(*ops, buffers=buffers, **chip)]).verify()


X = View("ocm", 0, [4, 64], "bf16")
OUT = View("ocm", 4096, [4, 64], "bf16")
def in_buf() -> BufferOp:
    return BufferOp("in", View("ddr", 0, [1024], "bf16"), "input")


# -- attributes ----------------------------------------------------------------------------


def test_attributes_from_plain_values():
    r = Region("ocm", 4096, 2048)
    assert (r.space.data, r.offset.data, r.size_bytes.data, r.end) == ("ocm", 4096, 2048, 6144)
    assert str(r) == "#axnpu.region<ocm, 4096, 2048>"
    v = View("ocm", 4096, [16, 64], "bf16")
    assert (v.get_shape(), v.rows, v.row_bytes, v.numel) == ((16, 64), 16, 128, 1024)
    assert str(v) == "#axnpu.view<ocm, 4096, [16, 64], bf16>"
    assert str(EU("conv", 0, 1)) == "#axnpu.eu<conv, 0, 1>"


def test_view_strides_and_s4():
    strided = View("ocm", 0, [16, 64], "bf16", 256)
    assert str(strided) == "#axnpu.view<ocm, 0, [16, 64], bf16, stride 256>"
    assert not strided.is_contiguous
    # a stride on a single row means nothing and is dropped, so equal views compare equal
    assert View("ocm", 0, [1, 64], "bf16", 512) == View("ocm", 0, [1, 64], "bf16")
    assert View("ocm", 0, [8, 128], "s4").row_bytes == 64


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Region("ocm", 0, 0), "region size must be > 0 bytes, got 0"),
        (lambda: Region("ocm", -1, 16), "region offset must be >= 0, got -1"),
        (lambda: Region("sram", 0, 16), "memory space must be ocm or ddr"),
        (lambda: View("ocm", 0, [4, 63], "s4"), "not a whole number of bytes"),
        (lambda: View("ocm", 0, [4, 64], "bf16", 64), "row stride 64 bytes is smaller"),
        (lambda: View("ocm", 0, [4, 64], "f64"), "unknown dtype 'f64'"),
        (lambda: View("ocm", 0, [], "f32"), "at least one dimension"),
        (lambda: EU("npu", 0, 0), "eu kind must be conv, teng or sdma"),
    ],
)
def test_attribute_verifiers(make, message):
    with pytest.raises(VerifyException, match=re.escape(message)):
        make()


# -- exact accesses ------------------------------------------------------------------------


def _bytes(acc: Access) -> set[int]:
    return {b for start, end in acc.byte_ranges() for b in range(start, end)}


def test_access_canonical_form():
    assert Access("ocm", 0, 4, 64, 64) == Access("ocm", 0, 1, 256, 256)
    assert Access("ocm", 0, 4, 64, 0) == Access("ocm", 0, 1, 64, 64)  # stride 0: one row
    assert Access("ocm", 0, 3, 64, 32) == Access("ocm", 0, 1, 128, 128)  # rows that overlap
    acc = Access("ocm", 100, 4, 16, 64)
    assert (acc.end, acc.size_bytes, acc.nbytes) == (308, 208, 64)
    assert acc.region == Region("ocm", 100, 208)


def test_access_overlap_is_exact():
    rng = random.Random(0)
    for _ in range(3000):
        accs = []
        for _ in range(2):
            rows, row_bytes = rng.randint(1, 5), rng.randint(1, 12)
            stride = rng.choice([row_bytes, rng.randint(row_bytes, 3 * row_bytes), 0])
            accs.append(Access("ocm", rng.randint(0, 40), rows, row_bytes, stride))
        a, b = accs
        assert a.overlaps(b) == bool(_bytes(a) & _bytes(b)), (a, b)
        assert a.overlaps(b) == b.overlaps(a)
    assert not Access("ocm", 0, 1, 64, 64).overlaps(Access("ddr", 0, 1, 64, 64))


# -- construction and round trip -----------------------------------------------------------


def _layer_program() -> ProgramOp:
    ops = [
        DmaLoadOp(Region("ddr", 0, 512), Region("ocm", 0, 512), id=0, eu=EU("sdma", 0, 0)),
        RmsNormOp(X, OUT, weight=View("ocm", 512, [64], "bf16"), eps=1e-6, id=1, deps=[0]),
        MatmulOp(
            OUT,
            View("ocm", 8192, [32, 64], "s4"),
            View("ocm", 12288, [4, 32], "f32"),
            scale=View("ocm", 10240, [32, 2], "bf16"),
            group_size=32,
            id=2,
            deps=[1],
            eu=EU("conv", 1, 1),
            cycles=500,
        ),
        EltwiseOp("silu", View("ocm", 12288, [4, 32], "f32"), View("ocm", 12800, [4, 32], "bf16")),
        DmaStoreOp(Region("ocm", 12800, 256), Region("ddr", 2048, 256), id=3, deps=[2]),
        BarrierOp(id=4, deps=[3]),
    ]
    buffers = [in_buf(), BufferOp("out", View("ddr", 2048, [4, 32], "bf16"), "output")]
    return _program(*ops, buffers=buffers)


def test_build_verify_print_parse():
    program = _layer_program()
    module = ModuleOp([program])
    module.verify()
    text = _print(module)
    assert "axnpu.matmul <ocm, 4096, [4, 64], bf16>, <ocm, 8192, [32, 64], s4> scale" in text
    assert "id 2 deps [1] eu <conv, 1, 1> cycles 500" in text
    reparsed = Parser(_ctx(), text).parse_module()
    reparsed.verify()
    assert _print(reparsed) == text


def test_schedule_fields():
    op = BarrierOp()
    assert (op.get_id(), op.get_deps(), op.get_cycles(), op.eu) == (None, (), None, None)
    op.set_id(7)
    op.set_deps([1, 2])
    op.set_cycles(12)
    assert (op.get_id(), op.get_deps(), op.get_cycles()) == (7, (1, 2), 12)
    op.set_deps(None)
    assert op.get_deps() == () and "deps" not in op.properties
    dma = DmaLoadOp(Region("ddr", 0, 64), Region("ocm", 0, 64))
    dma.set_eu(EU("sdma", 0, 0))
    assert dma.eu == EU("sdma", 0, 0)


def test_program_helpers():
    program = _layer_program()
    group = program.group("g")
    assert group is not None and program.groups() == [group]
    assert [b.sym_name.data for b in group.buffers()] == ["in", "out"]
    assert group.buffer("out") is group.buffers()[1]
    assert len(group.instructions()) == 6
    assert program.limits().eu_count("conv") == 2
    assert program.limit_bytes("ocm") == 65536


# -- accessors -----------------------------------------------------------------------------


def test_eu_kinds():
    kinds = {
        DmaLoadOp: "sdma", DmaStoreOp: "sdma", DmaCopyOp: "sdma", MatmulOp: "conv",
        EltwiseOp: "teng", RmsNormOp: "teng", LayerNormOp: "teng", RopeOp: "teng",
        SoftmaxOp: "teng", ReduceOp: "teng", TransposeOp: "teng", GatherOp: "teng",
        TopKOp: "teng", BarrierOp: None,
    }
    instructions = {op for op in AXNPU.operations if issubclass(op, InstructionOp)}
    assert instructions == set(kinds)
    assert all(cls.EU_KIND == kind for cls, kind in kinds.items())
    assert BarrierOp().eu_kind() is None


def test_reads_and_writes():
    dma = DmaLoadOp(
        Region("ddr", 0, 192), Region("ocm", 0, 128),
        rows=2, row_bytes=64, src_stride_bytes=128, dst_stride_bytes=64,
    )
    assert dma.reads() == [Access("ddr", 0, 2, 64, 128)]
    assert dma.writes() == [Access("ocm", 0, 1, 128, 128)]
    assert dma.pattern() == (2, 64, 128, 64)
    broadcast = DmaLoadOp(Region("ddr", 0, 64), Region("ocm", 0, 256), rows=4, row_bytes=64,
                          src_stride_bytes=0)
    assert broadcast.pattern() == (4, 64, 0, 64)
    assert broadcast.reads() == [Access("ddr", 0, 1, 64, 64)]
    _verify(broadcast, buffers=[in_buf()])

    w = View("ocm", 8192, [16, 64], "bf16")
    y = View("ocm", 12288, [4, 16], "f32")
    plain = MatmulOp(X, w, y)
    acc = MatmulOp(X, w, y, accumulate=True)
    assert plain.reads() == [X.access(), w.access()]
    assert acc.reads() == [X.access(), w.access(), y.access()]
    assert acc.writes() == [y.access()] and acc.mkn() == (4, 64, 16)

    table = View("ddr", 0, [100, 64], "bf16")
    idx = View("ocm", 0, [4], "u32")
    gather = GatherOp(table, idx, OUT)
    assert gather.reads() == [table.access(), idx.access()]
    assert [n for n, _ in gather.named_inputs()] == ["table", "indices"]
    assert BarrierOp().reads() == [] and BarrierOp().writes() == []


# -- verification --------------------------------------------------------------------------


def test_valid_ops_of_every_kind():
    pos = View("ocm", 2048, [4], "u32")
    freq = View("ocm", 2112, [16], "f32")
    _verify(
        EltwiseOp("add", X, OUT, b=View("ocm", 1024, [64], "bf16")),
        EltwiseOp("mul", OUT, OUT, scalar=0.5),  # in place
        LayerNormOp(X, OUT, eps=1e-5),
        RopeOp(X, pos, freq, OUT, head_dim=32, style="interleaved", scaling=1.0),
        SoftmaxOp(X, OUT, mask=View("ocm", 1024, [1, 64], "bf16"), scale=0.125, softcap=30.0),
        ReduceOp("mean", X, View("ocm", 4096, [4, 1], "f32"), axis=1),
        TransposeOp(X, View("ocm", 4096, [64, 4], "bf16"), perm=[1, 0]),
        GatherOp(View("ddr", 0, [8, 64], "bf16"), pos, OUT),
        DmaCopyOp(Region("ocm", 0, 64), Region("ocm", 64, 64)),
        buffers=[in_buf()],
    )


def test_strided_operands_that_interleave_do_not_overlap():
    a = View("ocm", 0, [4, 32], "bf16", 128)
    out = View("ocm", 64, [4, 32], "bf16", 128)
    _verify(EltwiseOp("exp", a, out))
    with pytest.raises(VerifyException, match="overlaps input 'a'"):
        _verify(EltwiseOp("exp", a, View("ocm", 32, [4, 32], "bf16", 128)))


@pytest.mark.parametrize(
    "op, message",
    [
        (MatmulOp(X, View("ocm", 8192, [16, 32], "bf16"), OUT), "K 32 != 64"),
        (MatmulOp(X, View("ocm", 8192, [16, 64], "s8"), View("ocm", 4096, [4, 16], "f32")),
         "s8 weights need a 'scale'"),
        (EltwiseOp("add", X, OUT), "exactly one of them"),
        (TransposeOp(X, View("ocm", 256, [64, 4], "bf16"), perm=[1, 0]), "overlaps input 'x'"),
        (DmaLoadOp(Region("ocm", 0, 64), Region("ocm", 64, 64)), "moves ddr -> ocm"),
        (DmaLoadOp(Region("ddr", 0, 64), Region("ocm", 0, 64), eu=EU("sdma", 3, 0)),
         "core 3 is out of range, the program has 3 cores"),
        (EltwiseOp("exp", X, OUT, eu=EU("conv", 0, 0)), "is a conv unit, but"),
        (EltwiseOp("exp", X, View("ocm", 65500, [4, 64], "bf16")), "past ocm_bytes 65536"),
    ],
)
def test_instruction_verifier(op, message):
    with pytest.raises(VerifyException, match=re.escape(message)):
        _verify(op, buffers=[in_buf()])


def test_group_verifier():
    with pytest.raises(VerifyException, match="reuses id 1"):
        _verify(BarrierOp(id=1), BarrierOp(id=1))
    with pytest.raises(VerifyException, match="depends on id 2, which no earlier"):
        _verify(BarrierOp(id=1, deps=[2]), BarrierOp(id=2))
    with pytest.raises(VerifyException, match="not inside declared axnpu.buffer ops"):
        _verify(DmaLoadOp(Region("ddr", 4096, 64), Region("ocm", 0, 64)), buffers=[in_buf()])
    with pytest.raises(VerifyException, match="overlap"):
        _verify(buffers=[in_buf(), BufferOp("x", View("ddr", 64, [8], "f32"), "output")])
    # one DMA may cross adjacent buffers (a weight and its scales)
    def buffers():
        return [in_buf(), BufferOp("w", View("ddr", 2048, [32], "s8"), "weight")]

    _verify(DmaLoadOp(Region("ddr", 0, 2080), Region("ocm", 0, 2080)), buffers=buffers())
    with pytest.raises(VerifyException, match="weights are read-only"):
        _verify(DmaStoreOp(Region("ocm", 0, 32), Region("ddr", 2048, 32)), buffers=buffers())


# -- coverage of the tests and docs --------------------------------------------------------


def _op_names(text: str) -> set[str]:
    return set(re.findall(r"\b(axnpu\.[a-z_]+)", text))


def test_roundtrip_file_exercises_every_op_and_attribute():
    text = ROUNDTRIP.read_text()
    module = Parser(_ctx(), text).parse_module()
    module.verify()
    used = {op.name for op in module.walk()}
    assert {op.name for op in AXNPU.operations} <= used
    generic = _print(module, generic=True)
    for attr in AXNPU.attributes:
        assert f"#{attr.name}<" in generic or f"#axnpu<{attr.name.split('.')[1]} " in generic


def test_invalid_file_has_one_expectation_per_case():
    chunks = re.split(r"^// -----.*$", INVALID.read_text(), flags=re.M)
    assert len(chunks) > 60
    assert all(len(re.findall(r"expected-error", c)) == 1 for c in chunks)


def test_doc_describes_every_op_and_attribute():
    doc = DOC.read_text()
    names = {op.name for op in AXNPU.operations} | {a.name for a in AXNPU.attributes}
    forms = {n: (f"`{n}`", f"#{n}<", f"#axnpu<{n.removeprefix('axnpu.')} ") for n in names}
    missing = sorted(n for n, spelled in forms.items() if not any(f in doc for f in spelled))
    assert not missing, missing


def test_every_op_and_attribute_has_a_docstring():
    for definition in itertools.chain(AXNPU.operations, AXNPU.attributes):
        assert definition.__doc__ and definition.__doc__.strip(), definition.name


def test_program_clone_keeps_one_block():
    """Regression: cloning a program gave its body two blocks (an empty one from
    __post_init__ plus the cloned one), so groups() failed on the copy."""
    from pathlib import Path

    from axc.frontend.pipeline import make_context
    from axc.tools.axc_opt import parse_module

    text = (Path(__file__).resolve().parent.parent
            / "lit_tests/dialects/axnpu_roundtrip.mlir").read_text()
    module = parse_module(make_context(), text, "roundtrip.mlir")
    program = next(op for op in module.walk() if op.name == "axnpu.program")
    copy = program.clone()
    assert len(copy.regions[0].blocks) == 1
    assert [g.sym_name.data for g in copy.groups()] == [g.sym_name.data for g in program.groups()]
    copy.verify()
