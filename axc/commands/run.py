"""`axc run OUTPUT_DIR`: chat with a built model folder the way ax-llm's `main` does on a board.

One-shot with `--prompt`, otherwise a `prompt >> ` loop (`q` or Ctrl+D quits, Ctrl+C stops
the current answer). `--continue` keeps the conversation in the KV cache: each turn feeds
only the template text after the previous answer. The answer goes to stdout; the init lines
and the figures after each answer (TTFT and tokens/s on this host and predicted for the
chip) go to stderr, so `axc run out --prompt ... > answer.txt` keeps just the answer.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TextIO

from axc.errors import AxcError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output_dir", help="the folder written by axc llm_build")
    parser.add_argument("--prompt", default=None,
                        help="answer this prompt and exit (default: interactive)")
    parser.add_argument("--system_prompt", default=None,
                        help="system prompt (default: the chat template's own)")
    parser.add_argument("--continue", dest="continue_", action="store_true",
                        help="keep the conversation (the KV cache) across turns")
    parser.add_argument("--live_print", action="store_true",
                        help="print the answer token by token as it comes")
    parser.add_argument("--tokenizer", default=None,
                        help="tokenizer folder or http://host:port of `axc tokenizer-server` "
                        "(default: the tokenizer files in OUTPUT_DIR)")
    parser.add_argument("--post_config", default=None,
                        help="sampling settings (ax-llm's post_config.json; default: "
                        "OUTPUT_DIR's)")
    parser.add_argument("--max_new_tokens", type=int, default=None,
                        help="stop an answer after this many tokens (default: at EOS or when "
                        "the KV cache is full)")


def run(args: argparse.Namespace) -> int:
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise AxcError(f"--max_new_tokens {args.max_new_tokens}: must be >= 1")
    chat = ChatRunner.open(args)
    if args.prompt is not None:
        chat.answer(args.prompt)
        return 0
    return chat.interactive()


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class StreamPrinter:
    """Prints an answer as its tokens come, never half a UTF-8 character (as TextStreamer)."""

    def __init__(self, tokenizer, out: TextIO, live: bool):
        self.tokenizer, self.out, self.live = tokenizer, out, live
        self.ids: list[int] = []
        self._start = 0  # first id of the current line
        self._printed = 0  # characters of the current line already printed

    def push(self, token: int) -> None:
        self.ids.append(token)
        if not self.live:
            return
        text = self.tokenizer.decode(self.ids[self._start:])
        if text.endswith("\ufffd"):
            return  # a multi-byte character still incomplete
        self.out.write(text[self._printed:])
        self.out.flush()
        if text.endswith("\n"):
            self._start, self._printed = len(self.ids), 0
        else:
            self._printed = len(text)

    def finish(self) -> str:
        """The whole answer's text; printed now unless it was printed live."""
        text = self.tokenizer.decode(self.ids) if self.ids else ""
        if self.live:
            rest = self.tokenizer.decode(self.ids[self._start:]) if self.ids else ""
            self.out.write(rest[self._printed:])
        else:
            self.out.write(text)
        self.out.write("\n")
        self.out.flush()
        return text


class _StopFlag:
    """Ctrl+C during an answer: finish the current token, then stop (a second one aborts)."""

    def __init__(self):
        self.set = False
        self._old = None

    def __enter__(self):
        self.set = False
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None


class ChatRunner:
    """An engine, a tokenizer and the conversation state between turns."""

    def __init__(self, engine, tokenizer, args: argparse.Namespace):
        self.engine, self.tokenizer, self.args = engine, tokenizer, args
        self.chat = tokenizer.new_chat(args.system_prompt)
        self.last_reply: str | None = None  # the previous answer, when continuing
        self.out = sys.stdout

    @classmethod
    def open(cls, args: argparse.Namespace) -> ChatRunner:
        from pathlib import Path

        from rich.console import Console

        from axc.runtime.engine import LLMEngine
        from axc.runtime.tokenizer import load_tokenizer

        folder = Path(args.output_dir)
        if not folder.is_dir():
            raise AxcError(f"{folder}: no such folder; pass the output folder of axc llm_build")
        if args.post_config is not None and not Path(args.post_config).is_file():
            raise AxcError(f"--post_config {args.post_config}: no such file")
        tokenizer = load_tokenizer(args.tokenizer or folder)
        log(f"[I] tokenizer init ok ({args.tokenizer or folder})")
        engine = LLMEngine(folder, post_config=args.post_config,
                           console=Console(stderr=True), progress=True)
        if set(tokenizer.eos_ids) - set(engine.eos_ids):
            engine.eos_ids = set(engine.eos_ids) | set(tokenizer.eos_ids)
        cfg = engine.config
        log(f"[I] max_token_len : {engine.kv_cache_len}, prefill_token_num : "
            f"{engine.prefill_len}")
        for index, kv_len in engine.prefill_groups:
            log(f"[I] grp: {index}, prefill {engine.prefill_len} tokens after {kv_len} cached")
        log(f"[I] load config: {_sampling_text(engine.sampling)}")
        log(f"[I] LLM init ok ({cfg.get('model_type', '?')}, {cfg.get('weight_type', '?')}, "
            f"simulated {cfg.get('chip', '?')})")
        return cls(engine, tokenizer, args)

    # -- one turn

    def prompt_ids(self, text: str) -> list[int]:
        """The ids to feed for `text`, starting a new conversation unless continuing."""
        engine = self.engine
        if self.args.continue_ and self.last_reply is not None:
            ids = self.chat.turn(text, self.last_reply)
            pending = list(engine.pending)
            if engine.stop_reason == "eos" and pending and ids[:1] == pending[-1:]:
                ids = ids[1:]  # the EOS that closed the answer is already pending for the cache
            if engine.position + len(pending) + len(ids) <= engine.kv_cache_len:
                return ids
            log(f"[W] the KV cache is full ({engine.position} of {engine.kv_cache_len} tokens "
                "used): starting a new conversation")
        engine.reset()
        self.chat.reset(self.args.system_prompt)
        self.last_reply = None
        ids = self.chat.turn(text)
        if len(ids) > engine.kv_cache_len:
            raise AxcError(f"the prompt is {len(ids)} tokens; the KV cache holds "
                           f"{engine.kv_cache_len}: shorten it or rebuild with a larger "
                           "--kv_cache_len")
        return ids

    def answer(self, text: str) -> str:
        """Answer one prompt: print it (live or at the end), then the figures line."""
        engine = self.engine
        ids = self.prompt_ids(text)
        printer = StreamPrinter(self.tokenizer, self.out, self.args.live_print)
        stopped = False
        times: list[float] = []
        with _StopFlag() as flag:
            tokens = engine.generate(ids, max_new_tokens=self.args.max_new_tokens)
            try:
                for token in tokens:
                    times.append(time.perf_counter())
                    printer.push(token)
                    if flag.set:
                        stopped = True
                        break
            finally:
                tokens.close()
        if stopped and len(times) > 1:  # the engine only times answers it finishes
            engine.stats.decode_tokens_per_s = (len(times) - 1) / (times[-1] - times[0])
        reply = printer.finish()
        self.last_reply = reply
        reason = "stopped by Ctrl+C" if stopped else {
            "eos": "hit eos", "max_new_tokens": "hit --max_new_tokens",
            "kv_cache_full": "the KV cache is full"}.get(engine.stop_reason, "stopped")
        log(self.figures(reason))
        if engine.stop_reason == "kv_cache_full":
            log(f"[W] the KV cache is full ({engine.kv_cache_len} tokens): the answer stops "
                "here; the next prompt starts a new conversation")
            self.last_reply = None
        return reply

    def figures(self, reason: str) -> str:
        """ax-llm's end-of-answer line, with the chip's predicted figures next to the host's."""
        s = self.engine.stats
        chip = self.engine.config.get("chip", "chip")
        return (f"[N] {reason}, {s.prompt_tokens} prompt + {s.new_tokens} new tokens | host: "
                f"ttft {s.ttft_ms:.2f} ms, avg {s.decode_tokens_per_s:.2f} token/s | {chip} "
                f"predicted: ttft {s.predicted_ttft_ms:.2f} ms, avg "
                f"{s.predicted_decode_tokens_per_s:.2f} token/s")

    # -- the prompt loop

    def interactive(self) -> int:
        log('Type "q" to exit, Ctrl+c to stop current running')
        while True:
            try:
                text = input("prompt >> ")
            except EOFError:
                print(file=self.out)
                return 0
            except KeyboardInterrupt:
                print(file=self.out)
                log('[I] type "q" (or Ctrl+D) to exit')
                continue
            if text.strip() == "q":
                return 0
            if not text.strip():
                continue
            try:
                self.answer(text)
            except KeyboardInterrupt:  # a second Ctrl+C in the middle of a step
                print(file=self.out)
                log("[W] interrupted: the conversation starts afresh")
                self.engine.reset()
                self.last_reply = None
            except AxcError as err:
                log(f"axc: error: {err}")


def _sampling_text(sampling) -> str:
    on = []
    if sampling.enable_repetition_penalty:
        on.append(f"repetition_penalty {sampling.repetition_penalty} over "
                  f"{sampling.penalty_window}")
    if sampling.enable_temperature:
        on.append(f"temperature {sampling.temperature}")
    if sampling.enable_top_k_sampling:
        on.append(f"top_k {sampling.top_k}")
    if sampling.enable_top_p_sampling:
        on.append(f"top_p {sampling.top_p}")
    return ", ".join(on) if on else "greedy (every sampling switch off)"
