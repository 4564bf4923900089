"""Every lit RUN line must check something: pipe into filecheck or verify diagnostics.

A RUN line whose output goes nowhere can never fail (TPU-MLIR's weak spot); this test makes
such a line a test failure instead of a silent pass.
"""

import re
from pathlib import Path

import pytest

LIT_ROOT = Path(__file__).resolve().parent.parent / "lit_tests"


def _run_lines(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text().splitlines()
    runs: list[tuple[int, str]] = []
    pending = ""
    for no, line in enumerate(lines, 1):
        if "RUN:" not in line:
            continue
        body = line.split("RUN:", 1)[1].strip()
        pending = f"{pending} {body[:-1]}" if body.endswith("\\") else f"{pending} {body}"
        if not body.endswith("\\"):
            runs.append((no, pending.strip()))
            pending = ""
    return runs


def _checks_something(command: str) -> bool:
    return "| filecheck" in command or "--verify-diagnostics" in command


LIT_FILES = sorted(LIT_ROOT.rglob("*.mlir"))


def test_lit_suite_is_not_empty():
    assert len(LIT_FILES) >= 4, "the lit suite lost its files"


@pytest.mark.parametrize("path", LIT_FILES, ids=lambda p: str(p.relative_to(LIT_ROOT)))
def test_every_run_line_checks_something(path: Path):
    runs = _run_lines(path)
    assert runs, f"{path.name} has no RUN line"
    bad = [f"{path.name}:{no}: {cmd}" for no, cmd in runs if not _checks_something(cmd)]
    assert not bad, "RUN lines that check nothing:\n" + "\n".join(bad)
    text = path.read_text()
    for _, cmd in runs:
        if "| filecheck" not in cmd:
            continue
        prefixes = re.findall(r"--check-prefix(?:es)?[= ]([\w,-]+)", cmd)
        for prefix in ",".join(prefixes or ["CHECK"]).split(","):
            assert re.search(rf"\b{re.escape(prefix)}(-[A-Z]+)?:", text), (
                f"{path.name}: a RUN line checks prefix {prefix} but no {prefix}: line exists"
            )
    if any("--verify-diagnostics" in cmd for _, cmd in runs):
        assert "expected-error" in text, f"{path.name} verifies diagnostics but expects none"


def test_detector_flags_a_silent_run_line(tmp_path: Path):
    bad = tmp_path / "bad.mlir"
    bad.write_text("// RUN: axc-opt %s -p canonicalize\n")
    assert not all(_checks_something(c) for _, c in _run_lines(bad))
