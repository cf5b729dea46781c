"""The OpenAI-compatible HTTP backend, against a stub server on the loopback address."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from causalrec_tutorial.lm import TextGenerator, backends, cache


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        if body.get("echo"):
            text = body["prompt"]
            # one "token" per character, log-prob -1 each, plus one generated token
            reply = {"choices": [{"text": text + "!", "logprobs": {
                "text_offset": list(range(len(text) + 1)), "token_logprobs": [None] + [-1.0] * len(text)}}]}
        else:
            reply = {"choices": [{"text": " Paris.\nNext line"}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_generate_and_score_over_http(server, tmp_path):
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    gen = TextGenerator(backend=backends.OpenAICompatible(url, "stub", timeout=5),
                        cache=cache.DiskCache("generator", directory=tmp_path))
    assert gen.generate("The capital of France is", max_new_tokens=8, stop="\n") == " Paris."
    assert server.requests[-1]["temperature"] == 0.0 and server.requests[-1]["max_tokens"] == 8
    scores = gen.score("ab", ["c", "cde"])
    np.testing.assert_allclose(scores, [-1.0, -3.0])  # only the continuation's characters count
    n = len(server.requests)
    assert gen.generate("The capital of France is", max_new_tokens=8, stop="\n") == " Paris."
    assert len(server.requests) == n  # served from the disk cache


def test_clear_errors(server):
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    with pytest.raises(backends.BackendError, match="HTTP 500"):
        backends.OpenAICompatible(url, "broken").generate("x", 1, [])
    closed = backends.OpenAICompatible("http://127.0.0.1:9/v1", "m", timeout=2)
    with pytest.raises(backends.BackendError, match="could not reach"):
        closed.generate("x", 1, [])
    with pytest.raises(ValueError, match="base_url"):
        backends.OpenAICompatible("localhost:8080", "m")
    with pytest.raises(ValueError, match="timeout"):
        backends.OpenAICompatible("http://x", "m", timeout=0)


def test_llama_cpp_backend_agrees_with_keras_hub(require_asset):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is optional and not installed")
    require_asset("gemma3_270m")
    fast = TextGenerator(backend=backends.LlamaCpp(), cache=False)
    keras = TextGenerator(cache=False)
    prompt, conts = "My favourite film is", [" Alien", " The Godfather Part II", " a cat"]
    assert fast.tokenize(prompt) == keras.tokenize(prompt)
    np.testing.assert_allclose(fast.score(prompt, conts), keras.score(prompt, conts), atol=0.5)
    assert fast.generate("The capital of France is", max_new_tokens=3).strip()
