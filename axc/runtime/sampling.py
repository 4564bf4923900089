"""Token sampling as ax-llm's post-processing does it, driven by `post_config.json`.

ax-llm reads nine fields (`enable_temperature`, `temperature`, `enable_repetition_penalty`,
`repetition_penalty`, `penalty_window`, `enable_top_p_sampling`, `top_p`,
`enable_top_k_sampling`, `top_k`) and applies, in this order: the repetition penalty over
the last `penalty_window` generated/prompt tokens (positive logits divided, negative ones
multiplied, as transformers does), the temperature, top-k, then top-p (nucleus) on the
softmax, and draws from what is left. With every switch off the choice is the arg-max
(greedy), which is what check level 2 and the accuracy comparisons use.

A build whose post model ends in top-k (`--post_topk`) hands the sampler k candidates with
probabilities instead of logits; `sample_candidates` takes that form.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from axc.errors import AxcError


@dataclass(frozen=True)
class SamplingConfig:
    """The fields of ax-llm's post_config.json, plus a seed for the random draws."""

    enable_temperature: bool = False
    temperature: float = 1.0
    enable_repetition_penalty: bool = False
    repetition_penalty: float = 1.0
    penalty_window: int = 20
    enable_top_p_sampling: bool = False
    top_p: float = 1.0
    enable_top_k_sampling: bool = False
    top_k: int = 1
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict, source: str = "post_config") -> SamplingConfig:
        known = {f.name: f.type for f in fields(cls)}
        values = {}
        for key, value in data.items():
            if key not in known:
                continue  # ax-llm ignores fields it does not know too
            kind = known[key]
            try:
                values[key] = (bool(value) if kind == "bool" else
                               int(value) if kind == "int" else float(value))
            except (TypeError, ValueError):
                raise AxcError(f"{source}: field {key!r} must be a {kind}, got {value!r}") from None
        config = cls(**values)
        config.validate(source)
        return config

    @classmethod
    def from_post_config(cls, path: str | Path) -> SamplingConfig:
        """Read a post_config.json (ax-llm's sampling settings)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise AxcError(f"{path}: no such post_config file") from None
        except (OSError, ValueError) as err:
            raise AxcError(f"{path}: unreadable post_config JSON ({err})") from None
        if not isinstance(data, dict):
            raise AxcError(f"{path}: post_config must be a JSON object")
        return cls.from_dict(data, str(path))

    def validate(self, source: str = "post_config") -> None:
        if self.enable_temperature and self.temperature <= 0:
            raise AxcError(f"{source}: temperature must be > 0 (turn enable_temperature off "
                           "for greedy decoding)")
        if self.enable_top_k_sampling and self.top_k < 1:
            raise AxcError(f"{source}: top_k must be >= 1")
        if self.enable_top_p_sampling and not 0 < self.top_p <= 1:
            raise AxcError(f"{source}: top_p must be in (0, 1]")
        if self.enable_repetition_penalty and (self.repetition_penalty <= 0
                                               or self.penalty_window < 0):
            raise AxcError(f"{source}: repetition_penalty must be > 0 and penalty_window >= 0")

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("seed")
        return data

    @property
    def greedy(self) -> bool:
        """True when the choice is always the arg-max (no random draw)."""
        return not (self.enable_temperature or self.enable_top_p_sampling
                    or (self.enable_top_k_sampling and self.top_k > 1))

    def with_seed(self, seed: int) -> SamplingConfig:
        return replace(self, seed=seed)


def softmax(logits: np.ndarray) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64).reshape(-1)
    x = x - np.max(x)
    e = np.exp(x)
    return e / e.sum()


def top_candidates(logits: np.ndarray, k: int = 10) -> list[tuple[int, float]]:
    """The k most likely tokens with their softmax probabilities (for check level 2 logs)."""
    probs = softmax(logits)
    order = np.argsort(-probs, kind="stable")[:k]
    return [(int(i), float(probs[i])) for i in order]


class Sampler:
    """Chooses the next token from logits (or top-k candidates) under a `SamplingConfig`."""

    def __init__(self, config: SamplingConfig | None = None) -> None:
        self.config = config or SamplingConfig()
        self.rng = np.random.default_rng(self.config.seed)

    def _penalise(self, ids: np.ndarray, scores: np.ndarray, history: Sequence[int]
                  ) -> np.ndarray:
        cfg = self.config
        if not cfg.enable_repetition_penalty or cfg.repetition_penalty == 1.0 or not history:
            return scores
        recent = set(history[-cfg.penalty_window:] if cfg.penalty_window else [])
        if not recent:
            return scores
        hit = np.isin(ids, list(recent))
        scores = scores.copy()
        pos = hit & (scores > 0)
        neg = hit & (scores <= 0)
        scores[pos] /= cfg.repetition_penalty
        scores[neg] *= cfg.repetition_penalty
        return scores

    def sample(self, logits: np.ndarray, history: Sequence[int] = ()) -> int:
        """The next token id from a full logits row."""
        scores = np.asarray(logits, dtype=np.float64).reshape(-1)
        ids = np.arange(scores.size)
        return self._choose(ids, self._penalise(ids, scores, history))

    def sample_candidates(self, ids: np.ndarray, probs: np.ndarray,
                          history: Sequence[int] = ()) -> int:
        """The next token from a post_topk model's (indices, probabilities): the penalty and
        the temperature act on log-probabilities, which equal the logits up to a constant."""
        ids = np.asarray(ids).reshape(-1).astype(np.int64)
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        with np.errstate(divide="ignore"):
            scores = np.log(np.maximum(probs, 0.0))
        return self._choose(ids, self._penalise(ids, scores, history))

    def _choose(self, ids: np.ndarray, scores: np.ndarray) -> int:
        cfg = self.config
        order = np.argsort(-scores, kind="stable")
        if cfg.greedy:
            return int(ids[order[0]])
        if cfg.enable_temperature:
            scores = scores / cfg.temperature
        if cfg.enable_top_k_sampling:
            order = order[: cfg.top_k]
        top = scores[order]
        p = np.exp(top - np.max(top))
        p /= p.sum()
        if cfg.enable_top_p_sampling:
            keep = int(np.searchsorted(np.cumsum(p), cfg.top_p) + 1)
            p = p[:keep] / p[:keep].sum()
            order = order[:keep]
        return int(ids[order[self.rng.choice(len(order), p=p)]])
