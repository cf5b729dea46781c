"""Other generator backends: llama-cpp-python (when installed), and an OpenAI-compatible HTTP server.

    gen = crt.lm.TextGenerator(backend=crt.lm.backends.LlamaCpp())      # the same GGUF, about 3x faster
    backend = crt.lm.backends.OpenAICompatible("http://localhost:8080/v1", model="gemma-3-4b")
    gen = crt.lm.TextGenerator(backend=backend)      # same generate / score, same on-disk cache

llama-cpp-python is not a dependency of the course (it compiles llama.cpp, which needs a C++ compiler and takes
10-40 minutes on 2 cores): ``pip install llama-cpp-python``.

Greedy generation uses ``POST {base_url}/completions`` with ``temperature=0``. Scoring needs a server that
returns the prompt's own token log-probs (``echo=true`` with ``logprobs``): llama.cpp's server and vLLM do, Ollama
does not (``score`` then raises a clear error). Only the standard library is used.

The HTTP client is defensive, because a server is outside the course's control: each request has one overall
deadline (``timeout``, also for a server that trickles bytes), a response body larger than :data:`MAX_BODY` is
refused, redirects are not followed (so an ``Authorization`` header never reaches another host), an API key sent
over plain ``http://`` to a host other than this machine gives a warning, and an answer of the wrong type or with
non-finite log-probs raises :class:`BackendError` (the generator never caches it).

Book: appendix_a_language_models.ipynb, sec-lm-generator
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import os
import pathlib
import threading
import time
import urllib.parse
import warnings

import numpy as np

from .._checks import check_number

#: The largest response body accepted from an HTTP backend, in bytes.
MAX_BODY = 8 * 2**20


class BackendError(RuntimeError):
    """The server could not be reached, timed out, or answered with an error or an unexpected body."""


class OpenAICompatible:
    """A text-completion model behind an OpenAI-compatible HTTP API.

    Args:
        base_url: the API root, e.g. ``"http://localhost:8080/v1"``.
        model: the model name the server expects.
        timeout: seconds to wait for one response (default 60).
        api_key: sent as a bearer token when given.

    Raises:
        ValueError: if ``base_url`` is not an http(s) URL or ``timeout`` is not positive.

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """

    def __init__(self, base_url: str, model: str, timeout: float = 60.0, api_key: str | None = None) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        parts = urllib.parse.urlsplit(base_url)
        if not parts.hostname:
            raise ValueError(f"base_url has no host name, got {base_url!r}")
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string (the name the server expects), got {model!r}")
        timeout = check_number("timeout", timeout, 0.0, 86400.0, low_open=True, what="seconds for one request")
        if api_key is not None and (not isinstance(api_key, str) or not api_key or any(c in api_key for c in "\r\n")
                                    or not api_key.isascii()):
            raise ValueError("api_key must be a non-empty one-line ASCII string")
        if api_key and parts.scheme == "http" and not _is_local(parts.hostname):
            warnings.warn(f"an API key is sent in clear text over http:// to {parts.hostname}; use https://",
                          UserWarning, stacklevel=2)
        self.base_url, self.model, self.timeout, self._api_key = base_url.rstrip("/"), model, float(timeout), api_key
        self._parts = urllib.parse.urlsplit(self.base_url)

    @property
    def model_id(self) -> str:
        return f"openai-compatible:{self.base_url}:{self.model}"

    def _post(self, body: dict) -> dict:
        """One POST to ``/completions`` within one overall deadline; the JSON object it answers."""
        url = f"{self.base_url}/completions"
        parts = self._parts
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        data = json.dumps({"model": self.model, **body}).encode("utf-8")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname, parts.port, timeout=self.timeout)
        expired = threading.Event()

        def stop() -> None:  # the deadline: close the socket under a read that is still waiting (a trickle)
            expired.set()
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(2)
                except OSError:
                    pass

        timer = threading.Timer(self.timeout, stop)
        timer.daemon = True
        deadline = time.monotonic() + self.timeout
        timer.start()
        try:
            conn.request("POST", f"{parts.path}/completions", body=data, headers=headers)
            response = conn.getresponse()
            chunks, size = [], 0
            while chunk := response.read1(65536):
                size += len(chunk)
                if size > MAX_BODY:
                    raise BackendError(f"{url} sent more than {MAX_BODY} bytes; refused")
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunks.append(chunk)
            raw = b"".join(chunks)
        except BackendError:
            raise
        except (OSError, http.client.HTTPException, TimeoutError) as err:
            why = str(err) or type(err).__name__
            if expired.is_set():
                why = f"no complete answer within {self.timeout:g} s"
            raise BackendError(f"could not reach {url} ({why}); is the server running?") from None
        finally:
            timer.cancel()
            conn.close()
        if expired.is_set():
            raise BackendError(f"could not reach {url} (no complete answer within {self.timeout:g} s)")
        if 300 <= response.status < 400:
            raise BackendError(f"{url} answered HTTP {response.status} (a redirect to "
                               f"{response.getheader('Location')!r}); redirects are not followed, so that the API "
                               "key is never sent to another host: point base_url at the final address")
        if response.status != 200:
            raise BackendError(f"{url} answered HTTP {response.status}: {raw[:300].decode('utf-8', 'replace')}")
        try:
            reply = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as err:
            raise BackendError(f"{url} did not answer with JSON: {str(err)[:200]}") from None
        if not isinstance(reply, dict):
            raise BackendError(f"{url} answered JSON that is not an object: {str(reply)[:300]}")
        return reply

    def tokenize(self, text: str) -> list[int]:
        raise NotImplementedError("the OpenAI-compatible API has no tokenizer endpoint")

    def generate(self, prompt: str, max_new_tokens: int, stop: list[str]) -> str:
        body = {"prompt": prompt, "max_tokens": max_new_tokens, "temperature": 0.0}
        if stop:
            body["stop"] = stop
        reply = self._post(body)
        try:
            text = reply["choices"][0]["text"]
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"unexpected completion body: {str(reply)[:300]}") from None
        if not isinstance(text, str):
            raise BackendError(f"the completion's text is not a string: {str(text)[:300]}")
        cuts = [text.find(s) for s in stop if s in text]  # servers differ in whether they apply `stop` exactly
        return text[: min(cuts)] if cuts else text

    def score(self, prompt: str, continuations: list[str]) -> list[float]:
        scores = []
        for continuation in continuations:
            full = prompt + continuation
            reply = self._post({"prompt": full, "max_tokens": 1, "temperature": 0.0, "echo": True, "logprobs": 1})
            try:
                logprobs = reply["choices"][0]["logprobs"]
                offsets, values = logprobs["text_offset"], logprobs["token_logprobs"]
            except (KeyError, IndexError, TypeError):
                raise BackendError("the server did not return the prompt's token log-probs (echo + logprobs); "
                                   "scoring needs e.g. llama.cpp's server or vLLM") from None
            if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
                raise BackendError("the server's log-probs are not two lists of equal length")
            picked = []
            for o, v in zip(offsets, values):
                if isinstance(o, bool) or not isinstance(o, int):
                    raise BackendError(f"a token offset is not an integer: {o!r}")
                if not len(prompt) <= o < len(full) or v is None:
                    continue
                if not _is_log_prob(v):
                    raise BackendError(f"the server returned an invalid log-prob {v!r} (finite and <= 0 expected)")
                picked.append(float(v))
            if not picked:
                raise BackendError("the server returned no log-probs for the continuation")
            total = float(sum(picked))
            if not math.isfinite(total):
                raise BackendError(f"the log-probs of a continuation sum to {total}, not a finite number")
            scores.append(total)
        return scores

    def __repr__(self) -> str:
        return f"OpenAICompatible({self.base_url!r}, model={self.model!r}, timeout={self.timeout})"


def _is_log_prob(v) -> bool:
    """A finite number <= 0 (JSON gives int or float; a bool is not a number here)."""
    return type(v) in (int, float) and math.isfinite(v) and v <= 0


def _is_local(host: str) -> bool:
    """``localhost`` or a loopback address: traffic that does not leave this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LlamaCpp:
    """Gemma 3 270M (or any GGUF) run by llama.cpp through llama-cpp-python, if that package is installed.

    Greedy decoding and scoring as in the keras-hub backend; on the Q4_K_M weights llama.cpp computes with
    quantised arithmetic, so its log-probs differ from the keras-hub model's by a few hundredths.

    Args:
        model_path: a ``.gguf`` file; default the ``gemma3_270m`` asset.
        n_ctx: the context length (the scoring buffer holds ``n_ctx`` x vocabulary floats: 1 GB at 1024).
        n_threads: threads for decoding one token at a time (default 1: llama.cpp's threads spin while they
            wait, so on a busy 2-core machine one thread decodes several times faster than two).
        n_threads_batch: threads for prompts and scoring batches (default: all cores).

    Raises:
        ImportError: if llama-cpp-python is not installed (the message says how to install it).
        FileNotFoundError: if ``model_path`` does not exist.

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """

    def __init__(self, model_path: str | os.PathLike | None = None, n_ctx: int = 1024, n_threads: int = 1,
                 n_threads_batch: int | None = None) -> None:
        try:
            import llama_cpp
        except ImportError:
            raise ImportError("the llama.cpp backend needs llama-cpp-python: pip install llama-cpp-python "
                              "(compiles llama.cpp; needs a C++ compiler and cmake)") from None
        from .. import config
        from . import gemma

        if model_path is None:
            path, self._id = gemma.gguf_path(), f"{gemma.model_id()}/llama.cpp"
        else:
            path = pathlib.Path(model_path)
            if not path.is_file():
                raise FileNotFoundError(f"no GGUF file at {path}")
            stat = path.stat()
            self._id = f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}/llama.cpp"
        with config._stderr_fd_silenced():  # llama.cpp logs to fd 2 even with verbose=False
            self.llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_batch=n_ctx, logits_all=True,
                                       n_threads=n_threads, n_threads_batch=n_threads_batch or os.cpu_count(),
                                       verbose=False, seed=0)

    @property
    def model_id(self) -> str:
        return self._id

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(self, prompt: str, max_new_tokens: int, stop: list[str]) -> str:
        # A greedy loop on llama.cpp's logits: llama-cpp-python's own sampler is slow for a 262k vocabulary.
        llm = self.llm
        ids = [llm.token_bos()] + self.tokenize(prompt)
        if len(ids) + max_new_tokens > llm.n_ctx():
            raise ValueError(f"prompt ({len(ids)} tokens) plus max_new_tokens exceeds n_ctx={llm.n_ctx()}")
        llm.reset()
        llm.eval(ids)
        new: list[int] = []
        text = ""
        for _ in range(max_new_tokens):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            if token == llm.token_eos() or token == 106:  # <eos>, <end_of_turn>
                break
            new.append(token)
            text = llm.detokenize(new).decode("utf-8", errors="replace")
            cuts = [text.find(s) for s in stop if s in text]
            if cuts:
                return text[: min(cuts)]
            llm.eval([token])
        return text

    def score(self, prompt: str, continuations: list[str]) -> list[float]:
        llm = self.llm
        prompt_ids = [llm.token_bos()] + self.tokenize(prompt)
        llm.reset()
        llm.eval(prompt_ids)  # once; each continuation then continues from the prompt's position
        last = np.array(llm.scores[len(prompt_ids) - 1], dtype=np.float64)
        scores = []
        for continuation in continuations:
            whole = self.tokenize(prompt + continuation)
            n = len(prompt_ids) - 1
            cont = whole[n:] if whole[:n] == prompt_ids[1:] and len(whole) > n else self.tokenize(continuation)
            llm.n_tokens = len(prompt_ids)  # eval() drops the cache past this point
            llm.eval(cont)
            logits = np.concatenate([last[None], np.array(llm.scores[len(prompt_ids):len(prompt_ids) + len(cont) - 1],
                                                          dtype=np.float64)])
            top = logits.max(axis=1, keepdims=True)
            logp = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
            scores.append(float(logp[np.arange(len(cont)), cont].sum()))
        return scores

    def __repr__(self) -> str:
        return f"LlamaCpp({self._id!r})"
