"""The ax-llm flow over a `llm_build` output folder, on the functional simulator.

What ax-llm does on a board, step for step: read `config.json`, open every layer's axmodel
("init N axmodel ok"), the post model and the mmapped bf16 embedding table; prefill the
prompt in chunks of `prefill_len` through the prefill groups, decode one token at a time
through group 0 with the KV cache the runtime owns, run the post model and sample.

Cache layout (DESIGN.md section 5): cache row r holds position r, for every layer. A layer
group takes the first `kv_len` rows of the cache and an additive mask (0 visible, -65536
hidden) over those rows plus the new ones, and returns the new rows only, which the engine
writes at their positions.

Prefill. A chunk of `prefill_len` tokens starting at position s runs through the prefill
group with the smallest kv length >= s (group 1, kv 0, for s = 0; the `--last_kv_cache_len`
groups after it). A short last chunk is padded to `prefill_len` as ax-llm does (the padding
rows come after the real ones, so the causal mask keeps them out of the real rows' results;
their outputs are dropped). Tokens that no prefill group can take (the position is past
every group's kv length, or the chunk would run past the cache) go one at a time through
the decode group, which gives the same numbers row for row.

Multi-turn. `generate` yields tokens as they are chosen. The last token it chooses (EOS
included) has not run through the layers yet: it is kept as `pending` and goes into the
cache first when the next `prefill`/`generate` call continues the conversation, so the cache
always ends up holding exactly the tokens of the conversation. `reset()` forgets everything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from axc.errors import AxcError
from axc.numerics import bf16_to_f32
from axc.runtime.sampling import Sampler, SamplingConfig

MASK_VALUE = -65536.0
LAYER_OUTPUTS = ["output", "K_cache_out", "V_cache_out"]
STOP_REASONS = ("eos", "kv_cache_full", "max_new_tokens", "interrupted")


@dataclass
class GenerationStats:
    """Figures of the last `generate` call: measured on this host and predicted for the chip."""

    prompt_tokens: int = 0
    new_tokens: int = 0
    ttft_ms: float = 0.0
    decode_tokens_per_s: float = 0.0
    predicted_ttft_ms: float = 0.0
    predicted_decode_tokens_per_s: float = 0.0

    def line(self) -> str:
        """One line in ax-llm's manner."""
        return (f"ttft: {self.ttft_ms:.2f} ms, {self.decode_tokens_per_s:.2f} token/s on this "
                f"host | predicted on chip: ttft {self.predicted_ttft_ms:.2f} ms, "
                f"{self.predicted_decode_tokens_per_s:.2f} token/s")


def runtime_mask(seq_len: int, kv_len: int, start: int) -> np.ndarray:
    """The ax-llm mask [1, T, kv_len + T] (float32 0 / MASK_VALUE): cache rows < start and
    the causal part of the new rows visible. The one definition; tracing uses it too."""
    history = np.broadcast_to(np.arange(kv_len) < start, (seq_len, kv_len))
    new = np.arange(seq_len)[None, :] <= np.arange(seq_len)[:, None]
    visible = np.concatenate([history, new], axis=1)
    return np.where(visible, 0.0, MASK_VALUE).astype(np.float32)[None]


def load_folder_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise AxcError(f"{folder}: no config.json; pass the output folder of axc llm_build")
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise AxcError(f"{path}: unreadable JSON ({err})") from None
    missing = [k for k in ("template_filename_axmodel", "axmodel_num", "filename_post_axmodel",
                           "filename_tokens_embed", "tokens_embed_num", "tokens_embed_size",
                           "kv_cache_len", "prefill_len", "prefill_groups") if k not in config]
    if missing:
        raise AxcError(f"{path}: missing {', '.join(missing)}; rebuild the folder with a "
                       "current axc llm_build")
    return config


class LLMEngine:
    """One model folder loaded for inference: layers, post model, embeddings, KV cache."""

    def __init__(self, folder: str | Path, *, post_config: str | Path | None = None,
                 console=None, progress: bool = True) -> None:
        from axc.runtime.session import InferenceSession

        self.folder = Path(folder)
        self.config = load_folder_config(self.folder)
        cfg = self.config
        self.kv_cache_len = int(cfg["kv_cache_len"])
        self.prefill_len = int(cfg["prefill_len"])
        self.hidden_size = int(cfg["tokens_embed_size"])
        self.vocab_size = int(cfg["tokens_embed_num"])
        self.kv_dim = int(cfg.get("kv_dim", 0))
        self.post_topk = int(cfg.get("post_topk", 0) or 0)
        eos = cfg.get("eos_token_id")
        self.eos_ids: set[int] = set(eos if isinstance(eos, list) else
                                     [] if eos is None else [eos])
        bos = cfg.get("bos_token_id")
        self.bos_id: int | None = bos[0] if isinstance(bos, list) else bos
        # (group index, kv length) of the prefill groups, smallest kv first
        self.prefill_groups = sorted(((int(g["index"]), int(g["kv_len"]))
                                      for g in cfg["prefill_groups"]), key=lambda g: g[1])
        self.decode_group = int(cfg.get("decode_group", 0))
        pc = Path(post_config) if post_config else self.folder / cfg.get(
            "post_config_path", "post_config.json")
        self.sampling = (SamplingConfig.from_post_config(pc) if pc.is_file() or post_config
                         else SamplingConfig())
        self.console = console

        embed = self.folder / cfg["filename_tokens_embed"]
        expected = self.vocab_size * self.hidden_size * 2
        if not embed.is_file() or embed.stat().st_size != expected:
            raise AxcError(f"{embed}: missing or not {expected} bytes (bf16 [{self.vocab_size}, "
                           f"{self.hidden_size}]); rebuild the folder")
        self.embedding = np.memmap(embed, dtype="<u2", mode="r",
                                   shape=(self.vocab_size, self.hidden_size))

        n = int(cfg["axmodel_num"])
        paths = [self.folder / (cfg["template_filename_axmodel"] % i) for i in range(n)]
        for p in [*paths, self.folder / cfg["filename_post_axmodel"]]:
            if not p.is_file():
                raise AxcError(f"{p}: missing; rebuild the folder with axc llm_build")
        self.layers = []
        with _progress(console, progress, n + 1) as advance:
            for i, p in enumerate(paths):
                self.layers.append(InferenceSession(p))
                advance(f"init {i} axmodel ok")
            self.post = InferenceSession(self.folder / cfg["filename_post_axmodel"])
            advance("init post axmodel ok")
        if not self.kv_dim:
            shape = [s for s in self.layers[0].get_inputs(self.decode_group)
                     if s.name == "K_cache"][0].shape
            self.kv_dim = int(shape[-1])
        self._predicted = cfg.get("predicted_ms", {})
        self.stop_reason: str | None = None
        self.stats = GenerationStats()
        self.last_logits: np.ndarray | None = None
        self.last_candidates: tuple[np.ndarray, np.ndarray] | None = None
        self.reset()

    # -- state

    def reset(self) -> None:
        """Empty the KV cache (a new conversation)."""
        shape = (len(self.layers), self.kv_cache_len, self.kv_dim)
        self.k_cache = np.zeros(shape, dtype=np.float32)
        self.v_cache = np.zeros(shape, dtype=np.float32)
        self.position = 0
        self.pending: list[int] = []
        self.history: list[int] = []
        self._last_result = None
        self._chip_ms = 0.0

    def embed(self, token_ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise AxcError(f"token id out of range 0..{self.vocab_size - 1}: "
                           f"{int(ids.max() if ids.max() >= self.vocab_size else ids.min())}")
        return bf16_to_f32(np.asarray(self.embedding[ids]))

    # -- one pass through the layers

    def _run_layers(self, hidden: np.ndarray, start: int, n: int, group: int, kv_len: int,
                    seq_len: int) -> np.ndarray:
        """Run `seq_len` rows (the first `n` real) at positions start.. through every layer;
        write the real rows' K/V at their positions; return the real rows' hidden state."""
        indices = (np.arange(seq_len, dtype=np.uint32) + np.uint32(start))[None]
        mask = runtime_mask(seq_len, kv_len, start)
        x = hidden[None]
        for i, layer in enumerate(self.layers):
            feed = {"input": x, "indices": indices, "mask": mask,
                    "K_cache": self.k_cache[i, :kv_len][None],
                    "V_cache": self.v_cache[i, :kv_len][None]}
            out, k_new, v_new = layer.run(LAYER_OUTPUTS, feed, shape_group=group)
            self.k_cache[i, start:start + n] = np.asarray(k_new).reshape(seq_len, -1)[:n]
            self.v_cache[i, start:start + n] = np.asarray(v_new).reshape(seq_len, -1)[:n]
            x = np.asarray(out, dtype=np.float32).reshape(1, seq_len, -1)
        self._chip_ms += self._layer_ms(group)
        return x[0, :n]

    def _layer_ms(self, group: int) -> float:
        """Predicted chip time of one pass of group `group` through every layer."""
        groups = self._predicted.get("groups") or {}
        return float(groups.get(str(group), 0.0))

    def _post(self, hidden_row: np.ndarray) -> np.ndarray:
        outs = self.post.run(None, {"input": hidden_row.reshape(1, 1, -1)}, shape_group=0)
        self._chip_ms += float(self._predicted.get("post", 0.0))
        if len(outs) == 1:
            self.last_logits = np.asarray(outs[0], dtype=np.float32).reshape(-1)
            self.last_candidates = None
            return self.last_logits
        a, b = (np.asarray(o) for o in outs)
        ids, probs = (a, b) if np.issubdtype(a.dtype, np.integer) else (b, a)
        self.last_candidates = (ids.reshape(-1).astype(np.int64),
                                probs.reshape(-1).astype(np.float32))
        self.last_logits = None
        return self.last_candidates  # type: ignore[return-value]

    def _prefill_group_for(self, start: int) -> tuple[int, int] | None:
        if start + self.prefill_len > self.kv_cache_len:
            return None
        for index, kv_len in self.prefill_groups:
            if (kv_len == 0 and start == 0) or (kv_len > 0 and kv_len >= start):
                return index, kv_len
        return None

    def _append(self, token_ids: Sequence[int]) -> np.ndarray:
        """Run tokens into the cache; return the last token's final hidden state."""
        ids = list(token_ids)
        if self.position + len(ids) > self.kv_cache_len:
            raise AxcError(f"{len(ids)} more tokens do not fit in the KV cache "
                           f"({self.position} of {self.kv_cache_len} used); reset or shorten")
        last = None
        i = 0
        while i < len(ids):
            start = self.position
            found = self._prefill_group_for(start)
            if found is None:
                hidden = self.embed(ids[i:i + 1])
                last = self._run_layers(hidden, start, 1, self.decode_group, self.kv_cache_len,
                                        1)[-1]
                n = 1
            else:
                n = min(self.prefill_len, len(ids) - i)
                hidden = np.zeros((self.prefill_len, self.hidden_size), dtype=np.float32)
                hidden[:n] = self.embed(ids[i:i + n])
                last = self._run_layers(hidden, start, n, found[0], found[1],
                                        self.prefill_len)[-1]
            self.position += n
            i += n
        self.history.extend(ids)
        return last

    # -- public API

    def prefill(self, token_ids: Sequence[int]):
        """Append tokens (after any pending one) to the cache; return the next-token logits
        (or the (indices, probabilities) pair of a post_topk build)."""
        ids = [*self.pending, *token_ids]
        if not ids:
            if self._last_result is None:
                raise AxcError("nothing to prefill: the prompt has no tokens")
            return self._last_result  # continue from the logits already computed
        self.pending = []
        self._last_result = self._post(self._append(ids))
        return self._last_result

    def step(self, token_id: int):
        """Decode one token (append it to the cache); return the next-token logits."""
        return self.prefill([int(token_id)])

    def _choose(self, sampler: Sampler, result) -> int:
        if isinstance(result, tuple):
            return sampler.sample_candidates(*result, history=self.history)
        return sampler.sample(result, history=self.history)

    def generate(self, prompt_ids: Sequence[int], *, max_new_tokens: int | None = None,
                 sampling: SamplingConfig | None = None,
                 on_token: Callable[[int], None] | None = None) -> Iterator[int]:
        """Continue the conversation with `prompt_ids`; yield the new tokens (not EOS).

        Stops at EOS, when the KV cache is full, or after `max_new_tokens`; `.stop_reason`
        and `.stats` tell which and how fast. A caller that stops iterating early (Ctrl+C)
        gets stop_reason "interrupted"; the cache stays consistent either way."""
        sampler = Sampler(sampling or self.sampling)
        self.stop_reason = None
        prompt = list(prompt_ids)
        self.stats = GenerationStats(prompt_tokens=len(prompt))
        self._chip_ms = 0.0
        t0 = time.perf_counter()
        result = self.prefill(prompt)
        predicted_ttft = self._chip_ms
        self._unstepped: int | None = None  # a yielded token not yet run through the layers
        try:
            yield from self._decode_loop(sampler, result, max_new_tokens, on_token, t0,
                                         predicted_ttft)
        finally:
            if self.stop_reason is None:  # the caller stopped iterating (Ctrl+C, break)
                self.stop_reason = "interrupted"
                if self._unstepped is not None:
                    self.pending = [self._unstepped]

    def _decode_loop(self, sampler, result, max_new_tokens, on_token, t0, predicted_ttft):
        new = 0
        t_first = None
        self._unstepped = None
        while True:
            token = self._choose(sampler, result)
            if t_first is None:
                t_first = time.perf_counter()
                self.stats.ttft_ms = (t_first - t0) * 1000
                self.stats.predicted_ttft_ms = predicted_ttft
            if token in self.eos_ids:
                self.pending = [token]
                self.stop_reason = "eos"
                break
            new += 1
            self.stats.new_tokens = new
            if on_token is not None:
                on_token(token)
            self._unstepped = token
            yield token
            if max_new_tokens is not None and new >= max_new_tokens:
                self.pending = [token]
                self.stop_reason = "max_new_tokens"
                break
            if self.position >= self.kv_cache_len:
                self.pending = [token]
                self.stop_reason = "kv_cache_full"
                break
            result = self.step(token)
            self._unstepped = None
        if new > 1 and t_first is not None:
            self.stats.decode_tokens_per_s = (new - 1) / max(time.perf_counter() - t_first, 1e-9)
        decode_ms = self._layer_ms(self.decode_group) + float(self._predicted.get("post", 0.0))
        if decode_ms:
            self.stats.predicted_decode_tokens_per_s = 1000.0 / decode_ms


class _progress:
    """A rich bar over model loading ("init N axmodel ok"), or nothing."""

    def __init__(self, console, enabled: bool, total: int) -> None:
        self.console, self.enabled, self.total = console, enabled, total

    def __enter__(self):
        if not self.enabled:
            return lambda text: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(TextColumn("{task.description:<24}"), BarColumn(),
                             MofNCompleteColumn(), console=self.console or Console(stderr=True),
                             transient=False)
        self._bar.__enter__()
        task = self._bar.add_task("init", total=self.total)
        return lambda text: self._bar.update(task, advance=1, description=text)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._bar.__exit__(*exc)
