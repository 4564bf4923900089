"""Benchmark: `axc estimate` (real compiled schedules) against every board measurement.

    .venv/bin/python bench/estimate_boards.py [--boards ../shared/boards]

For each row of shared/BOARDS.md the configuration is compiled through the build's
pipelines on the meta device and replayed by the timing model; the table shows measured
and predicted TTFT (128-token prefill) and decode tokens/s with the relative error, and
decode as a fraction of the DDR roofline the chip file declares (issue 5 asks for >= 80%).
`bench/calibrate.py --compiled` fits the chip parameters on these same programs (compiled
once with the previous chip files); this script recompiles with the committed files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

#: (chip, board config folder, label, TTFT ms, decode tokens/s) from shared/BOARDS.md
ROWS = [
    ("AX650", "qwen2-0.5b", "Qwen2-0.5B-Instruct", 129.16, 27.22),
    ("AX650", "minicpm-2.4b-shapes", "MiniCPM-V 2.0 LM", 520.94, 5.55),
    ("AX650", "qwen2.5-0.5b", "Qwen2.5-0.5B-Instruct", 124.0, 32.0),
    ("AX650", "qwen2.5-1.5b", "Qwen2.5-1.5B-Instruct", 230.0, 11.5),
    ("AX650", "llama3-8b", "Llama3-8B-Instruct", 880.0, 2.5),
    ("AX620E", "qwen2-0.5b", "Qwen2-0.5B-Instruct (AX630C)", 360.0, 10.7),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(__file__).resolve().parents[2] / "shared" / "boards"
    parser.add_argument("--boards", default=str(default))
    parser.add_argument("--strategy", default="onepass")
    args = parser.parse_args()

    from axc.chip import load_chip
    from axc.estimate import EstimateOptions, estimate

    table = Table(title="axc estimate vs board measurements (w8a16, prefill 128, kv 1023)")
    for col in ("chip", "model", "TTFT ms", "predicted", "err", "decode tok/s", "predicted",
                "err", "% roofline"):
        table.add_column(col, justify="right")
    worst = 0.0
    for chip, folder, label, ttft, tps in ROWS:
        report = estimate(Path(args.boards) / folder / "config.json",
                          EstimateOptions(chip=chip, strategy=args.strategy))
        e1 = report.ttft_ms / ttft - 1
        e2 = report.decode_tokens_per_s / tps - 1
        worst = max(worst, abs(e1), abs(e2))
        # decode against the DDR roofline the chip file declares: bytes read per token
        # (weights + the static KV cache) at the achievable bandwidth
        roofline = load_chip(chip).ddr_gbps * 1e9 / report.ddr_bytes_per_token
        table.add_row(chip, label, f"{ttft:.1f}", f"{report.ttft_ms:.1f}", f"{e1:+.1%}",
                      f"{tps:.2f}", f"{report.decode_tokens_per_s:.2f}", f"{e2:+.1%}",
                      f"{report.decode_tokens_per_s / roofline:.0%}")
    console = Console(width=160)
    console.print(table)
    console.print(f"largest error: {worst:.1%} (target: every row within 25%)")


if __name__ == "__main__":
    main()
