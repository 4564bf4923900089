"""The `axc` command: pulsar2-style subcommands (llm_build, run, ...) in one entry point.

Each subcommand lives in its own module and is imported only when used, so `axc --help`
stays fast and a broken optional dependency only breaks the command that needs it.
A user-facing failure is an `AxcError`: printed as one `axc: error: ...` line, exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand -> (module under axc, one-line help). The module has `add_arguments(parser)`
#: and `run(args) -> int`.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "models": ("axc.commands.models", "pull and list the real checkpoints this project can use"),
    "import": ("axc.commands.import_", "print the axh IR of one layer of a Hugging Face model"),
    "estimate": ("axc.commands.estimate", "predict TTFT, decode tokens/s and memory on a chip"),
    "accuracy": ("axc.commands.accuracy", "per-layer cosine, top-1 and perplexity vs float32"),
    "llm_build": ("axc.commands.llm_build", "build a model folder of .axmodel files, as pulsar2 "
                  "llm_build does"),
    "info": ("axc.commands.info", "groups, inputs/outputs, instructions and timing of an "
             ".axmodel"),
    "sim": ("axc.commands.sim", "run one group of an .axmodel in the functional simulator"),
    "run": ("axc.commands.run", "chat with a built model folder, as ax-llm does on a board"),
    "tokenizer-server": ("axc.commands.tokenizer_server", "serve a tokenizer over HTTP with "
                         "ax-llm's protocol"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s module is imported (every other one just lists its help)."""
    from axc import __version__

    parser = argparse.ArgumentParser(
        prog="axc",
        description="axc: an open MLIR-style compiler for LLMs on (an open model of) AX NPUs",
    )
    parser.add_argument("--version", action="version", version=f"axc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from axc.errors import AxcError

    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except AxcError as err:
        print(f"axc: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("axc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
