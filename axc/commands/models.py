"""`axc models pull NAME [--dir D]` and `axc models list`: the real checkpoints of MODELS.md."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    pull = sub.add_parser("pull", help="download, verify and convert a model into a HF folder")
    pull.add_argument("name", help="model name (see `axc models list`)")
    pull.add_argument("--dir", default=None, help="cache folder (default: $AXC_CACHE or "
                      "~/.cache/axc/models)")
    sub.add_parser("list", help="list the models `pull` knows")


def run(args: argparse.Namespace) -> int:
    from axc import models

    if args.models_command == "list":
        for name in models.list_models():
            print(name)
        return 0
    path = models.pull(args.name, cache_dir=args.dir)
    print(path)
    return 0
