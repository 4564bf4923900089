"""Benchmark: trace + import + raise every layer of a real model; prints a table.

    .venv/bin/python bench/import_model.py [--input_path DIR] [--prefill_len N]

Each distinct layer kind is traced once per shape group (on the meta device: no weights
are read), then every layer is imported under its own weight names and raised with
`axh-raise`. Reports wall time per stage and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input_path", default=None, help="HF folder (default: the pulled "
                        "qwen2.5-coder-0.5b-instruct)")
    parser.add_argument("--prefill_len", type=int, default=128)
    parser.add_argument("--kv_cache_len", type=int, default=1023)
    args = parser.parse_args()

    from transformers import AutoConfig

    from axc.frontend.importer import import_module
    from axc.frontend.pipeline import make_context, run_pipeline, shape_groups
    from axc.frontend.trace import layer_kind_key, trace_layer

    if args.input_path is None:
        from axc.models import pull

        args.input_path = str(pull("qwen2.5-coder-0.5b-instruct"))
    config = AutoConfig.from_pretrained(Path(args.input_path))
    groups = shape_groups(args.prefill_len, args.kv_cache_len)
    ctx = make_context()

    t0 = time.perf_counter()
    traces: dict[str, list] = {}
    trace_s = 0.0
    kinds = [layer_kind_key(config, i) for i in range(config.num_hidden_layers)]
    for i, kind in enumerate(kinds):
        if kind not in traces:
            t = time.perf_counter()
            traces[kind] = [(trace_layer(config, i, g.seq_len, g.kv_len, device="meta"), g.name)
                            for g in groups]
            trace_s += time.perf_counter() - t
    import_s = raise_s = 0.0
    ops = 0
    for i, kind in enumerate(kinds):
        t = time.perf_counter()
        module = import_module([(tr, name, tr.weights_for_layer(i)) for tr, name in traces[kind]])
        import_s += time.perf_counter() - t
        t = time.perf_counter()
        run_pipeline(module, "axh-raise", ctx)
        raise_s += time.perf_counter() - t
        ops += sum(1 for _ in module.walk())
    total = time.perf_counter() - t0

    table = Table(title=f"import of {config.model_type}, {config.num_hidden_layers} layers, "
                  f"groups {[g.name for g in groups]}")
    for col in ("stage", "seconds", "note"):
        table.add_column(col)
    table.add_row("trace (meta)", f"{trace_s:.2f}", f"{len(traces)} layer kind(s) x "
                  f"{len(groups)} groups")
    table.add_row("import", f"{import_s:.2f}", f"{config.num_hidden_layers} layers")
    table.add_row("raise (axh-raise)", f"{raise_s:.2f}", f"{ops} ops after raising")
    table.add_row("total", f"{total:.2f}", f"peak RSS {peak_rss_mb():.0f} MB")
    Console().print(table)


if __name__ == "__main__":
    main()
