"""`axc estimate`'s s8 scale groups: 0 (default) models the pulsar2 builds of BOARDS.md (one
scale per output channel), N models `axc llm_build`'s grouped s8; the lm_head stays per
channel either way, as the build keeps it."""

from __future__ import annotations

from tiny_models import make_tiny_model, tiny_config

from axc.estimate import EstimateOptions, _weight_bytes, compile_model


def test_s8_groups_add_exactly_their_scales_and_leave_the_post_layer(tmp_path):
    folder = make_tiny_model("qwen2", tmp_path / "q")
    config = tiny_config("qwen2")
    compiled = {g: compile_model(folder / "config.json",
                                 EstimateOptions(s8_group_size=g, prefill_len=8,
                                                 kv_cache_len=32, strategy="heuristic"))
                for g in (0, 32)}
    h, inter = config.hidden_size, config.intermediate_size
    q = config.num_attention_heads * (h // config.num_attention_heads)
    kv = 2 * config.num_key_value_heads * (h // config.num_attention_heads)
    # (rows, inputs) of q; k and v; o; gate and up; down
    linears = [(q, h), (kv, h), (h, q), (2 * inter, h), (h, inter)]
    extra_scales = sum(2 * n * (k // 32 - 1) for n, k in linears)  # bf16, G - 1 more each
    (_, _, per_channel), = compiled[0].layers
    (_, _, grouped), = compiled[32].layers
    assert _weight_bytes(grouped) - _weight_bytes(per_channel) == extra_scales
    assert _weight_bytes(compiled[32].post) == _weight_bytes(compiled[0].post)
    assert "s8g32" in str(grouped) and "s8g32" not in str(compiled[32].post)
