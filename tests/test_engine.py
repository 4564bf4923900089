"""LLMEngine (the ax-llm flow on the simulator) and its sampler, on tiny built models:
logits and greedy tokens against transformers, chunked prefill == token-by-token, stop
reasons, multi-turn cache consistency, and the sampling rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from rich.console import Console
from tiny_models import make_tiny_model

from axc.build import BuildOptions, build
from axc.errors import AxcError
from axc.runtime.engine import LLMEngine
from axc.runtime.sampling import Sampler, SamplingConfig

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115


def _cos(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def gemma(tmp_path_factory):
    """Tiny gemma3 (sliding window 8 + a global layer) built at fp32 weights and hidden state,
    with prefill groups at kv 0 and 16: the engine must then agree with transformers."""
    root = tmp_path_factory.mktemp("gemma")
    model_dir = make_tiny_model("gemma3_text", root / "model")
    out = root / "out"
    build(BuildOptions(input_path=str(model_dir), output_path=str(out), prefill_len=16,
                       kv_cache_len=64, last_kv_cache_len=[16], weight_type="fp32",
                       hidden_state_type="fp32", show_stages=False), QUIET)
    return model_dir, out


@pytest.fixture(scope="module")
def qwen_w8(tmp_path_factory):
    root = tmp_path_factory.mktemp("qwen")
    model_dir = make_tiny_model("qwen2", root / "model")
    out = root / "out"
    build(BuildOptions(input_path=str(model_dir), output_path=str(out), prefill_len=16,
                       kv_cache_len=64, last_kv_cache_len=[16, 32], show_stages=False),
          QUIET)
    return model_dir, out


PROMPT = [int(i) for i in np.random.default_rng(0).integers(3, 120, size=40)]


def test_engine_matches_transformers(gemma):
    """30 prompt tokens (chunks at positions 0 and 16, the second one padded), then decode:
    logits at every position and the greedy continuation equal transformers' float32."""
    from transformers import AutoModelForCausalLM

    model_dir, out = gemma
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    engine = LLMEngine(out, progress=False)
    with torch.no_grad():
        hf = model.generate(torch.tensor([PROMPT[:30]]), max_new_tokens=10, do_sample=False,
                            output_logits=True, return_dict_in_generate=True)
    expected = hf.sequences[0, 30:].tolist()
    got = list(engine.generate(PROMPT[:30], max_new_tokens=10))
    assert got == expected
    assert engine.stop_reason == "max_new_tokens" and engine.position == 30 + 9
    # teacher-forced logits, position by position, through the cache the engine filled
    engine.reset()
    first = engine.prefill(PROMPT[:30])
    assert _cos(first, hf.logits[0][0]) > 0.9999  # the lm_head is bf16 (post_weight_type)
    for step, token in enumerate(expected[:-1], start=1):
        assert _cos(engine.step(token), hf.logits[step][0]) > 0.9999


def test_chunked_prefill_equals_token_by_token(qwen_w8):
    """At w8a16 numerics, a prompt through the prefill groups (0, 16, 32) gives the same
    cache and continuation as the same prompt one token at a time through decode."""
    _, out = qwen_w8
    chunked = LLMEngine(out, progress=False)
    single = LLMEngine(out, progress=False)
    single.prefill_groups = []  # every token through the decode group
    a, b = chunked.prefill(PROMPT), single.prefill(PROMPT)
    assert _cos(a, b) > 0.9999
    n = len(PROMPT)
    assert _cos(chunked.k_cache[:, :n], single.k_cache[:, :n]) > 0.9999
    assert list(chunked.generate([], max_new_tokens=8)) == list(single.generate([],
                                                                              max_new_tokens=8))


def test_multi_turn_keeps_the_cache_consistent(qwen_w8):
    """Two turns with pending tokens carried over == one fresh run of the whole conversation."""
    _, out = qwen_w8
    engine = LLMEngine(out, progress=False)
    turn1 = list(engine.generate(PROMPT[:10], max_new_tokens=3))
    turn2 = list(engine.generate(PROMPT[10:20], max_new_tokens=4))
    assert engine.position == 10 + 3 + 10 + 3  # the last answer token is pending
    fresh = LLMEngine(out, progress=False)
    again = list(fresh.generate(PROMPT[:10] + turn1 + PROMPT[10:20], max_new_tokens=4))
    assert again == turn2


def test_stop_reasons(qwen_w8):
    _, out = qwen_w8
    engine = LLMEngine(out, progress=False)
    first = list(engine.generate(PROMPT[:5], max_new_tokens=1))[0]
    engine.reset()
    engine.eos_ids = {first}
    assert list(engine.generate(PROMPT[:5])) == [] and engine.stop_reason == "eos"
    assert engine.pending == [first] and engine.position == 5
    engine.reset()
    engine.eos_ids = set()
    tokens = list(engine.generate(PROMPT[:40] + PROMPT[:20]))  # 60 of 64 rows
    assert engine.stop_reason == "kv_cache_full" and len(tokens) == 5
    assert engine.position == 64
    with pytest.raises(AxcError, match="do not fit in the KV cache"):
        engine.prefill([5])
    engine.reset()
    gen = engine.generate(PROMPT[:5], max_new_tokens=10)
    next(gen)
    gen.close()  # the caller stops early (Ctrl+C in `axc run`)
    assert engine.stop_reason == "interrupted" and len(engine.pending) == 1


def test_stats_and_config(qwen_w8):
    _, out = qwen_w8
    engine = LLMEngine(out, progress=False)
    list(engine.generate(PROMPT[:20], max_new_tokens=4))
    s = engine.stats
    assert (s.prompt_tokens, s.new_tokens) == (20, 4)
    assert s.ttft_ms > 0 and s.decode_tokens_per_s > 0
    assert s.predicted_ttft_ms > 0 and s.predicted_decode_tokens_per_s > 0
    config = json.loads((out / "config.json").read_text())
    groups = config["predicted_ms"]["groups"]
    # a 20-token prompt: one chunk through group 1 and 4 tokens through group 2 (kv 16)
    assert s.predicted_ttft_ms == pytest.approx(groups["1"] + groups["2"] +
                                                config["predicted_ms"]["post"])
    assert engine.eos_ids == {2} and engine.bos_id == 1


def test_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(AxcError, match="no config.json"):
        LLMEngine(tmp_path, progress=False)


# -- sampling ------------------------------------------------------------------------------


def test_sampling_rules(tmp_path):
    logits = np.array([1.0, 3.0, 2.9, -1.0, 0.5])
    assert Sampler().sample(logits) == 1  # all switches off: greedy
    topk1 = SamplingConfig(enable_temperature=True, temperature=0.7, enable_top_k_sampling=True,
                           top_k=1)
    assert all(Sampler(topk1.with_seed(s)).sample(logits) == 1 for s in range(5))
    hot = SamplingConfig(enable_temperature=True, temperature=5.0, seed=3)
    draws = [Sampler(hot).sample(logits) for _ in range(3)]
    assert len(set(draws)) == 1  # seeded: the same draw each time
    sampler = Sampler(hot)
    assert len({sampler.sample(logits) for _ in range(200)}) == 5  # hot: every token shows
    top2 = Sampler(SamplingConfig(enable_temperature=True, temperature=5.0,
                                  enable_top_k_sampling=True, top_k=2))
    assert {top2.sample(logits) for _ in range(200)} == {1, 2}
    nucleus = Sampler(SamplingConfig(enable_temperature=True, enable_top_p_sampling=True,
                                     top_p=0.05))
    assert {nucleus.sample(logits) for _ in range(50)} == {1}
    penalty = Sampler(SamplingConfig(enable_repetition_penalty=True, repetition_penalty=2.0,
                                     penalty_window=2))
    assert penalty.sample(logits, history=[0, 1]) == 2  # 3.0 / 2 < 2.9
    assert penalty.sample(logits, history=[1, 0, 4]) == 1  # token 1 left the window
    ids, probs = np.array([7, 9, 4]), np.array([0.2, 0.5, 0.3])
    assert Sampler().sample_candidates(ids, probs) == 9
    path = tmp_path / "post_config.json"
    path.write_text(json.dumps({"enable_top_k_sampling": True, "top_k": 0}))
    with pytest.raises(AxcError, match="top_k must be >= 1"):
        SamplingConfig.from_post_config(path)
    path.write_text("{not json")
    with pytest.raises(AxcError, match="unreadable post_config JSON"):
        SamplingConfig.from_post_config(path)
