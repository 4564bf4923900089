"""Issue 8's bar on the real model: `axc run` on a default w8a16 build of Qwen2.5-Coder-0.5B
answers "who are you?" with the Hugging Face float32 model's first sentence (greedy), and
reports host and predicted figures. Skipped when the model is not pulled (CI)."""

from __future__ import annotations

import re

import pytest

from axc.cli import main as axc_main

REAL = "qwen2.5-coder-0.5b-instruct"
pytestmark = [pytest.mark.real_model, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_qwen():
    from axc.models import cached_model_dir

    folder = cached_model_dir(REAL)
    if folder is None:
        pytest.skip(f"{REAL} is not pulled")
    return folder


@pytest.fixture(scope="module")
def built(real_qwen, tmp_path_factory):
    """The README's build: w8a16 (s8 groups of 128), bf16 hidden, prefill 128, kv 1023."""
    from axc.build import BuildOptions, build

    out = tmp_path_factory.mktemp("real") / "out"
    build(BuildOptions(input_path=str(real_qwen), output_path=str(out), prefill_len=128,
                       kv_cache_len=1023, hidden_state_type="bf16", chip="AX650",
                       show_stages=False))
    return out


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def test_who_are_you_answers_as_transformers(real_qwen, built, capsys):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(real_qwen)
    text = tok.apply_chat_template([{"role": "user", "content": "who are you?"}],
                                   tokenize=False, add_generation_prompt=True)
    ids = tok(text, return_tensors="pt").input_ids
    model = AutoModelForCausalLM.from_pretrained(real_qwen, dtype=torch.float32).eval()
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=32, do_sample=False)
    expected = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)

    assert axc_main(["run", str(built), "--prompt", "who are you?",
                     "--max_new_tokens", "32"]) == 0
    captured = capsys.readouterr()
    answer = captured.out.strip()
    assert _first_sentence(answer) == _first_sentence(expected), (answer, expected)
    assert len(_first_sentence(answer)) > 20
    figures = re.search(r"host: ttft ([\d.]+) ms, avg ([\d.]+) token/s \| AX650 predicted: "
                        r"ttft ([\d.]+) ms, avg ([\d.]+) token/s", captured.err)
    assert figures and all(float(figures[i]) > 0 for i in range(1, 5)), captured.err
