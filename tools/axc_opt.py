"""axc-opt: read axh/axnpu IR, run a pass pipeline, print IR (mlir-opt for axc).

    axc-opt FILE -p canonicalize,axnpu-tile{ocm-bytes=65536} [--print-ir-after-all]
    axc-opt FILE --split-input-file --verify-diagnostics

It is xDSL's `xdsl-opt` with what an MLIR user expects on top:
- every parsed op remembers its `file:line:col`, so parse, verifier and pass errors print
  as one located line (`f.mlir:3:8: error: 'axh.add' op ...`) with exit status 1, never a
  Python traceback;
- `--verify-diagnostics` checks `// expected-error @+1 {{...}}` annotations the MLIR way:
  every expected error must be reported at its line and no other error may occur;
- named pipelines (`axc.pipelines`) expand before the pipeline is parsed;
- `-t axmodel -o FILE.axmodel` writes the (one) `axnpu.program` of the result as an axmodel
  (docs/axmodel.md). Weight bytes come from the buffers' `data` attributes, or from
  `--weights FILE.npz` (buffer name -> uint8 array); `--zero-weights` fills any other weight
  buffer with zero bytes (for IR-only experiments), else a weight without bytes is an error.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import FileLineColLoc, IntAttr, ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.passes import ModulePass, PassPipeline
from xdsl.printer import Printer
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    PassFailedException,
    VerifyException,
)
from xdsl.xdsl_opt_main import xDSLOptMain

from axc.diagnostics import OpError, format_diagnostic
from axc.pipelines import NAMED_PIPELINES, expand_pipeline


@dataclass
class Diagnostic:
    """One reported error: where (line in the whole file, 1-based) and what."""

    file: str
    line: int | None
    col: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.col}"
        return f"{where}: error: {self.message}"


class LocatingParser(Parser):
    """A parser that records where each op was written, as a `FileLineColLoc`.

    `line_offset` shifts line numbers so a `// -----` chunk reports lines of the whole file.
    """

    def __init__(self, ctx: Context, text: str, name: str, line_offset: int = 0):
        super().__init__(ctx, text, name)
        self._name = name
        self._line_offset = line_offset

    def parse_optional_operation(self) -> Operation | None:
        span = self._current_token.span
        try:
            op = super().parse_optional_operation()
        except VerifyException as err:
            # Custom formats check operand/result constraints while parsing: report them
            # at the op like any other error.
            raise ParseError(span, _strip(str(err).split("\n\n")[0])) from err
        if op is not None and not isinstance(op.location, FileLineColLoc):
            loc = span.get_location()
            op.location = FileLineColLoc(
                StringAttr(self._name), IntAttr(loc.line + self._line_offset), IntAttr(loc.col)
            )
        return op


def parse_module(ctx: Context, text: str, name: str, line_offset: int = 0) -> ModuleOp:
    return LocatingParser(ctx, text, name, line_offset).parse_module()


def verify_located(module: ModuleOp) -> Diagnostic | None:
    """Verify op by op (outermost first), so the error names the op that failed."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except OpError as err:  # a verifier that knows the culprit op (e.g. a group's rules)
            return _op_diagnostic(err.op, err.message)
        except (VerifyException, DiagnosticException) as err:
            return _op_diagnostic(op, _strip(str(err).split("\n\n")[0]))
    return None


def _strip(message: str) -> str:
    return message.removeprefix("Operation does not verify: ").strip()


def _op_diagnostic(op: Operation | None, message: str) -> Diagnostic:
    text = format_diagnostic(op, message)
    m = re.match(r"^(.*?):(\d+):(\d+): error: (.*)$", text, re.S)
    if m:
        return Diagnostic(m[1], int(m[2]), int(m[3]), m[4])
    return Diagnostic("<input>", None, None, text.split(": error: ", 1)[-1])


def _parse_diagnostic(err: ParseError, line_offset: int) -> Diagnostic:
    loc = err.span.get_location()
    return Diagnostic(loc.file, loc.line + line_offset, loc.col, err.msg)


@dataclass
class Expectation:
    line: int
    message: str
    seen: bool = False


_EXPECT = re.compile(r"//\s*expected-error\s*(@(?:[+-]\d+|above|below))?\s*\{\{(.*?)\}\}")


def parse_expectations(text: str, line_offset: int) -> list[Expectation]:
    """`// expected-error @+1 {{msg}}` annotations, resolved to absolute file lines."""
    lines = text.split("\n")
    found: list[Expectation] = []
    for idx, line in enumerate(lines):
        for m in _EXPECT.finditer(line):
            where = m[1] or ""
            target = idx + 1
            if where.startswith(("@+", "@-")):
                target += int(where[1:])
            elif where == "@below":
                target = _next_code_line(lines, idx, +1)
            elif where == "@above":
                target = _next_code_line(lines, idx, -1)
            found.append(Expectation(target + line_offset, m[2]))
    return found


def _next_code_line(lines: list[str], idx: int, step: int) -> int:
    j = idx + step
    while 0 <= j < len(lines) and lines[j].strip().startswith("//"):
        j += step
    return j + 1


class AxcOptMain(xDSLOptMain):
    """The axc-opt driver (see the module docstring)."""

    def __init__(self, args: Sequence[str] | None = None):
        super().__init__(description="axc-opt: run axc passes on axh/axnpu IR", args=args)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser):
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--print-ir-after-all",
            action="store_true",
            help="print the IR after every pass to stderr, as mlir-opt does",
        )
        arg_parser.add_argument(
            "--list-pipelines", action="store_true", help="list the named pipelines and exit"
        )
        arg_parser.add_argument(
            "--weights", default=None, metavar="FILE.npz",
            help="-t axmodel: weight bytes by buffer name (uint8 arrays)")
        arg_parser.add_argument(
            "--zero-weights", action="store_true",
            help="-t axmodel: zero bytes for weight buffers with neither data nor --weights")
        help_action = next(a for a in arg_parser._actions if a.dest == "passes")
        help_action.help = (
            "pass pipeline, e.g. 'canonicalize,axh-fuse-qkv{...}'; named pipelines: "
            + ", ".join(NAMED_PIPELINES)
        )

    def register_all_targets(self):
        super().register_all_targets()
        self.available_targets["axmodel"] = _axmodel_target

    def _axmodel(self) -> bool:
        return self.args.target == "axmodel"

    def _write_axmodel(self, module: ModuleOp, name: str) -> Diagnostic | None:
        """`-t axmodel`: write the module's program to `-o`; an error as a diagnostic."""
        import numpy as np

        from axc.axmodel import write_axmodel
        from axc.dialects.axnpu import ProgramOp
        from axc.errors import AxcError

        programs = [op for op in module.walk() if isinstance(op, ProgramOp)]
        if len(programs) != 1:
            return Diagnostic(name, None, None, f"-t axmodel needs exactly one axnpu.program, "
                              f"the result has {len(programs)}")
        program = programs[0]
        weights: dict[str, bytes] = {}
        try:
            if self.args.weights:
                with np.load(self.args.weights, allow_pickle=False) as data:
                    weights = {k: data[k].tobytes() for k in data.files}
            if self.args.zero_weights:
                for group in program.groups():
                    for buf in group.buffers():
                        if (buf.kind.data == "weight" and "data" not in buf.attributes
                                and buf.sym_name.data not in weights):
                            weights[buf.sym_name.data] = bytes(buf.view.access().nbytes)
            write_axmodel(self.args.output_file, program, weights)
        except AxcError as err:
            return Diagnostic(name, None, None, str(err))
        except (OSError, ValueError) as err:
            return Diagnostic(name, None, None, f"cannot write the axmodel: {err}")
        return None

    def setup_pipeline(self):
        def callback(prev: ModulePass | None, module: ModuleOp, _next: ModulePass | None):
            if prev is not None and self.args.print_ir_after_all:
                print(f"// -----// IR Dump After {prev.name} //----- //", file=sys.stderr)
                Printer(stream=sys.stderr).print_op(module)
                print(file=sys.stderr)

        self.pipeline_error: str | None = None
        try:
            spec = expand_pipeline(self.args.passes)
            self.pipeline = PassPipeline.parse_spec(self.available_passes, spec, callback)
        except (ArgSpecParseError, ValueError, Exception) as err:  # noqa: B014
            self.pipeline = PassPipeline(())
            self.pipeline_error = str(err).strip().split("\n")[-1] or type(err).__name__

    # -- running ---------------------------------------------------------------------------

    def run(self) -> int:  # type: ignore[override]
        if self.args.list_pipelines:
            for p in NAMED_PIPELINES.values():
                print(f"{p.name:24s} {p.summary}")
            return 0
        if self.pipeline_error:
            print(f"axc-opt: error: bad pass pipeline: {self.pipeline_error}", file=sys.stderr)
            return 1
        name = self.args.input_file or "<stdin>"
        try:
            data = (
                open(self.args.input_file, encoding="utf-8").read()
                if self.args.input_file
                else sys.stdin.read()
            )
        except OSError as err:
            print(f"axc-opt: error: cannot read {name}: {err.strerror}", file=sys.stderr)
            return 1
        chunks = self._split(data)
        if self._axmodel() and (not self.args.output_file or len(chunks) > 1):
            print("axc-opt: error: -t axmodel writes one binary file: give -o FILE.axmodel "
                  "(and no --split-input-file)", file=sys.stderr)
            return 1
        out: IO[str] = (io.StringIO() if self._axmodel()  # write_axmodel writes the file
                        else open(self.args.output_file, "w") if self.args.output_file
                        else sys.stdout)
        status = 0
        try:
            for i, (text, offset) in enumerate(chunks):
                if i > 0 and not self.args.verify_diagnostics:
                    out.write("// -----\n")
                result, diag = self._process(text, name, offset)
                if self.args.verify_diagnostics:
                    status |= self._check_expectations(text, offset, diag)
                    if result is not None:
                        out.write(result)
                elif diag is not None:
                    print(diag, file=sys.stderr)
                    return 1
                elif result is not None:
                    out.write(result)
        finally:
            if out is not sys.stdout:
                out.close()
        return status

    def _split(self, data: str) -> list[tuple[str, int]]:
        if not self.args.split_input_file:
            return [(data, 0)]
        pieces = re.split(r"^// -----.*$", data, flags=re.M)
        result, offset = [], 0
        for piece in pieces:
            result.append((piece, offset))
            offset += piece.count("\n")
        return result

    def _process(self, text: str, name: str, offset: int) -> tuple[str | None, Diagnostic | None]:
        """Parse, verify, run the pipeline and emit; return (output, first error)."""
        try:
            module = parse_module(self.ctx, text, name, offset)
        except ParseError as err:
            return None, _parse_diagnostic(err, offset)
        if diag := verify_located(module):
            return None, diag
        try:
            self.pipeline.apply(self.ctx, module)
        except OpError as err:
            return None, _op_diagnostic(err.op, err.message)
        except (PassFailedException, DiagnosticException, VerifyException) as err:
            return None, Diagnostic(name, None, None, _strip(str(err).split("\n\n")[0]))
        if diag := verify_located(module):
            diag.message = f"after the pipeline: {diag.message}"
            return None, diag
        if self._axmodel():
            diag = self._write_axmodel(module, name)
            return ("", None) if diag is None else (None, diag)
        return self.output_resulting_program(module), None

    def _check_expectations(self, text: str, offset: int, diag: Diagnostic | None) -> int:
        expected = parse_expectations(text, offset)
        status = 0
        if diag is not None:
            match = next(
                (e for e in expected if e.line == diag.line and e.message in diag.message), None
            )
            if match is not None:
                match.seen = True
            else:
                print(f"{diag.file}:{diag.line}:{diag.col}: error: unexpected error: "
                      f"{diag.message}", file=sys.stderr)
                status = 1
        name = self.args.input_file or "<stdin>"
        for e in expected:
            if not e.seen:
                got = f" (got: {diag})" if diag is not None else ""
                print(f"{name}:{e.line}: error: expected error \"{e.message}\" was not "
                      f"produced{got}", file=sys.stderr)
                status = 1
        return status


def _axmodel_target(module: ModuleOp, out: IO[str]) -> None:
    """Placeholder so `-t axmodel` is a known target; AxcOptMain writes the binary file."""
    raise ValueError("the axmodel target writes a file: use axc-opt -t axmodel -o FILE")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        driver = AxcOptMain(args=argv)
        return driver.run()
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
