"""`axc estimate`: predicted board speed of a model from its configuration alone.

The model is built on the meta device (no weights), each distinct layer kind is traced,
imported, raised and compiled through the same `llm-layer` / `llm-post` pipelines the build
runs, and the timing model replays the schedules against the chip file. Layers of one kind
compile to the same program up to weight names, so one compile per kind serves them all.

TTFT is a full `prefill_len` prefill through every layer plus the post layer; decode
tokens/s is one over (every layer's decode group + the post layer).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from axc.errors import AxcError


@dataclass(frozen=True)
class EstimateOptions:
    chip: str = "AX650"
    npu_mode: str | None = None
    weight_type: str = "s8"
    group_size: int = 128
    hidden_type: str = "bf16"
    post_weight_type: str = "s8"
    prefill_len: int = 128
    kv_cache_len: int = 1023
    strategy: str = "greedy"
    s8_group_size: int = 0
    """0: s8 with one scale per output channel, as the pulsar2 builds of the board rows;
    128 models `axc llm_build`'s default s8 groups"""

    def pipeline_options(self) -> str:
        mode = f' npu-mode="{self.npu_mode}"' if self.npu_mode else ""
        groups = f" s8-group-size={self.s8_group_size}" if self.s8_group_size else ""
        return (f'weight-type={self.weight_type} post-weight-type={self.post_weight_type} '
                f'group-size={self.group_size}{groups} hidden-type={self.hidden_type} '
                f'chip="{self.chip}"{mode} strategy={self.strategy}')


@dataclass
class EstimateReport:
    model_type: str
    layers: int
    chip: str
    npu_mode: str
    options: dict
    decode_layer_ms: dict[str, float] = field(default_factory=dict)  # per layer kind
    prefill_layer_ms: dict[str, float] = field(default_factory=dict)
    post_ms: float = 0.0
    ttft_ms: float = 0.0
    decode_ms_per_token: float = 0.0
    decode_tokens_per_s: float = 0.0
    weight_bytes: int = 0
    kv_cache_bytes: int = 0
    embedding_bytes: int = 0
    ddr_bytes_per_token: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def _weight_bytes(program) -> int:
    """Weight bytes of a program; groups share their weights (same buffer in every group)."""
    sizes = {b.sym_name.data: b.view.rows * b.view.row_bytes for g in program.groups()
             for b in g.buffers()
             if b.kind.data == "weight"}
    return sum(sizes.values())


@dataclass
class CompiledModel:
    """The compiled programs of a model: one per distinct layer kind (with how many layers
    share it) and the post program. Replaying them on a chip gives the estimate, so a
    calibration can compile once and replay under many parameter sets."""

    llm: object
    options: EstimateOptions
    layers: list[tuple[str, int, object]]  # (kind name, layers of this kind, program)
    post: object


def compile_model(input_path: str | Path, options: EstimateOptions) -> CompiledModel:
    """Compile one layer per kind and the post layer through the build's pipelines."""
    from axc.frontend.config import LLMConfig
    from axc.frontend.pipeline import import_layer, import_post, run_pipeline, shape_groups

    if options.prefill_len > options.kv_cache_len:
        raise AxcError(f"--prefill_len {options.prefill_len} exceeds --kv_cache_len "
                       f"{options.kv_cache_len}: the prefill must fit in the KV cache")
    llm = LLMConfig.from_pretrained_dir(input_path)
    config = llm.hf
    kinds = [llm.layer_kinds()[i] for i in range(llm.num_hidden_layers)]
    groups = shape_groups(options.prefill_len, options.kv_cache_len)
    layers = []
    for kind, n in Counter(kinds).items():
        module = import_layer(config, kinds.index(kind), groups)
        run_pipeline(module, f"llm-layer{{{options.pipeline_options()}}}")
        name = f"{kind.attention}" + (f"@{kind.sliding_window}" if kind.sliding_window else "")
        layers.append((name, n, next(iter(module.ops))))
    post = import_post(config)
    run_pipeline(post, f"llm-post{{{options.pipeline_options()}}}")
    return CompiledModel(llm, options, layers, next(iter(post.ops)))


def replay(compiled: CompiledModel, chip) -> EstimateReport:
    """Replay compiled programs on `chip` (a `Chip`, e.g. with refitted parameters)."""
    from axc.sim.timing import simulate_program

    llm, options = compiled.llm, compiled.options
    report = EstimateReport(llm.model_type, llm.num_hidden_layers, chip.name, chip.npu_mode,
                            asdict(options))
    weight_bytes = 0
    for name, n, program in compiled.layers:
        timing = simulate_program(program, chip)
        report.decode_layer_ms[name] = timing["decode"].time_ms
        report.prefill_layer_ms[name] = timing["prefill"].time_ms
        report.decode_ms_per_token += n * timing["decode"].time_ms
        report.ttft_ms += n * timing["prefill"].time_ms
        weight_bytes += n * _weight_bytes(program)
    report.post_ms = next(iter(simulate_program(compiled.post, chip).values())).time_ms
    report.ttft_ms += report.post_ms
    report.decode_ms_per_token += report.post_ms
    report.decode_tokens_per_s = 1000.0 / report.decode_ms_per_token
    report.weight_bytes = weight_bytes + _weight_bytes(compiled.post)
    kv_dim = llm.num_key_value_heads * llm.head_dim
    report.kv_cache_bytes = llm.num_hidden_layers * 2 * options.kv_cache_len * kv_dim * 2
    report.embedding_bytes = llm.vocab_size * llm.hidden_size * 2
    report.ddr_bytes_per_token = report.weight_bytes + report.kv_cache_bytes
    return report


def estimate(input_path: str | Path, options: EstimateOptions) -> EstimateReport:
    """Compile one layer per kind and the post layer; replay them on the chip."""
    from axc.chip import load_chip

    chip = load_chip(options.chip, options.npu_mode)
    return replay(compile_model(input_path, options), chip)


def print_report(report: EstimateReport, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{report.model_type}, {report.layers} layers on {report.chip} "
                  f"({report.npu_mode}), w={report.options['weight_type']}, "
                  f"prefill {report.options['prefill_len']}, kv {report.options['kv_cache_len']}")
    table.add_column("figure")
    table.add_column("predicted", justify="right")
    table.add_row("TTFT (full prefill)", f"{report.ttft_ms:.1f} ms")
    table.add_row("decode", f"{report.decode_tokens_per_s:.2f} tokens/s "
                  f"({report.decode_ms_per_token:.2f} ms/token)")
    for kind, ms in report.decode_layer_ms.items():
        table.add_row(f"  decode layer ({kind})", f"{ms:.3f} ms")
        table.add_row(f"  prefill layer ({kind})", f"{report.prefill_layer_ms[kind]:.3f} ms")
    table.add_row("  post layer", f"{report.post_ms:.3f} ms")
    mib = 1 << 20
    table.add_row("weights in CMM", f"{report.weight_bytes / mib:.1f} MiB")
    table.add_row("KV cache in CMM", f"{report.kv_cache_bytes / mib:.1f} MiB")
    table.add_row("CMM total (weights + KV cache)",
                  f"{(report.weight_bytes + report.kv_cache_bytes) / mib:.1f} MiB")
    table.add_row("embedding table (host, bf16)", f"{report.embedding_bytes / mib:.1f} MiB")
    table.add_row("DDR read per decoded token", f"{report.ddr_bytes_per_token / mib:.1f} MiB")
    console.print(table)
