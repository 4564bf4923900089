"""Issue 7's Gemma bar on the real model: Gemma 3 270M (a base model) built at the default
w8a16 (s8 groups of 128, bf16 hidden state), simulated greedily on plain-text prompts, gives
the Hugging Face float32 model's first 8 tokens. Skipped when the model is not pulled (CI)."""

from __future__ import annotations

import pytest

REAL = "gemma-3-270m"
PROMPTS = ("The capital of France is", "def fibonacci(n):")
pytestmark = [pytest.mark.real_model, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_gemma():
    from axc.models import cached_model_dir

    folder = cached_model_dir(REAL)
    if folder is None:
        pytest.skip(f"{REAL} is not pulled")
    return folder


@pytest.fixture(scope="module")
def built(real_gemma, tmp_path_factory):
    from axc.build import BuildOptions, build

    out = tmp_path_factory.mktemp("gemma") / "out"
    build(BuildOptions(input_path=str(real_gemma), output_path=str(out), prefill_len=128,
                       kv_cache_len=1023, hidden_state_type="bf16", chip="AX650",
                       show_stages=False))
    return out


@pytest.mark.parametrize("prompt", PROMPTS)
def test_first_8_greedy_tokens_equal_transformers(real_gemma, built, prompt):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from axc.runtime.engine import LLMEngine

    tok = AutoTokenizer.from_pretrained(real_gemma)
    ids = tok(prompt)["input_ids"]  # (with Gemma's <bos>, as the build's check adds it)
    model = AutoModelForCausalLM.from_pretrained(real_gemma, dtype=torch.float32).eval()
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False)
    expected = out[0, len(ids):].tolist()
    engine = LLMEngine(built, progress=False)
    got = list(engine.generate(ids, max_new_tokens=8))
    assert got == expected, (tok.decode(got), tok.decode(expected))
