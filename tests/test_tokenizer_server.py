"""The ax-llm tokenizer HTTP server: ids identical to transformers under 16 concurrent clients,
JSON 4xx errors for bad requests, and no crash on fuzzed input."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from axc.models import cached_model_dir

QWEN = "qwen2.5-coder-0.5b-instruct"


def _qwen_dir():
    try:
        path = cached_model_dir(QWEN)
    except Exception:  # noqa: BLE001 - not pulled on this machine
        return None
    return path if (path / "tokenizer.json").is_file() else None


pytestmark = [pytest.mark.real_model,
              pytest.mark.skipif(_qwen_dir() is None, reason=f"{QWEN} is not cached")]

TEXTS = [
    "who are you?",
    "1+1=?",
    "写一个快速排序",
    "def f(x):\n    return x * 2  # 🚀",
    "  leading and trailing spaces  ",
    "<|im_start|> is a special token in text",
    "",
    "a" * 300,
]


@pytest.fixture(scope="module")
def hf():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(_qwen_dir()))


@pytest.fixture(scope="module")
def server():
    from axc.runtime.tokenizer_server import make_server

    srv = make_server(_qwen_dir(), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def call(url: str, path: str, body=None, raw: bytes | None = None, method=None):
    """(status, decoded JSON) of one request; errors are answers too."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def chat_ids(hf, messages):
    out = hf.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


def test_concurrent_clients_match_transformers(server, hf):
    """16 clients x 100 mixed requests (plain and uid forms) against transformers' own ids."""
    eos = hf.eos_token_id
    expected_chat = {t: chat_ids(hf, [{"role": "user", "content": t}]) for t in TEXTS}
    expected_raw = {t: hf.encode(t) for t in TEXTS}

    def client(seed: int) -> int:
        rng = random.Random(seed)
        url = server.url
        done = 0
        while done < 100:
            kind = rng.choice(["bos", "eos", "encode", "raw", "decode", "chat"])
            text = rng.choice(TEXTS)
            if kind == "bos":
                assert call(url, "/bos_id") == (200, {"bos_id": hf.bos_token_id})
                done += 1
            elif kind == "eos":
                status, body = call(url, "/eos_id")
                assert status == 200 and body["eos_id"] == eos
                done += 1
            elif kind == "encode":
                body = {"text": text, "img_prompt": False}
                assert call(url, "/encode", body) == (200, {"token_ids": expected_chat[text]})
                done += 1
            elif kind == "raw":
                body = {"text": text, "chat_template": False}
                assert call(url, "/encode", body) == (200, {"token_ids": expected_raw[text]})
                done += 1
            elif kind == "decode":
                ids = expected_chat[text]
                assert call(url, "/decode", {"token_ids": ids}) == (
                    200, {"text": hf.decode(ids)})
                done += 1
            else:  # a two-turn conversation under a uid: 5 requests
                status, got = call(url, "/get_uid")
                uid = got["uid"]
                reply = rng.choice(TEXTS[:4])
                first = call(url, "/encode", {"uid": uid, "text": text})[1]
                messages = [{"role": "user", "content": text}]
                assert first["diff"] == first["token_ids"] == chat_ids(hf, messages)
                follow = rng.choice(TEXTS)
                second = call(url, "/encode", {"uid": uid, "text": follow, "last_reply": reply})
                messages += [{"role": "assistant", "content": reply},
                             {"role": "user", "content": follow}]
                full = chat_ids(hf, messages)
                assert second[0] == 200 and second[1]["token_ids"] == full
                # what the KV cache holds (prompt + answer tokens) + diff == the whole chat
                answer = hf.encode(reply, add_special_tokens=False)
                assert first["diff"] + answer + second[1]["diff"] == full
                assert call(url, f"/bos_id?uid={uid}")[0] == 200
                assert call(url, "/decode", {"uid": uid, "token_ids": answer}) == (
                    200, {"text": reply})
                done += 5
        return done

    with ThreadPoolExecutor(16) as pool:
        counts = list(pool.map(client, range(16)))
    assert min(counts) >= 100


def test_reset_and_system_prompt(server, hf):
    uid = call(server.url, "/get_uid")[1]["uid"]
    assert call(server.url, "/reset", {"uid": uid, "system_prompt": "Be terse."}) == (
        200, {"success": True})
    got = call(server.url, "/encode", {"uid": uid, "text": "hi"})[1]["diff"]
    assert got == chat_ids(hf, [{"role": "system", "content": "Be terse."},
                                {"role": "user", "content": "hi"}])
    call(server.url, "/encode", {"uid": uid, "text": "more", "last_reply": "ok"})
    assert call(server.url, f"/reset?uid={uid}") == (200, {"success": True})
    again = call(server.url, "/encode", {"uid": uid, "text": "hi"})[1]
    assert again["diff"] == got  # same system prompt kept, history gone


@pytest.mark.parametrize(
    "path, body, raw, status",
    [
        ("/encode", None, b"{not json", 400),
        ("/encode", None, b"\xff\xfe", 400),
        ("/encode", None, b"[1, 2]", 400),
        ("/encode", {"text": 12}, None, 400),
        ("/encode", {"text": "x", "img_prompt": "yes"}, None, 400),
        ("/encode", {"text": "x", "img_prompt": True}, None, 400),
        ("/encode", {"text": "x", "system_prompt": ["a"]}, None, 400),
        ("/encode", {"text": "x", "uid": "no-such-uid"}, None, 404),
        ("/encode", {"text": "x", "uid": 7}, None, 400),
        ("/decode", {"token_ids": "1 2 3"}, None, 400),
        ("/decode", {"token_ids": [1, "2"]}, None, 400),
        ("/decode", {"token_ids": [True]}, None, 400),
        ("/decode", {"token_ids": [10**12]}, None, 400),
        ("/decode", {"token_ids": [-1]}, None, 400),
        ("/decode", {"token_ids": [1], "uid": "nope"}, None, 404),
        ("/reset", {"uid": "nope"}, None, 404),
        ("/nowhere", {"text": "x"}, None, 404),
    ],
)
def test_bad_posts_get_json_4xx(server, path, body, raw, status):
    got_status, got = call(server.url, path, body, raw)
    assert got_status == status and isinstance(got["error"], str) and got["error"]


@pytest.mark.parametrize("path, status", [("/bos_id?uid=nope", 404), ("/reset", 400),
                                          ("/reset?uid=nope", 404), ("/encode", 404),
                                          ("/x/y", 404)])
def test_bad_gets_get_json_4xx(server, path, status):
    got_status, got = call(server.url, path)
    assert got_status == status and got["error"]


def test_wrong_method_and_garbage_request_line(server):
    assert call(server.url, "/encode", {"text": "x"}, method="PUT")[0] == 405
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"\x00\x01garbage\r\n\r\n")
        reply = sock.recv(4096).decode("latin-1")
    # http.server answers an unparsable request line as HTTP/0.9: the body alone
    assert "Bad request" in json.loads(reply.split("\r\n\r\n")[-1])["error"]
    assert call(server.url, "/eos_id")[0] == 200


def test_fuzz_never_crashes(server, hf):
    """Random bodies, paths and field types: every answer is JSON, the server keeps serving."""
    rng = random.Random(1234)
    values = [None, True, 0, -5, 2**70, 1.5, "", "x", "uid", [], [1, 2], [[1]], {}, {"a": 1},
              "\ud800", [1.5], "😀" * 50]
    paths = ["/encode", "/decode", "/reset", "/get_uid", "/bos_id", "/eos_id", "/", "/%00",
             "/encode?uid=1", "//decode", "/encode/../decode"]
    for _ in range(300):
        path = rng.choice(paths)
        if rng.random() < 0.3:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
            status, body = call(server.url, path, raw=raw)
        elif rng.random() < 0.2:
            status, body = call(server.url, path)
        else:
            keys = rng.sample(["text", "token_ids", "uid", "img_prompt", "last_reply",
                               "system_prompt", "chat_template", "zzz"], rng.randrange(4))
            status, body = call(server.url, path, {k: rng.choice(values) for k in keys})
        assert isinstance(body, dict)
        assert (status == 200) != ("error" in body), (path, status, body)
        assert status < 500, (path, status, body)
    assert call(server.url, "/bos_id") == (200, {"bos_id": hf.bos_token_id})


def test_cli_starts_and_serves():
    """`axc tokenizer-server --port 0` prints its URL and answers the protocol."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "axc.cli", "tokenizer-server", "--model_dir", str(_qwen_dir()),
         "--port", "0"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("Server running at http://127.0.0.1:")
        url = line.split()[-1]
        from axc.runtime.tokenizer import HttpTokenizer, LocalTokenizer

        remote, local = HttpTokenizer(url), LocalTokenizer(_qwen_dir())
        assert remote.eos_ids == local.eos_ids and remote.bos_id == local.bos_id
        assert remote.encode_chat("who are you?", "Be brief.") == local.encode_chat(
            "who are you?", "Be brief.")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_bad_folder_is_one_line_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "axc.cli", "tokenizer-server", "--model_dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith("axc: error: ") and out.stderr.count("\n") == 1
