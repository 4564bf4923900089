"""Located diagnostics: errors that point at an op of the input IR.

Parsed ops carry a `FileLineColLoc` (set by `axc.ir_io.LocatingParser`), so an error raised
about an op can be printed as `file:line:col: error: message`, the way mlir-opt does.
"""

from __future__ import annotations

from xdsl.dialects.builtin import FileLineColLoc
from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException


class OpError(DiagnosticException):
    """An error about one op (raised by passes and verifiers that know the culprit)."""

    def __init__(self, op: Operation, message: str):
        super().__init__(message)
        self.op = op
        self.message = message


def op_location(op: Operation | None) -> tuple[str, int, int] | None:
    """The (file, line, col) an op was parsed at, or of its nearest located ancestor."""
    while op is not None:
        loc = op.location
        if isinstance(loc, FileLineColLoc):
            return loc.filename.data, loc.line.data, loc.column.data
        op = op.parent_op()
    return None


def format_diagnostic(op: Operation | None, message: str, fallback_file: str = "<input>") -> str:
    """One line: `file:line:col: error: 'op.name' op message` (MLIR's shape)."""
    loc = op_location(op)
    where = f"{loc[0]}:{loc[1]}:{loc[2]}" if loc else fallback_file
    what = f"'{op.name}' op " if op is not None else ""
    return f"{where}: error: {what}{message}"
