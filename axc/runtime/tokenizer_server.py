"""ax-llm's tokenizer HTTP protocol, served from a transformers tokenizer.

Plain form: `GET /bos_id`, `GET /eos_id`, `POST /encode {"text", "img_prompt"}` ->
`{"token_ids"}` (one chat turn with the template's default system prompt, or
`"system_prompt"`; `"chat_template": false` for plain text), `POST /decode {"token_ids"}` ->
`{"text"}`. Per-user form (ax-llm's `*_tokenizer_uid.py`): `GET /get_uid` -> `{"uid"}`, then
`uid` as a query parameter (GET) or a body field (POST); `POST /encode {"uid", "text",
"last_reply"}` -> `{"token_ids", "diff"}` where `diff` is what to append to the KV cache;
`/reset` (GET or POST with `"system_prompt"`) starts the conversation again.

Bad requests get a JSON `{"error": ...}` with a 4xx status; nothing a client sends stops the
server (each request is handled under a catch-all that answers 500).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from axc.runtime.tokenizer import ChatState, LocalTokenizer

MAX_BODY_BYTES = 4 << 20
MAX_SESSIONS = 4096


class RequestError(Exception):
    """A client mistake: answered with `status` and a JSON error, never raised further."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Session:
    def __init__(self, tok: LocalTokenizer):
        self.state = ChatState(tok)
        self.lock = threading.Lock()


class TokenizerServer(ThreadingHTTPServer):
    """A threaded HTTP server holding one tokenizer and the per-uid conversations."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default 5 resets connections when many clients connect

    def __init__(self, tokenizer: LocalTokenizer, host: str = "127.0.0.1", port: int = 12345):
        self.tokenizer = tokenizer
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._sessions_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def new_session(self) -> str:
        uid = str(uuid.uuid4())
        with self._sessions_lock:
            self._sessions[uid] = _Session(self.tokenizer)
            while len(self._sessions) > MAX_SESSIONS:  # forget the least recently used
                self._sessions.popitem(last=False)
        return uid

    def session(self, uid) -> _Session:
        if not isinstance(uid, str):
            raise RequestError(400, "'uid' must be a string from GET /get_uid")
        with self._sessions_lock:
            found = self._sessions.get(uid)
            if found is None:
                raise RequestError(404, f"unknown uid {uid!r}; get one from GET /get_uid")
            self._sessions.move_to_end(uid)
            return found


class _Handler(BaseHTTPRequestHandler):
    server: TokenizerServer
    timeout = 10  # a client that stops sending mid-request does not hold a thread forever
    server_version = "axc-tokenizer-server"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        """Quiet: a busy server would flood the terminal (ax-llm's prints every request)."""

    # --- dispatch -------------------------------------------------------------------------
    def do_GET(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def _not_allowed(self):
        self._answer(self._wrong_method)

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed

    def _wrong_method(self) -> dict:
        raise RequestError(405, f"{self.command} is not used by this protocol: GET bos_id, "
                           "eos_id, get_uid, reset; POST encode, decode, reset")

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, huge headers) as JSON too."""
        body = json.dumps({"error": message or self.responses.get(code, ("error",))[0]}).encode()
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
        except OSError:
            pass

    def _answer(self, fn):
        try:
            status, body = 200, fn()
        except RequestError as err:
            status, body = err.status, {"error": str(err)}
        except Exception as err:  # noqa: BLE001 - the server must outlive any request
            status, body = 500, {"error": f"internal error: {type(err).__name__}: {err}"}
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away
            pass

    # --- GET ------------------------------------------------------------------------------
    def _get(self) -> dict:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        uid = query["uid"][0] if "uid" in query else None
        tok = self.server.tokenizer
        if url.path == "/get_uid":
            return {"uid": self.server.new_session()}
        if url.path in ("/", "/health"):
            return {"status": "ok", "model": str(tok.path)}
        if uid is not None:
            session = self.server.session(uid)
        if url.path == "/bos_id":
            return {"bos_id": -1 if tok.bos_id is None else tok.bos_id}
        if url.path == "/eos_id":
            first = tok.eos_ids[0] if tok.eos_ids else -1
            return {"eos_id": first, "eos_ids": list(tok.eos_ids)}
        if url.path == "/reset":
            if uid is None:
                raise RequestError(400, "GET /reset needs ?uid=... (from GET /get_uid)")
            with session.lock:
                session.state.reset(session.state.system_prompt)
            return {"success": True}
        raise RequestError(404, f"no GET endpoint {url.path!r} (bos_id, eos_id, get_uid, reset)")

    # --- POST -----------------------------------------------------------------------------
    def _post(self) -> dict:
        path = urlparse(self.path).path
        if path not in ("/encode", "/decode", "/reset"):
            raise RequestError(404, f"no POST endpoint {path!r} (encode, decode, reset)")
        req = self._json_body()
        if path == "/encode":
            return self._encode(req)
        if path == "/decode":
            return self._decode(req)
        session = self.server.session(req.get("uid"))
        system_prompt = _optional_str(req, "system_prompt")
        with session.lock:
            session.state.reset(system_prompt)
        return {"success": True}

    def _json_body(self) -> dict:
        length = self.headers.get("Content-Length")
        try:
            n = int(length)
        except (TypeError, ValueError):
            raise RequestError(411, "POST needs a Content-Length header") from None
        if n < 0 or n > MAX_BODY_BYTES:
            raise RequestError(413, f"body of {n} bytes; the limit is {MAX_BODY_BYTES}")
        raw = self.rfile.read(n)
        try:
            req = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as err:
            raise RequestError(400, f"body is not valid JSON ({err})") from None
        if not isinstance(req, dict):
            raise RequestError(400, "body must be a JSON object")
        return req

    def _encode(self, req: dict) -> dict:
        text = req.get("text")
        if not isinstance(text, str):
            raise RequestError(400, "'text' must be a string")
        tok = self.server.tokenizer
        if "uid" in req:
            session = self.server.session(req["uid"])
            last_reply = _optional_str(req, "last_reply")
            with session.lock:
                diff = _tokenize(lambda: session.state.turn(text, last_reply))
                return {"token_ids": list(session.state.token_ids), "diff": diff}
        if req.get("img_prompt", False) not in (False, None):
            if not isinstance(req["img_prompt"], bool):
                raise RequestError(400, "'img_prompt' must be true or false")
            raise RequestError(400, "image prompts are not supported: this model is text-only")
        use_template = req.get("chat_template", True)
        if not isinstance(use_template, bool):
            raise RequestError(400, "'chat_template' must be true or false")
        system_prompt = _optional_str(req, "system_prompt")
        if use_template:
            return {"token_ids": _tokenize(lambda: tok.encode_chat(text, system_prompt))}
        return {"token_ids": _tokenize(lambda: tok.encode(text))}

    def _decode(self, req: dict) -> dict:
        ids = req.get("token_ids")
        tok = self.server.tokenizer
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise RequestError(400, "'token_ids' must be a list of integers")
        bad = next((i for i in ids if not 0 <= i < tok.vocab_size), None)
        if bad is not None:
            raise RequestError(400, f"token id {bad} is outside the vocabulary [0, "
                               f"{tok.vocab_size})")
        if "uid" in req:
            self.server.session(req["uid"])
        return {"text": _tokenize(lambda: tok.decode(ids))}


def _optional_str(req: dict, key: str) -> str | None:
    value = req.get(key)
    if value is not None and not isinstance(value, str):
        raise RequestError(400, f"'{key}' must be a string or null")
    return value


def _tokenize(fn):
    """Run a tokenizer call; text it cannot take (lone surrogates, ...) is the client's fault."""
    from axc.errors import AxcError

    try:
        return fn()
    except AxcError as err:
        raise RequestError(409, str(err)) from None
    except (UnicodeError, ValueError, TypeError) as err:
        raise RequestError(400, f"cannot tokenize this input ({err})") from None


def make_server(model_dir, host: str = "127.0.0.1", port: int = 12345) -> TokenizerServer:
    """A server over the tokenizer of `model_dir` (port 0 picks a free port)."""
    return TokenizerServer(LocalTokenizer(model_dir), host, port)
