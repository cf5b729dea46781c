"""A small generative language model: greedy ``generate`` and log-likelihood ``score`` (how an LM ranks items).

    gen = crt.lm.TextGenerator()                           # Gemma 3 270M (base), keras-hub on TensorFlow
    gen.generate("The capital of France is", max_new_tokens=5)
    prompt = crt.lm.prompts.RANK_CANDIDATES.render(items=["Alien (1979)", "Aliens (1986)"])
    gen.score(prompt, [" Predator (1987)", " Toy Story (1995)"])   # log-likelihoods, one per continuation

The model is the ``gemma3_270m`` asset (a GGUF file), converted once into a keras-hub preset (see
:mod:`.gemma`) and loaded once per process. Every call is cached on disk (:mod:`.cache`), keyed by the model,
the settings, the prompt version and the input, so re-running a chapter costs nothing.

How it runs: the prompt goes through the model once ("prefill", filling a key/value cache), then one token per
step. ``score`` puts the prompt through once and all continuations through together, as one batch on top of the
prompt's cache, and sums each continuation's token log-probabilities (log-softmax over the whole vocabulary).
The compiled functions accept any shape, so they are traced once per process; inputs are padded to a few fixed
lengths (:data:`BUCKETS`) all the same, so that TensorFlow's kernels see few shapes.

Book: appendix_a_language_models.ipynb, sec-lm-generator
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from .. import config
from . import cache as _cache
from . import gemma as _gemma

#: Padded lengths (tokens) for prompts and for the key/value cache. The compiled function accepts any shape (it is
#: traced once per process); the buckets keep the number of distinct shapes, and the padding, small.
BUCKETS = (16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048)
_CONTINUATION_BUCKETS = (4, 8, 12, 16, 24, 32, 48, 64) + BUCKETS[6:]
MAX_CONTEXT = BUCKETS[-1]
DTYPES = ("float32", "bfloat16")
_BOS, _EOS, _END_OF_TURN = 2, 1, 106
_MODELS: dict[tuple, "_Gemma"] = {}
_LOCK = threading.Lock()


def _bucket(n: int, buckets: Sequence[int] = BUCKETS) -> int:
    return next(b for b in buckets if b >= n)


class _Gemma:
    """Tokenizer, backbone and compiled prefill / decode / score functions (one per process and dtype)."""

    def __init__(self, dtype: str) -> None:
        config.import_keras()
        import keras_hub
        import tensorflow as tf

        start = time.perf_counter()
        preset = _gemma.gemma_preset()
        with config._stderr_fd_silenced():  # sentencepiece logs "precompiled_charsmap is empty" to fd 2
            self.tokenizer = keras_hub.models.Gemma3Tokenizer.from_preset(str(preset))
        self.backbone = keras_hub.models.Gemma3Backbone.from_preset(str(preset), dtype=dtype)
        self.model_id, self.dtype = _gemma.model_id(), dtype
        bb = self.backbone
        n_layers, kv_heads, head_dim = bb.num_layers, bb.num_key_value_heads, bb.head_dim
        compute = bb.compute_dtype
        ids_spec = tf.TensorSpec([None, None], tf.int32)
        cache_spec = tuple((tf.TensorSpec([None, None, kv_heads, head_dim], compute),) * 2 for _ in range(n_layers))

        def forward(token_ids, cache, index):
            """Hidden states (after the final norm) of ``token_ids`` placed at ``index``; the updated cache."""
            x = bb.token_embedding(token_ids)
            x = x * tf.cast(tf.sqrt(float(bb.hidden_dim)), x.dtype)
            caches = []
            for i, layer in enumerate(bb.transformer_layers):
                x, layer_cache = layer(x, cache=cache[i], cache_update_index=index)
                caches.append(layer_cache)
            return bb.layer_norm(x), tuple(caches)

        @tf.function(input_signature=[ids_spec, cache_spec, tf.TensorSpec([], tf.int32),
                                      tf.TensorSpec([None, 2], tf.int32)])
        def run(token_ids, cache, index, positions):
            """Put ``token_ids`` (batch, length) at ``index`` on top of ``cache``; return the next-token log-probs
            (log-softmax over the vocabulary) at ``positions`` (rows of (batch row, column)) and the updated cache.

            One function serves prefill, decoding, scoring and checks, so a process traces the model once."""
            hidden, cache = forward(token_ids, cache, index)
            logits = tf.cast(bb.token_embedding(tf.gather_nd(hidden, positions), reverse=True), tf.float32)
            return tf.nn.log_softmax(logits, axis=-1), cache

        self.run, self._cache_shape = run, (kv_heads, head_dim)
        self._compute = compute
        self.load_seconds = time.perf_counter() - start

    def tokenize(self, text: str) -> list[int]:
        ids = self.tokenizer(text)
        return [int(i) for i in np.asarray(ids).tolist()]

    def detokenize(self, ids: Sequence[int]) -> str:
        if not ids:
            return ""
        out = self.tokenizer.detokenize(np.asarray(ids, dtype=np.int32))
        return out.numpy().decode("utf-8", errors="replace") if hasattr(out, "numpy") else str(out)

    def empty_cache(self, length: int, batch: int = 1):
        import tensorflow as tf

        shape = [batch, length, *self._cache_shape]
        return tuple((tf.zeros(shape, self._compute), tf.zeros(shape, self._compute))
                     for _ in range(self.backbone.num_layers))

    def all_log_probs(self, token_ids) -> np.ndarray:
        """Next-token log-probs (length, vocabulary) at every position of one unpadded sequence (for checks)."""
        ids = np.asarray(token_ids, dtype=np.int32).reshape(1, -1)
        positions = np.stack([np.zeros(ids.shape[1], np.int32), np.arange(ids.shape[1], dtype=np.int32)], axis=1)
        return self.run(ids, self.empty_cache(ids.shape[1]), np.int32(0), positions)[0].numpy()

    def _prefill(self, ids: list[int], extra: int):
        """Run the prompt, padded to a bucket, into a cache with room for ``extra`` more tokens."""
        padded = _bucket(len(ids))
        tokens = np.zeros((1, padded), dtype=np.int32)
        tokens[0, : len(ids)] = ids
        cache = self.empty_cache(_bucket(max(padded, len(ids) + extra)))
        logp, cache = self.run(tokens, cache, np.int32(0), np.array([[0, len(ids) - 1]], np.int32))
        return logp, cache

    def generate(self, ids: list[int], max_new_tokens: int, stop: Sequence[str]) -> tuple[str, int]:
        """Greedy decoding; returns the text (cut before the first stop string) and the number of new tokens."""
        logp, cache = self._prefill(ids, max_new_tokens)
        new: list[int] = []
        text = ""
        for i in range(max_new_tokens):
            token = int(np.argmax(logp.numpy()[0]))
            if token in (_EOS, _END_OF_TURN):
                break
            new.append(token)
            text = self.detokenize(new)
            cut = min((text.find(s) for s in stop if s in text), default=-1)
            if cut >= 0:
                return text[:cut], len(new)
            if i + 1 < max_new_tokens:
                logp, cache = self.run(np.array([[token]], dtype=np.int32), cache, np.int32(len(ids) + i),
                                       np.zeros((1, 2), np.int32))
        return text, len(new)

    def continuation_ids(self, prompt: str, prompt_ids: list[int], continuation: str) -> list[int]:
        """The continuation's tokens as they come when tokenising prompt + continuation together (if the prompt's
        tokens are a prefix of that), else tokenised on its own."""
        whole = self.tokenize(prompt + continuation)
        n = len(prompt_ids) - 1  # without <bos>
        if whole[:n] == prompt_ids[1:] and len(whole) > n:
            return whole[n:]
        return self.tokenize(continuation)

    def score(self, prompt: str, continuations: list[str]) -> np.ndarray:
        ids = [_BOS] + self.tokenize(prompt)
        conts = [self.continuation_ids(prompt, ids, c) for c in continuations]
        longest = max(len(c) for c in conts)
        width = _bucket(longest, _CONTINUATION_BUCKETS)
        if len(ids) + width > MAX_CONTEXT:
            raise ValueError(f"prompt plus longest continuation is {len(ids) + longest} tokens; at most "
                             f"{MAX_CONTEXT} are supported")
        logp, cache = self._prefill(ids, width)
        first = logp.numpy()[0]
        totals = np.array([first[c[0]] for c in conts], dtype=np.float64)
        if longest > 1:
            tokens = np.zeros((len(conts), width), dtype=np.int32)
            positions, targets, rows = [], [], []
            for row, c in enumerate(conts):
                tokens[row, : len(c)] = c
                for j in range(len(c) - 1):
                    positions.append((row, j))
                    targets.append(c[j + 1])
                    rows.append(row)
            if positions:
                import tensorflow as tf

                tiled = tuple((tf.repeat(k, len(conts), axis=0), tf.repeat(v, len(conts), axis=0)) for k, v in cache)
                logp, _ = self.run(tokens, tiled, np.int32(len(ids)), np.array(positions, np.int32))
                picked = tf.gather(logp, np.array(targets, np.int32), axis=1, batch_dims=1).numpy()
                np.add.at(totals, np.array(rows), picked.astype(np.float64))
        return totals


def _load(dtype: str) -> _Gemma:
    key = (_gemma.model_id(), dtype, str(config.cache_dir()))
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = _Gemma(dtype)
        return _MODELS[key]


def _check_text(value, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    return value


class KerasGemma:
    """The default backend: Gemma 3 270M from the ``gemma3_270m`` asset, in keras-hub on TensorFlow.

    Args:
        dtype: ``"float32"`` or ``"bfloat16"``.

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """

    def __init__(self, dtype: str = "float32") -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self.dtype = dtype

    @property
    def model_id(self) -> str:
        return f"{_gemma.model_id()}/keras-{self.dtype}"

    @property
    def model(self) -> _Gemma:
        return _load(self.dtype)

    def tokenize(self, text: str) -> list[int]:
        return self.model.tokenize(text)

    def generate(self, prompt: str, max_new_tokens: int, stop: list[str]) -> str:
        model = self.model
        ids = [_BOS] + model.tokenize(prompt)
        if len(ids) + max_new_tokens > MAX_CONTEXT:
            raise ValueError(f"prompt ({len(ids)} tokens) plus max_new_tokens ({max_new_tokens}) exceeds "
                             f"{MAX_CONTEXT} tokens")
        return model.generate(ids, max_new_tokens, stop)[0]

    def score(self, prompt: str, continuations: list[str]) -> list[float]:
        return self.model.score(prompt, continuations).tolist()

    def __repr__(self) -> str:
        return f"KerasGemma(dtype={self.dtype!r})"


class TextGenerator:
    """Greedy text generation and continuation scoring, cached on disk; Gemma 3 270M (keras-hub) by default.

    The default model loads on first use (a one-time conversion of the GGUF, about a minute, then about 10-20 s
    per process) and is shared by every generator with the same ``dtype`` in the process.

    Args:
        dtype: for the default backend: ``"float32"`` (default; about 2.7 GB resident, 4 GB at peak while
            loading) or ``"bfloat16"`` (about 2.0 GB; but several times slower on CPUs without bfloat16
            instructions; results differ slightly and are cached separately).
        cache: ``True`` for the default on-disk cache, ``False`` for none, or a :class:`~.cache.DiskCache`.
        backend: ``None`` for :class:`KerasGemma`, or another backend such as
            :class:`~.backends.OpenAICompatible` (an HTTP server with a larger model).

    Raises:
        ValueError: on an unknown ``dtype``.

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """

    def __init__(self, dtype: str = "float32", cache: bool | _cache.DiskCache = True, backend=None) -> None:
        self.backend = KerasGemma(dtype) if backend is None else backend
        self.dtype = dtype
        self.cache = _cache.DiskCache("generator") if cache is True else (cache or None)

    @property
    def model(self) -> _Gemma:
        """The loaded keras-hub model of the default backend (loads it on first access)."""
        if not isinstance(self.backend, KerasGemma):
            raise AttributeError(f"{self.backend!r} has no keras-hub model")
        return self.backend.model

    def _cached(self, kind: str, settings: dict, prompt_version: str, value, compute):
        if self.cache is None:
            return compute()
        key = _cache.make_key(self.backend.model_id, {"kind": kind, **settings}, prompt_version, value)
        return self.cache.get_or_compute(key, compute)

    def tokenize(self, text: str) -> list[int]:
        """The model's token ids for ``text`` (without ``<bos>``).

        Raises:
            TypeError: if ``text`` is not a string.
        """
        return self.backend.tokenize(_check_text(text, "text"))

    def generate(self, prompt: str, max_new_tokens: int = 32, stop: str | Sequence[str] | None = None,
                 prompt_version: str = "") -> str:
        """Continue ``prompt`` greedily (always the most likely next token), so the same prompt gives the same text.

        Args:
            prompt: the text to continue (``<bos>`` is added in front).
            max_new_tokens: at most this many new tokens (>= 1).
            stop: a string or strings; the text is cut before the first one that appears (e.g. ``"\\n"``).
                Generation also ends at ``<eos>``.
            prompt_version: the template's version (``template.version``), part of the cache key.

        Returns:
            The new text, without the prompt.

        Raises:
            TypeError: if ``prompt`` or a stop string is not a string.
            ValueError: if ``max_new_tokens < 1``, a stop string is empty, or the prompt is too long.

        Book: appendix_a_language_models.ipynb, sec-lm-generator
        """
        _check_text(prompt, "prompt")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an integer >= 1, got {max_new_tokens!r}")
        stops = [] if stop is None else [stop] if isinstance(stop, str) else list(stop)
        for s in stops:
            if not isinstance(s, str):
                raise TypeError(f"stop strings must be str, got {type(s).__name__}")
            if not s:
                raise ValueError("stop strings must not be empty")
        settings = {"decoding": "greedy", "max_new_tokens": int(max_new_tokens), "stop": sorted(stops)}
        return self._cached("generate", settings, prompt_version, prompt,
                            lambda: self.backend.generate(prompt, int(max_new_tokens), stops))

    def score(self, prompt: str, continuations: Sequence[str], prompt_version: str = "") -> np.ndarray:
        """Log-likelihood of each continuation after ``prompt``: the sum of its tokens' log-probabilities.

        Rank candidates by it (``np.argsort(-scores)``); longer continuations collect more negative terms, so
        compare candidates of similar length or divide by :meth:`tokenize` lengths.

        Args:
            prompt: the context (``<bos>`` is added in front).
            continuations: non-empty strings; start them with a space when they follow a word (``" Alien"``).
            prompt_version: the template's version, part of the cache key.

        Returns:
            float64 array of shape ``(len(continuations),)``; empty for no continuations.

        Raises:
            TypeError: if ``prompt`` or a continuation is not a string, or ``continuations`` is a single string.
            ValueError: if a continuation is empty or the input is too long.

        Book: appendix_a_language_models.ipynb, sec-lm-generator
        """
        _check_text(prompt, "prompt")
        if isinstance(continuations, str):
            raise TypeError("continuations must be a sequence of strings, not a single string")
        continuations = list(continuations)
        for i, c in enumerate(continuations):
            _check_text(c, f"continuations[{i}]")
            if not c:
                raise ValueError(f"continuations[{i}] is empty")
        if not continuations:
            return np.zeros(0, dtype=np.float64)
        scores = self._cached("score", {"reduction": "sum"}, prompt_version, [prompt, continuations],
                              lambda: list(self.backend.score(prompt, continuations)))
        return np.array(scores, dtype=np.float64)

    def __repr__(self) -> str:
        return f"TextGenerator(backend={self.backend!r})"
