"""Tokenizers for `axc run`: local (transformers) or remote (ax-llm's tokenizer HTTP protocol).

Both give the same ids because the HTTP server (`axc.runtime.tokenizer_server`) runs the very
`ChatState` logic of `LocalTokenizer`. A chat turn returns only the ids to *append* to the KV
cache: the template's text after the previous answer (whose tokens the runtime already fed),
which is what `--continue` needs.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from axc.errors import AxcError

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")


@runtime_checkable
class Chat(Protocol):
    """One conversation: a turn gives the ids to append after what the KV cache holds."""

    def turn(self, text: str, last_reply: str | None = None) -> list[int]:
        """Ids for the user `text`; `last_reply` is the previous answer (already in the cache)."""

    def reset(self, system_prompt: str | None = None) -> None:
        """Forget the conversation (the caller clears its KV cache too)."""


@runtime_checkable
class Tokenizer(Protocol):
    """What the runtime needs from a tokenizer, wherever it runs."""

    bos_id: int | None
    eos_ids: tuple[int, ...]

    def encode(self, text: str) -> list[int]:
        """Plain text to ids (special tokens as the tokenizer adds them, no chat template)."""

    def decode(self, ids: Sequence[int]) -> str:
        """Ids to text, special tokens kept (as ax-llm's server does)."""

    def encode_chat(self, text: str, system_prompt: str | None = None) -> list[int]:
        """A one-turn chat prompt (system + user + generation prompt)."""

    def new_chat(self, system_prompt: str | None = None) -> Chat:
        """Start a conversation; `system_prompt=None` keeps the template's default."""


class ChatState:
    """The conversation of one user: messages and the template text already tokenized.

    Shared by `LocalTokenizer` and the HTTP server so both give identical ids.
    """

    def __init__(self, tok: LocalTokenizer, system_prompt: str | None = None):
        self._tok = tok
        self.reset(system_prompt)

    def reset(self, system_prompt: str | None = None) -> None:
        self.system_prompt = system_prompt
        self.messages: list[dict[str, str]] = []
        if system_prompt is not None:
            self.messages.append({"role": "system", "content": system_prompt})
        self._rendered = ""  # template text of everything the cache holds, up to the answer
        self.token_ids: list[int] = []  # ids of the whole conversation as last rendered

    def turn(self, text: str, last_reply: str | None = None) -> list[int]:
        """Ids to append: the first turn's whole prompt, later the text after `last_reply`."""
        tok = self._tok
        if not tok.has_chat_template:
            first = not self.messages
            self.messages.append({"role": "user", "content": text})
            ids = tok.hf.encode(text, add_special_tokens=first)
            self.token_ids += ids
            return ids
        added = 1 + (last_reply is not None and bool(self._rendered))
        if added == 2:
            self.messages.append({"role": "assistant", "content": _REPLY_MARK})
        self.messages.append({"role": "user", "content": text})
        try:
            full = tok.render(self.messages)
            new_text = _after(full, self._rendered, marked=added == 2)
        except Exception:
            del self.messages[-added:]  # the conversation stays as it was
            raise
        if added == 2:
            self.messages[-2]["content"] = last_reply
            full = tok.render(self.messages)
        self._rendered = full
        ids = tok.encode_text(new_text)
        self.token_ids = tok.encode_text(full)
        return ids


#: stands for the previous answer while rendering, to find where the template puts it
_REPLY_MARK = "\x00axc-previous-answer\x00"


def _after(full: str, previous: str, marked: bool) -> str:
    """The template text the KV cache does not hold yet: after `previous` and, when `marked`,
    after the previous answer (which the runtime fed token by token as it was generated)."""
    at = full.find(_REPLY_MARK, len(previous)) if marked else len(previous)
    if not full.startswith(previous) or at < len(previous):
        raise AxcError(
            "the chat template does not extend the previous turn (it rewrites the history); "
            "run without --continue to start each prompt afresh"
        )
    return full[at + len(_REPLY_MARK):] if marked else full[at:]


class LocalChat:
    """`Chat` over a local `ChatState`."""

    def __init__(self, state: ChatState):
        self._state = state

    def turn(self, text: str, last_reply: str | None = None) -> list[int]:
        return self._state.turn(text, last_reply)

    def reset(self, system_prompt: str | None = None) -> None:
        self._state.reset(system_prompt)


class LocalTokenizer:
    """transformers' AutoTokenizer of a model folder, with its chat template."""

    def __init__(self, model_dir: str | Path):
        path = Path(model_dir)
        if not path.is_dir() or not any((path / f).is_file() for f in _TOKENIZER_FILES):
            raise AxcError(
                f"{path}: no tokenizer here (expected tokenizer.json or tokenizer_config.json); "
                "pass --tokenizer with the Hugging Face model folder or a tokenizer server URL"
            )
        from transformers import AutoTokenizer

        try:
            self.hf = AutoTokenizer.from_pretrained(str(path))
        except Exception as err:  # transformers raises many types for broken folders
            raise AxcError(f"{path}: cannot load the tokenizer ({err})") from err
        self.path = path
        # The Rust tokenizer is not safe to call from several threads at once.
        self._lock = threading.Lock()
        self.has_chat_template = bool(getattr(self.hf, "chat_template", None))
        self.bos_id = self.hf.bos_token_id
        self.eos_ids = _eos_ids(self.hf, path)
        self.vocab_size = len(self.hf)

    def encode(self, text: str) -> list[int]:
        with self._lock:
            return list(self.hf.encode(text))

    def encode_text(self, text: str) -> list[int]:
        """Template text to ids: the template already wrote any BOS, so add none."""
        with self._lock:
            return list(self.hf.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int]) -> str:
        with self._lock:
            return self.hf.decode(list(ids), skip_special_tokens=False)

    def render(self, messages: list[dict[str, str]]) -> str:
        with self._lock:
            return self.hf.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )

    def encode_chat(self, text: str, system_prompt: str | None = None) -> list[int]:
        return ChatState(self, system_prompt).turn(text)

    def new_chat(self, system_prompt: str | None = None) -> Chat:
        return LocalChat(ChatState(self, system_prompt))


def _eos_ids(hf, path: Path) -> tuple[int, ...]:
    """The tokenizer's EOS plus generation_config.json's (chat models stop on either)."""
    ids: list[int] = []
    if hf.eos_token_id is not None:
        ids.append(int(hf.eos_token_id))
    gen = path / "generation_config.json"
    if gen.is_file():
        try:
            value = json.loads(gen.read_text()).get("eos_token_id")
        except (OSError, ValueError):
            value = None
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, int) and v not in ids:
                ids.append(v)
    return tuple(ids)


class HttpChat:
    """`Chat` kept on the server under a uid (ax-llm's `/get_uid` form)."""

    def __init__(self, client: HttpTokenizer, system_prompt: str | None):
        self._client = client
        self.uid = client._get("/get_uid")["uid"]
        self.reset(system_prompt)

    def turn(self, text: str, last_reply: str | None = None) -> list[int]:
        body: dict = {"uid": self.uid, "text": text}
        if last_reply is not None:
            body["last_reply"] = last_reply
        return self._client._post("/encode", body)["diff"]

    def reset(self, system_prompt: str | None = None) -> None:
        body: dict = {"uid": self.uid}
        if system_prompt is not None:
            body["system_prompt"] = system_prompt
        self._client._post("/reset", body)


class HttpTokenizer:
    """Client of ax-llm's tokenizer HTTP protocol (`axc tokenizer-server` or ax-llm's scripts)."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.bos_id = _none_if_negative(self._get("/bos_id")["bos_id"])
        eos = self._get("/eos_id")
        ids = eos.get("eos_ids") or [eos["eos_id"]]
        self.eos_ids = tuple(int(i) for i in ids if i is not None and int(i) >= 0)

    def _request(self, path: str, body: dict | None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            detail = _error_text(err)
            raise AxcError(f"tokenizer server {self.url}{path}: HTTP {err.code}: {detail}") from err
        except (urllib.error.URLError, OSError) as err:
            raise AxcError(
                f"tokenizer server {self.url} unreachable ({getattr(err, 'reason', err)}); "
                "start it with `axc tokenizer-server --model_dir DIR` or check --tokenizer"
            ) from err
        except ValueError as err:
            raise AxcError(f"tokenizer server {self.url}{path}: reply is not JSON") from err
        if not isinstance(reply, dict) or "error" in reply:
            raise AxcError(f"tokenizer server {self.url}{path}: {reply}")
        return reply

    def _get(self, path: str) -> dict:
        return self._request(path, None)

    def _post(self, path: str, body: dict) -> dict:
        return self._request(path, body)

    def encode(self, text: str) -> list[int]:
        return self._post("/encode", {"text": text, "chat_template": False})["token_ids"]

    def decode(self, ids: Sequence[int]) -> str:
        return self._post("/decode", {"token_ids": [int(i) for i in ids]})["text"]

    def encode_chat(self, text: str, system_prompt: str | None = None) -> list[int]:
        body: dict = {"text": text, "img_prompt": False}
        if system_prompt is not None:
            body["system_prompt"] = system_prompt
        return self._post("/encode", body)["token_ids"]

    def new_chat(self, system_prompt: str | None = None) -> Chat:
        return HttpChat(self, system_prompt)


def _none_if_negative(value) -> int | None:
    return None if value is None or int(value) < 0 else int(value)


def _error_text(err: urllib.error.HTTPError) -> str:
    try:
        return json.loads(err.read()).get("error", "")
    except (ValueError, AttributeError, OSError):
        return err.reason


def load_tokenizer(spec: str | Path) -> Tokenizer:
    """`http(s)://...` -> `HttpTokenizer`, a folder -> `LocalTokenizer`."""
    text = str(spec)
    if urllib.parse.urlparse(text).scheme in ("http", "https"):
        return HttpTokenizer(text)
    return LocalTokenizer(text)
