"""The HTTP backend against a server on 127.0.0.1 that misbehaves in each way the reliability issue found.

Every case is bounded in time (a 2 s deadline) and in traffic (a handful of requests to this machine only).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from causalrec_tutorial.lm import TextGenerator, backends, cache

GOOD_SCORE = {"choices": [{"text": "ab!", "logprobs": {"text_offset": [0, 1, 2], "token_logprobs": [None, -1.0, -1.0]}}]}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, data: bytes, status: int = 200, headers: dict | None = None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        mode = self.path.split("/")[1]
        if mode == "trickle":  # one byte every 0.3 s: never idle long enough for a per-read timeout
            body = json.dumps({"choices": [{"text": "x" * 200}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.3)
            except OSError:
                pass
        elif mode == "huge":
            self._send(b'{"choices": [{"text": "' + b"x" * (backends.MAX_BODY + 10) + b'"}]}')
        elif mode == "redirect":
            other = f"http://localhost:{self.server.server_address[1]}/target/v1/completions"
            self._send(b"", 307, {"Location": other})
        elif mode == "nan":
            self._send(json.dumps({"choices": [{"text": "ab!", "logprobs": {
                "text_offset": [0, 1, 2], "token_logprobs": [None, float("nan"), -1.0]}}]}).encode())
        elif mode == "positive":
            self._send(json.dumps({"choices": [{"text": "ab!", "logprobs": {
                "text_offset": [0, 1, 2], "token_logprobs": [None, 3.0, -1.0]}}]}).encode())
        elif mode == "types":
            self._send(json.dumps({"choices": [{"text": 42}]}).encode())
        elif mode == "offsets":
            self._send(json.dumps({"choices": [{"text": "ab!", "logprobs": {
                "text_offset": ["0", "1"], "token_logprobs": [-1.0, -1.0]}}]}).encode())
        elif mode == "list":
            self._send(b"[1, 2, 3]")
        else:
            self._send(json.dumps(GOOD_SCORE).encode())


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _backend(server, mode, **kwargs):
    return backends.OpenAICompatible(f"http://127.0.0.1:{server.server_address[1]}/{mode}/v1", "m",
                                     timeout=kwargs.pop("timeout", 2), **kwargs)


def test_a_trickling_server_hits_the_overall_deadline(server):
    start = time.monotonic()
    with pytest.raises(backends.BackendError, match="within 2 s"):
        _backend(server, "trickle").generate("x", 1, [])
    assert time.monotonic() - start < 4, "one deadline for the whole request, not per socket read"


def test_a_huge_body_is_refused(server):
    with pytest.raises(backends.BackendError, match="more than"):
        _backend(server, "huge", timeout=10).generate("x", 1, [])


def test_a_redirect_is_not_followed_and_the_key_goes_nowhere_else(server):
    server.seen.clear()
    with pytest.raises(backends.BackendError, match="redirect"):
        _backend(server, "redirect", api_key="secret").generate("x", 1, [])
    assert server.seen == [("/redirect/v1/completions", "Bearer secret")], "exactly one request, to the given host"


def test_an_api_key_over_plain_http_to_another_host_warns():
    with pytest.warns(UserWarning, match="clear text"):
        backends.OpenAICompatible("http://llm.example.org/v1", "m", api_key="k")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backends.OpenAICompatible("http://127.0.0.1:8080/v1", "m", api_key="k")  # this machine: no warning
        backends.OpenAICompatible("https://llm.example.org/v1", "m", api_key="k")


@pytest.mark.parametrize("mode, message", [
    ("nan", "invalid log-prob"), ("positive", "invalid log-prob"), ("offsets", "offset"), ("list", "not an object"),
])
def test_ill_formed_scores_raise_and_are_never_cached(server, tmp_path, mode, message):
    store = cache.DiskCache("generator", directory=tmp_path)
    gen = TextGenerator(backend=_backend(server, mode), cache=store)
    with pytest.raises(backends.BackendError, match=message):
        gen.score("a", ["b"])
    assert store.size().entries == 0


def test_a_non_string_completion_raises(server, tmp_path):
    gen = TextGenerator(backend=_backend(server, "types"), cache=cache.DiskCache("generator", directory=tmp_path))
    with pytest.raises(backends.BackendError, match="not a string"):
        gen.generate("x", max_new_tokens=2)


def test_a_backend_that_returns_nan_is_not_cached(tmp_path):
    class NaNBackend:
        model_id = "nan-backend"

        def score(self, prompt, continuations):
            return [float("nan")] * len(continuations)

        def generate(self, prompt, n, stop):
            return None

    store = cache.DiskCache("generator", directory=tmp_path)
    gen = TextGenerator(backend=NaNBackend(), cache=store)
    with pytest.raises(backends.BackendError, match="invalid score"):
        gen.score("a", ["b", "c"])
    with pytest.raises(backends.BackendError, match="invalid generate"):
        gen.generate("a", max_new_tokens=1)
    assert store.size().entries == 0


def test_a_well_formed_answer_still_works(server, tmp_path):
    gen = TextGenerator(backend=_backend(server, "good"), cache=cache.DiskCache("generator", directory=tmp_path))
    np.testing.assert_allclose(gen.score("a", ["b"]), [-1.0])


def test_a_cached_entry_under_another_key_or_namespace_is_refused(tmp_path):
    a = cache.DiskCache("encoder", directory=tmp_path / "enc")
    key, other = cache.make_key("m", {}, "", "x"), cache.make_key("m", {}, "", "y")
    a.set(key, np.ones(3, np.float32))
    src = a._path(key)
    moved = a._path(other)
    moved.parent.mkdir(parents=True, exist_ok=True)
    moved.write_bytes(src.read_bytes())  # the same bytes under another key
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert a.get(other) is None
    b = cache.DiskCache("generator", directory=tmp_path / "enc")  # same folder, other namespace
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert b.get(key) is None


def test_a_cached_value_that_fails_its_check_is_recomputed(tmp_path):
    store = cache.DiskCache("encoder", directory=tmp_path)
    key = cache.make_key("m", {}, "", "x")
    store.set(key, np.array([np.nan, 1.0, 2.0]))
    with pytest.warns(RuntimeWarning, match="damaged"):
        value = store.get_or_compute(key, lambda: np.zeros(3), valid=lambda v: bool(np.isfinite(v).all()))
    assert value.tolist() == [0.0, 0.0, 0.0]


def test_a_killed_writers_temporary_file_is_cleaned(tmp_path):
    store = cache.DiskCache("t", directory=tmp_path)
    key = cache.make_key("m", {}, "", "x")
    store.set(key, [1])
    leftover = store._path(key).parent / ".deadbeef-123.tmp"
    leftover.write_bytes(b"half")
    old = time.time() - 2 * 3600
    import os

    os.utime(leftover, (old, old))
    fresh = store._path(key).parent / ".cafe-456.tmp"
    fresh.write_bytes(b"in progress")
    assert store.size().entries == 1
    assert not leftover.exists() and fresh.exists(), "only leftovers older than an hour are removed"
