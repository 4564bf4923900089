"""Named pipelines: one name for a list of passes, expanded before the pipeline is parsed.

`axc-opt -p llm-decode-layer` and the build use the same expansion, so what a test runs is
what `axc llm_build` runs. A named pipeline takes options like a pass
(`-p axh-cleanup{...}`); each entry maps its options to a pipeline string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.utils.arg_spec import parse_pipeline


@dataclass(frozen=True)
class NamedPipeline:
    name: str
    summary: str
    expand: Callable[[dict[str, object]], str]
    """options (pipeline-spec parameters, '-' kept) -> pipeline text"""


def _opt(options: dict[str, object], key: str, default: object) -> object:
    value = options.get(key)
    if value is None:
        return default
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


def _quantize_text(o: dict[str, object], weight_key: str = "weight-type",
                   s8_groups: bool = True) -> str:
    """quantize + fold-constant-casts; `s8_groups=False` (the post layer) keeps s8 per
    channel whatever `s8-group-size` says, as the build does for the lm_head."""
    wt, gs = _opt(o, weight_key, "s8"), _opt(o, "group-size", 128)
    ht, method = _opt(o, "hidden-type", "bf16"), _opt(o, "quant-method", "auto")
    s8 = _opt(o, "s8-group-size", 0) if s8_groups else 0
    return (f"quantize{{weight-type={wt} group-size={gs} hidden-type={ht} method={method}"
            + (f" s8-group-size={s8}" if s8 else "") + "},fold-constant-casts")


def _backend_text(o: dict[str, object]) -> str:
    """axh-quantized -> scheduled axnpu: pulsar2's build stages, in order."""
    chip, mode = _opt(o, "chip", "AX650"), _opt(o, "npu-mode", "")
    strategy = _opt(o, "strategy", "greedy")
    target = f'chip="{chip}"' + (f' npu_mode="{mode}"' if mode else "")
    return (f"convert-axh-to-axnpu{{{target}}},axnpu-tile,axnpu-build-ops,"
            f"axnpu-insert-ddr-swap,axnpu-calc-deps,axnpu-assign-eu{{strategy={strategy} "
            f"{target.replace('npu_mode', 'npu-mode')}}}")


def _llm_layer_quantize(o: dict[str, object]) -> str:
    # fuse-qkv / fuse-gate-up are not in the default pipeline yet: with today's tiling the
    # fused [T, 2 x intermediate] prefill activation is one temporary that the DDR-swap pass
    # spills (prefill 12.9 ms instead of 6.9 ms per Qwen 0.5B layer on AX650).
    return f"{_quantize_text(o)},canonicalize,cse,dce"


def _llm_post_quantize(o: dict[str, object]) -> str:
    topk = int(_opt(o, "post-topk", 0) or 0)  # type: ignore[arg-type]
    text = _quantize_text(o, "post-weight-type", s8_groups=False)
    if topk:
        text += f",post-topk{{k={topk}}}"
    return f"{text},canonicalize,cse,dce"


def _llm_layer(o: dict[str, object]) -> str:
    return f"{_llm_layer_quantize(o)},{_backend_text(o)}"


def _llm_post(o: dict[str, object]) -> str:
    return f"{_llm_post_quantize(o)},{_backend_text(o)}"


NAMED_PIPELINES: dict[str, NamedPipeline] = {
    p.name: p
    for p in [
        NamedPipeline(
            "axh-cleanup",
            "canonicalize axh (fold reshape/transpose chains), CSE and remove dead ops",
            lambda o: "canonicalize,cse,dce",
        ),
        NamedPipeline(
            "axh-raise",
            "raise imported ATen shapes to axh's transformer ops (linear, rms_norm, rope, "
            "attention, swiglu/geglu)",
            lambda o: "canonicalize,cse,fuse-linear,fuse-rms-norm,fuse-rope,fuse-attention,"
            "fuse-swiglu,canonicalize,cse,dce",
        ),
        NamedPipeline(
            "llm-layer-quantize",
            "the weight half of llm-layer: quantize (needs the layer's weight store) and "
            "clean up; options weight-type, group-size, s8-group-size, hidden-type, quant-method",
            _llm_layer_quantize,
        ),
        NamedPipeline(
            "llm-post-quantize",
            "the weight half of llm-post: quantize, post-topk, clean up; options "
            "post-weight-type, post-topk, hidden-type",
            _llm_post_quantize,
        ),
        NamedPipeline(
            "llm-backend",
            "quantized axh -> scheduled axnpu (pulsar2's build stages), independent of weight "
            "values, so a compile cache can share it; options chip, npu-mode, strategy",
            _backend_text,
        ),
        NamedPipeline(
            "llm-layer",
            "a raised decoder layer (all shape groups) -> scheduled axnpu; options weight-type, "
            "group-size, hidden-type, chip, npu-mode, strategy",
            _llm_layer,
        ),
        NamedPipeline(
            "llm-post",
            "the raised post layer (final norm + lm_head) -> scheduled axnpu; options "
            "post-weight-type, post-topk, hidden-type, chip, npu-mode, strategy",
            _llm_post,
        ),
    ]
}


def expand_pipeline(text: str, _depth: int = 0) -> str:
    """Replace every named pipeline in `text` by its passes (recursively)."""
    if _depth > 8:
        raise ValueError("named pipelines nest more than 8 deep (a cycle?)")
    parts: list[str] = []
    for spec in parse_pipeline(text):
        named = NAMED_PIPELINES.get(spec.name)
        if named is None:
            parts.append(str(spec))
        else:
            expanded = named.expand(dict(spec.parameters))
            if expanded:
                parts.append(expand_pipeline(expanded, _depth + 1))
    return ",".join(parts)
