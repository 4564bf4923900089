"""The axc-opt driver: located errors, exit codes, named pipelines, IR dumps."""

import subprocess
import sys
from pathlib import Path

import pytest

from axc.pipelines import NAMED_PIPELINES, expand_pipeline


def axc_opt(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "axc.tools.axc_opt", *args],
        input=stdin, capture_output=True, text=True, timeout=120,
    )


GOOD = """\
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = arith.addf %a, %a : tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
"""


def test_good_file_prints_ir(tmp_path: Path):
    src = tmp_path / "good.mlir"
    src.write_text(GOOD)
    res = axc_opt(str(src))
    assert res.returncode == 0, res.stderr
    assert "arith.addf %a, %a : tensor<2xf32>" in res.stdout


def test_syntax_error_is_one_located_line(tmp_path: Path):
    src = tmp_path / "bad.mlir"
    src.write_text(GOOD.replace("func.return %0", "func.return %0 %0"))
    res = axc_opt(str(src))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"{src}:3:"), lines[0]
    assert "Traceback" not in res.stderr


def test_verifier_error_names_the_op_and_line(tmp_path: Path):
    src = tmp_path / "bad.mlir"
    src.write_text(GOOD.replace("-> tensor<2xf32> {", "-> tensor<3xf32> {"))
    res = axc_opt(str(src))
    assert res.returncode == 1
    assert res.stderr.strip().startswith(f"{src}:3:3: error: 'func.return' op"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_unknown_pass_is_a_clean_error(tmp_path: Path):
    src = tmp_path / "good.mlir"
    src.write_text(GOOD)
    res = axc_opt(str(src), "-p", "no-such-pass")
    assert res.returncode == 1
    assert "no-such-pass" in res.stderr and "Traceback" not in res.stderr


def test_missing_input_file_is_a_clean_error(tmp_path: Path):
    res = axc_opt(str(tmp_path / "absent.mlir"))
    assert res.returncode == 1
    assert "cannot read" in res.stderr and "Traceback" not in res.stderr


def test_verify_diagnostics_fails_when_expected_error_is_missing(tmp_path: Path):
    src = tmp_path / "neg.mlir"
    src.write_text("// expected-error @+1 {{never produced}}\n" + GOOD)
    res = axc_opt(str(src), "--verify-diagnostics")
    assert res.returncode == 1
    assert "was not produced" in res.stderr


def test_verify_diagnostics_fails_on_unexpected_error(tmp_path: Path):
    src = tmp_path / "neg.mlir"
    src.write_text(GOOD.replace("-> tensor<2xf32> {", "-> tensor<3xf32> {"))
    res = axc_opt(str(src), "--verify-diagnostics")
    assert res.returncode == 1
    assert "unexpected error" in res.stderr


def test_verify_diagnostics_accepts_matching_error_in_second_chunk(tmp_path: Path):
    bad = GOOD.replace("-> tensor<2xf32> {", "-> tensor<3xf32> {").replace(
        "  func.return", "  // expected-error @+1 {{same types as the function output}}\n"
        "  func.return")
    src = tmp_path / "neg.mlir"
    src.write_text(GOOD + "// -----\n" + bad)
    res = axc_opt(str(src), "--split-input-file", "--verify-diagnostics")
    assert res.returncode == 0, res.stderr


def test_print_ir_after_all_dumps_each_pass(tmp_path: Path):
    src = tmp_path / "good.mlir"
    src.write_text(GOOD)
    res = axc_opt(str(src), "-p", "canonicalize,cse", "--print-ir-after-all")
    assert res.returncode == 0, res.stderr
    assert "IR Dump After canonicalize" in res.stderr
    assert "IR Dump After cse" in res.stderr


def test_named_pipeline_expands():
    assert expand_pipeline("axh-cleanup") == "canonicalize,cse,dce"
    assert expand_pipeline("cse,axh-cleanup") == "cse,canonicalize,cse,dce"


@pytest.mark.parametrize("name", sorted(NAMED_PIPELINES))
def test_every_named_pipeline_resolves_to_registered_passes(name: str):
    from xdsl.universe import Universe

    known = Universe.get_multiverse().all_passes
    from xdsl.utils.arg_spec import parse_pipeline

    for spec in parse_pipeline(expand_pipeline(name)):
        assert spec.name in known, f"{name} expands to unknown pass {spec.name}"


def test_xdsl_opt_knows_axc_dialects_and_passes():
    """The xdsl.universe entry point: plain xdsl-opt parses axh/axnpu and runs axc passes."""
    from pathlib import Path as _Path

    xdsl_opt = _Path(sys.executable).parent / "xdsl-opt"
    root = _Path(__file__).resolve().parent.parent
    res = subprocess.run(
        [str(xdsl_opt), str(root / "lit_tests/passes/fold-constant-casts.mlir"),
         "--split-input-file", "-p", "fold-constant-casts"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "axh.constant dense<-6.553600e+04> : tensor<bf16>" in res.stdout
    res = subprocess.run([str(xdsl_opt), str(root / "lit_tests/dialects/axnpu_roundtrip.mlir")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "axnpu.program" in res.stdout
