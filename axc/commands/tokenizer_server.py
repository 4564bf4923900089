"""`axc tokenizer-server`: ax-llm's tokenizer HTTP server for a Hugging Face model folder."""

from __future__ import annotations

import argparse

from axc.errors import AxcError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_dir", required=True,
                        help="Hugging Face model folder with the tokenizer and chat template")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=12345, help="port (0 picks a free one)")


def run(args: argparse.Namespace) -> int:
    from axc.runtime.tokenizer_server import make_server

    try:
        server = make_server(args.model_dir, args.host, args.port)
    except OSError as err:
        raise AxcError(f"cannot listen on {args.host}:{args.port} ({err.strerror or err}); "
                       "pick another --port") from err
    print(f"Server running at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
