"""`axc sim FILE.axmodel --group N --inputs in.npz --outputs out.npz [--shuffle-seed S]
[--trace trace.json]`: run one group in the functional simulator.

Inputs are read from an .npz by the group's input names (floats are rounded to the tensor's
type, bf16 may also be given as raw uint16 bits); outputs are written as float32 (floats) or
their integer type. `--shuffle-seed` executes the instructions in a random order that
respects the computed dependencies (the same result, by construction of the deps).
`--trace` also replays the group in the timing model and writes a Chrome/Perfetto trace.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.axmodel", help="the axmodel to run")
    parser.add_argument("--group", default="0",
                        help="group index (0 decode, 1.. prefill) or name (default 0)")
    parser.add_argument("--inputs", required=True, help=".npz with the group's inputs")
    parser.add_argument("--outputs", required=True, help=".npz to write the outputs to")
    parser.add_argument("--shuffle-seed", type=int, default=None,
                        help="run a random dependence-respecting order of the instructions")
    parser.add_argument("--trace", default=None,
                        help="also write the timing model's trace.json of the group")
    parser.add_argument("--chip", default=None, help="chip name or .chip file for --trace "
                        "(default: the program's chip)")


def _write_npz(path: Path, arrays: dict) -> None:
    import numpy as np

    from axc.atomic import write_atomic

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from axc.axmodel import read_axmodel
    from axc.errors import AxcError
    from axc.runtime.session import InferenceSession

    model = read_axmodel(args.file)
    group = model.group(int(args.group) if args.group.isdigit() else args.group)
    try:
        with np.load(args.inputs, allow_pickle=False) as data:
            feeds = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise AxcError(f"{args.inputs}: cannot read the inputs .npz: {err}") from err
    session = InferenceSession(model, shuffle_seed=args.shuffle_seed)
    start = time.perf_counter()
    values = session.run(None, feeds, shape_group=group.index)
    seconds = time.perf_counter() - start
    names = [t.name for t in group.outputs]
    _write_npz(Path(args.outputs), dict(zip(names, values, strict=True)))
    predicted = "" if group.predicted_ms is None else (
        f"; predicted on {model.metadata['chip']}: {group.predicted_ms:.4f} ms")
    print(f"group {group.index} ({group.name}): {sum(group.instructions.values())} "
          f"instructions simulated in {seconds * 1e3:.1f} ms{predicted}; wrote "
          f"{', '.join(names)} to {args.outputs}")
    if args.trace:
        from axc.axmodel import _resolve_chip
        from axc.sim.timing import simulate_timing, write_trace

        op = next(g for g in model.program.groups() if g.index.value.data == group.index)
        result = simulate_timing(op, _resolve_chip(model.program, args.chip))
        write_trace(result, args.trace)
        print(f"trace of {result.total_cycles} cycles ({result.time_ms:.4f} ms) written to "
              f"{args.trace}")
    return 0
