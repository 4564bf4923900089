"""`axc run` on a tiny built folder: one-shot answers equal transformers' greedy ones, the HTTP
tokenizer gives the same output, Ctrl+C stops an answer, a full KV cache is reported, and the
interactive mode keeps the conversation with `--continue` (driven through a pseudo-terminal).

The folder is a tiny random qwen2 (tests/tiny_models.py, seed 4: its greedy continuations
depend on the context) built at fp32 weights and hidden state, with the character-level
tokenizer and chat template tiny_models writes (the real Qwen tokenizer's ids do not fit a
128-token vocabulary).
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch
from tiny_models import make_tiny_model, tiny_model

from axc.cli import main as axc_main

SEED = 4
PREFILL, KV = 8, 48


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from axc.build import BuildOptions, build

    root = tmp_path_factory.mktemp("run")
    src = make_tiny_model("qwen2", root / "src", seed=SEED)
    out = root / "out"
    build(BuildOptions(input_path=str(src), output_path=str(out), prefill_len=PREFILL,
                       kv_cache_len=KV, last_kv_cache_len=[8, 16, 24], weight_type="fp32",
                       hidden_state_type="fp32"))
    return out


@pytest.fixture(scope="module")
def tok(folder):
    from axc.runtime.tokenizer import LocalTokenizer

    return LocalTokenizer(folder)


def hf_greedy(ids: list[int], n: int) -> list[int]:
    model = tiny_model("qwen2", SEED)
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    return out[0, len(ids):].tolist()


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = axc_main(["run", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_one_shot_answers_as_transformers(folder, tok, capsys):
    ids = tok.encode_chat("hello there")
    assert len(ids) > PREFILL  # two prefill chunks: group 1, then the kv-8 group
    expected = hf_greedy(ids, 6)
    code, out, err = run_cli(capsys, folder, "--prompt", "hello there", "--max_new_tokens", 6)
    assert code == 0
    assert out == tok.decode(expected) + "\n"
    figures = re.search(r"\[N\] hit --max_new_tokens, (\d+) prompt \+ 6 new tokens \| host: "
                        r"ttft ([\d.]+) ms, avg ([\d.]+) token/s \| AX650 predicted: ttft "
                        r"([\d.]+) ms, avg ([\d.]+) token/s", err)
    assert figures and int(figures[1]) == len(ids)
    assert all(float(figures[i]) > 0 for i in range(2, 6))
    assert "init post axmodel ok" in err


def test_live_print_and_http_tokenizer_give_the_same_output(folder, capsys):
    from axc.runtime.tokenizer_server import make_server

    base = ["--prompt", "abc", "--max_new_tokens", 5]
    local = run_cli(capsys, folder, *base)
    server = make_server(folder, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = run_cli(capsys, folder, *base, "--live_print", "--tokenizer", server.url)
    finally:
        server.shutdown()
        server.server_close()
    assert local[0] == remote[0] == 0
    assert local[1] == remote[1] and local[1].strip()


def test_kv_cache_full_is_reported(folder, capsys):
    code, out, err = run_cli(capsys, folder, "--prompt", "q")
    assert code == 0
    assert "the KV cache is full (48 tokens)" in err
    code, out, err = run_cli(capsys, folder, "--prompt", "x" * 60)
    last = err.rstrip("\n").split("\n")[-1]
    assert code == 1 and last.startswith("axc: error: the prompt is") and "holds 48" in last


def test_ctrl_c_stops_the_answer_and_the_conversation_goes_on(folder, tok, capsys):
    """SIGINT during an answer stops it after the current token; --continue then continues."""
    from argparse import Namespace

    from axc.commands.run import ChatRunner

    args = Namespace(output_dir=str(folder), prompt=None, system_prompt=None, continue_=True,
                     live_print=True, tokenizer=None, post_config=None, max_new_tokens=None)
    runner = ChatRunner.open(args)

    class Interrupting:
        """stdout that sends Ctrl+C to this process after the second token is printed."""

        writes = 0

        def write(self, text):
            self.writes += 1
            if self.writes == 2:
                os.kill(os.getpid(), signal.SIGINT)

        def flush(self):
            pass

    runner.out = Interrupting()
    first = runner.answer("hi")
    assert runner.engine.stop_reason == "interrupted"
    assert len(tok.encode(first)) <= 3
    assert "stopped by Ctrl+C" in capsys.readouterr().err
    held = runner.engine.position + len(runner.engine.pending)
    runner.out = sys.stdout
    runner.args.max_new_tokens = 2
    runner.answer("go")
    assert runner.engine.stats.prompt_tokens + held <= runner.engine.position + 1
    assert runner.engine.position > held  # the cache grew: the conversation was kept


def _read_until(fd: int, pattern: str, timeout: float = 120.0) -> str:
    buf = ""
    end = time.monotonic() + timeout
    while pattern not in buf:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {pattern!r} within {timeout} s; got {buf!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            buf += chunk.decode("utf-8", "replace")
    return buf


def test_interactive_continue_through_a_pty(folder, tok):
    """Two turns with --continue, then q: the second answer is the one the model gives to the
    whole conversation at once, not the one it gives the second prompt alone."""
    from axc.runtime.engine import LLMEngine

    n = 5
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "axc.cli", "run", str(folder), "--continue", "--live_print",
         "--max_new_tokens", str(n)],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
        env={**os.environ, "COLUMNS": "200", "TERM": "dumb"})
    os.close(slave)
    try:
        _read_until(master, "prompt >> ")
        os.write(master, b"hello\n")
        turn1 = _read_until(master, "prompt >> ")
        os.write(master, b"and again\n")
        turn2 = _read_until(master, "prompt >> ")
        os.write(master, b"q\n")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)

    def answer(transcript: str, prompt: str) -> str:
        lines = transcript.replace("\r", "").split("\n")
        return lines[lines.index(prompt) + 1]

    # what the conversation should hold, computed without the interactive loop
    chat = tok.new_chat()
    ids1 = chat.turn("hello")
    a1 = hf_greedy(ids1, n)
    ids2 = chat.turn("and again", last_reply=tok.decode(a1))
    whole = ids1 + a1 + ids2
    engine = LLMEngine(folder, progress=False)
    a2 = list(engine.generate(whole, max_new_tokens=n))
    engine.reset()
    alone = list(engine.generate(tok.encode_chat("and again"), max_new_tokens=n))

    assert answer(turn1, "hello") == tok.decode(a1)
    assert answer(turn2, "and again") == tok.decode(a2)
    assert a2 != alone  # the second answer depends on the first turn
    assert turn2.count("[N] hit --max_new_tokens") == 1
