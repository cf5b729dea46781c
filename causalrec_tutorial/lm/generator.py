"""A small generative language model: greedy ``generate`` and log-likelihood ``score`` (how an LM ranks items).

    gen = crt.lm.TextGenerator()                           # Gemma 3 270M (base), keras-hub on TensorFlow
    gen.generate("The capital of France is", max_new_tokens=5)
    prompt = crt.lm.prompts.RANK_CANDIDATES.render(items=["Alien (1979)", "Aliens (1986)"])
    gen.score(prompt, [" Predator (1987)", " Toy Story (1995)"])   # log-likelihoods, one per continuation

The model is the ``gemma3_270m`` asset (a GGUF file), converted once into a keras-hub preset (see
:mod:`.gemma`) and loaded once per process. Every call is cached on disk (:mod:`.cache`), keyed by the model,
the settings, the prompt version and the input, so re-running a chapter costs nothing.

How it runs: the forward pass is written with plain TensorFlow ops on the keras-hub preset's weights, in
compiled functions that take any length, so a process traces each of them once. The prompt goes through once ("prefill",
giving its key/value cache), then ``generate`` adds one token per step, and ``score`` puts *all* continuations
through together as one packed sequence on top of the prompt's cache: each continuation token attends to the
prompt and to the earlier tokens of its own continuation, never to another candidate's. Logits are computed only
where they are needed (the 262,144-word output layer costs as much as the whole transformer at each row), and
each continuation's score is the sum of its tokens' log-probabilities (log-softmax over the whole vocabulary).

Book: appendix_a_language_models.ipynb, sec-lm-generator
"""

from __future__ import annotations

import json
import math
import pathlib
import threading
import time
from collections.abc import Sequence

import numpy as np

from .. import config
from . import cache as _cache
from .backends import BackendError
from . import gemma as _gemma
from .._checks import check_int

#: Longest prompt plus new tokens (or plus the longest continuation) that ``generate`` and ``score`` accept.
MAX_CONTEXT = 2048
#: Continuation tokens scored per forward pass (each needs a 262,144-wide row of logits: 1 MB).
SCORE_ROWS = 256
#: Version of the forward pass; part of the cache key, so results of an older implementation are not reused.
RUNTIME_VERSION = "2"
DTYPES = ("float32", "bfloat16")
_BOS, _EOS, _END_OF_TURN = 2, 1, 106
_MODELS: dict[tuple, "_Gemma"] = {}
#: The forward pass's name for each per-layer weight (other than the fused q/k/v) -> its path in keras-hub's layer.
_LAYER_WEIGHTS = {
    "out": "attention/output_dense", "q_norm": "attention/query_norm", "k_norm": "attention/key_norm",
    "pre_att": "pre_attention_norm", "post_att": "post_attention_norm", "pre_ffw": "pre_ffw_norm",
    "post_ffw": "post_ffw_norm", "gate": "gating_ffw", "up": "gating_ffw_2", "down": "ffw_linear",
}
_LOCK = threading.Lock()


class _Gemma:
    """Tokenizer, weights and the compiled forward pass (one per process and dtype).

    The forward pass is written here with plain TensorFlow ops on the weights of the keras-hub preset, read straight
    from its weights file (:func:`read_preset_weights`; keras-hub's own ``Gemma3Backbone`` is built only on request,
    as :attr:`backbone`, to check against), so that it can do three things the stock layers cannot:

    * compute logits only at the rows that need them (a 262,144-word output layer costs about as much as the
      whole transformer at every row where it is applied);
    * run several continuations *packed* in one sequence on top of a shared prompt: each token attends to the
      prompt and to the earlier tokens of its own continuation (a block-diagonal causal mask);
    * keep the key/value cache as plain tensors that grow by one row per decoded token.
    """

    def __init__(self, dtype: str) -> None:
        config.import_keras()
        import sentencepiece
        import tensorflow as tf

        start = time.perf_counter()
        self.preset = preset = _gemma.gemma_preset()
        self.model_id, self.dtype = _gemma.model_id(), dtype
        with config._stderr_fd_silenced():  # sentencepiece logs "precompiled_charsmap is empty" to fd 2
            self._sp = sentencepiece.SentencePieceProcessor(
                model_proto=(preset / "assets" / "tokenizer" / "vocabulary.spm").read_bytes())
        self._backbone = None
        weights, cfg = read_preset_weights(preset)
        self.vocabulary_size = int(cfg["vocabulary_size"])
        self.n_params = int(sum(w.size for w in weights.values()))
        self._compute = compute = tf.as_dtype(dtype)
        heads, head_dim, hidden = int(cfg["num_query_heads"]), int(cfg["head_dim"]), int(cfg["hidden_dim"])
        self._head_dim = head_dim
        window = int(cfg["sliding_window_size"])

        def var(array, name):
            return tf.Variable(tf.cast(array, compute), trainable=False, name=name)

        def norm_var(array, name):
            # RMSNorm computes x * (1 + scale) in float32: store 1 + scale (scale rounded to the compute dtype first,
            # as keras-hub's layer holds it), which saves two graph ops per norm and changes no number
            return tf.Variable(1.0 + tf.cast(tf.cast(array, compute), tf.float32), trainable=False, name=name)

        embedding = var(weights.pop("reversible_embedding"), "embedding")
        layers = []
        for i in range(int(cfg["num_layers"])):
            prefix = f"block_{i}/"
            w = {key[len(prefix):]: weights.pop(key) for key in [k for k in weights if k.startswith(prefix)]}
            qkv = np.concatenate([w["attention/query_dense"].transpose(1, 0, 2).reshape(hidden, heads * head_dim),
                                  w["attention/key_dense"][0], w["attention/value_dense"][0]], axis=1)
            # keras-hub's rule (Gemma3Backbone): five sliding-window layers, then one global layer, and so on
            local = bool(cfg["use_sliding_window_attention"]) and i % 6 < 5
            w["attention/output_dense"] = w["attention/output_dense"].reshape(heads * head_dim, hidden)
            layer = {key: (norm_var if "norm" in path else var)(w[path], f"{key}_{i}")
                     for key, path in _LAYER_WEIGHTS.items()}
            layers.append(dict(layer, qkv=var(qkv, f"qkv_{i}"), local=local,
                               wavelength=10_000.0 if local else 1_000_000.0))
        final_norm = norm_var(weights.pop("rms_normalization"), "final_norm")
        if weights:
            raise ValueError(f"unexpected weights in {preset}: {sorted(weights)[:5]}")
        eps = float(cfg["layer_norm_epsilon"])
        self._n_layers = len(layers)

        # Constants made once here are captured once by the traced functions (a literal inside makes a graph op at
        # every use: with 18 layers, tracing time is mostly op count).
        eps_t, q_scale, masked = tf.constant(eps), tf.constant(head_dim ** -0.5, compute), tf.constant(-1e9)

        def rms(x, one_plus_scale):
            x32 = tf.cast(x, tf.float32)
            x32 = x32 * tf.math.rsqrt(tf.reduce_mean(tf.square(x32), axis=-1, keepdims=True) + eps_t)
            return tf.cast(x32 * one_plus_scale, compute)

        def rope_tables(pos, wavelength):
            inv = wavelength ** (-np.arange(0, head_dim, 2, dtype=np.float32) / head_dim)
            freq = tf.cast(pos, tf.float32)[:, None] * tf.constant(inv, tf.float32)[None, :]
            freq = tf.concat([freq, freq], axis=-1)
            return tf.cast(tf.cos(freq), compute), tf.cast(tf.sin(freq), compute)

        def rope(x, cos, sin):  # x (..., T, 256) with cos/sin (T, 256) broadcast on the left
            x1, x2 = tf.split(x, 2, axis=-1)
            return x * cos + tf.concat([-x2, x1], axis=-1) * sin

        def forward(ids, pos, seg, past_k, past_v):
            """Hidden states of the new tokens ``ids`` (T,) at positions ``pos`` on top of ``past_k/past_v``
            (layers, P, head_dim; positions 0..P-1, seen by every new token within the sliding window). New tokens
            see each other causally within the same ``seg`` value; ``seg == 0`` tokens are seen by all."""
            t = tf.shape(ids)[0]
            p = tf.shape(past_k)[1]
            x = tf.gather(tf.convert_to_tensor(embedding), ids)
            x = x * tf.cast(tf.sqrt(float(hidden)), compute)
            key_pos = tf.concat([tf.range(p), pos], axis=0)
            key_seg = tf.concat([tf.zeros([p], tf.int32), seg], axis=0)
            causal = key_pos[None, :] <= pos[:, None]
            visible = (key_seg[None, :] == 0) | (key_seg[None, :] == seg[:, None])
            dist = pos[:, None] - key_pos[None, :]
            global_mask = (causal & visible)[:, None, :]  # (T, 1, P+T): broadcast over heads
            local_mask = global_mask & (dist < window)[:, None, :]
            tables = {}  # wavelength -> cos, sin for k (T, 256) and for q (T, 1, 256: broadcast over heads)
            for wavelength in sorted({layer["wavelength"] for layer in layers}):
                cos, sin = rope_tables(pos, wavelength)
                tables[wavelength] = cos, sin, cos[:, None, :], sin[:, None, :]
            shape_q, shape_rows = tf.stack([t, heads, head_dim]), tf.stack([t * heads, -1])
            shape_heads, shape_tokens = tf.stack([t, heads, -1]), tf.stack([t, heads * head_dim])
            split = [heads * head_dim, head_dim, head_dim]
            new_k, new_v = [], []
            for w, cache_k, cache_v in zip(layers, tf.unstack(past_k, len(layers)), tf.unstack(past_v, len(layers))):
                h = rms(x, w["pre_att"])
                q, k, v = tf.split(tf.matmul(h, w["qkv"]), split, axis=1)
                cos, sin, cos_q, sin_q = tables[w["wavelength"]]
                q = rope(rms(tf.reshape(q, shape_q), w["q_norm"]), cos_q, sin_q) * q_scale
                k = rope(rms(k, w["k_norm"]), cos, sin)
                keys, values = tf.concat([cache_k, k], axis=0), tf.concat([cache_v, v], axis=0)
                new_k.append(keys)
                new_v.append(values)
                scores = tf.cast(tf.reshape(tf.matmul(tf.reshape(q, shape_rows), keys, transpose_b=True),
                                            shape_heads), tf.float32)
                mask = local_mask if w["local"] else global_mask
                probs = tf.nn.softmax(tf.where(mask, scores, masked), axis=-1)
                att = tf.matmul(tf.reshape(tf.cast(probs, compute), shape_rows), values)
                att = tf.matmul(tf.reshape(att, shape_tokens), w["out"])
                x = x + rms(att, w["post_att"])
                h = rms(x, w["pre_ffw"])
                ffw = tf.nn.gelu(tf.matmul(h, w["gate"]), approximate=True) * tf.matmul(h, w["up"])
                x = x + rms(tf.matmul(ffw, w["down"]), w["post_ffw"])
            return rms(x, final_norm), tf.stack(new_k), tf.stack(new_v)

        def logits_t(hidden):
            """Logits transposed, (vocabulary, rows): ``E @ h.T`` is several times faster in TensorFlow's CPU
            matmul than ``h @ E.T`` for this 262,144 x 640 matrix."""
            return tf.cast(tf.matmul(tf.convert_to_tensor(embedding), hidden, transpose_b=True), tf.float32)

        vec = tf.TensorSpec([None], tf.int32)
        kv = tf.TensorSpec([len(layers), None, head_dim], compute)

        @tf.function(input_signature=[vec, vec, vec, kv, kv, vec, tf.TensorSpec([None, 2], tf.int32)], autograph=False)
        def step(ids, pos, seg, past_k, past_v, rows, picks):
            """Run new tokens on top of a cache; return the log-probs at ``picks`` ((row, token) pairs, rows
            indexing ``rows``), the most likely next token after each of ``rows``, and the grown cache."""
            hidden, keys, values = forward(ids, pos, seg, past_k, past_v)
            logits = logits_t(tf.gather(hidden, rows))
            norm = tf.reduce_logsumexp(logits, axis=0)
            picked = tf.gather_nd(logits, tf.reverse(picks, axis=[1])) - tf.gather(norm, picks[:, 0])
            return picked, tf.argmax(logits, axis=0, output_type=tf.int32), keys, values

        @tf.function(input_signature=[vec], autograph=False)
        def full(ids):
            """Next-token log-probs (T, vocabulary) at every position of one sequence (for checks)."""
            n = tf.shape(ids)[0]
            empty = tf.zeros([len(layers), 0, head_dim], compute)
            hidden, _, _ = forward(ids, tf.range(n), tf.zeros([n], tf.int32), empty, empty)
            return tf.nn.log_softmax(tf.transpose(logits_t(hidden)), axis=-1)

        self._step, self._full = step, full
        self._forward = forward
        self.load_seconds = time.perf_counter() - start

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (no BOS), as keras-hub's ``Gemma3Tokenizer`` (the same SentencePiece model)."""
        return [int(i) for i in self._sp.encode(text)]

    def detokenize(self, ids: Sequence[int]) -> str:
        return self._sp.decode([int(i) for i in ids]) if len(ids) else ""

    @property
    def backbone(self):
        """keras-hub's ``Gemma3Backbone`` with the same weights, built on first access (~10 s; for checks only:
        the forward pass here never uses it)."""
        if self._backbone is None:
            import keras_hub

            self._backbone = keras_hub.models.Gemma3Backbone.from_preset(str(self.preset), dtype=self.dtype)
        return self._backbone

    def empty_cache(self):
        """A key/value cache with no tokens: two (layers, 0, head_dim) tensors."""
        import tensorflow as tf

        empty = tf.zeros([self._n_layers, 0, self._head_dim], self._compute)
        return empty, empty

    def all_log_probs(self, token_ids) -> np.ndarray:
        """Next-token log-probs (length, vocabulary) at every position of one sequence (for checks)."""
        return self._full(np.asarray(token_ids, dtype=np.int32).reshape(-1)).numpy()

    def run(self, ids, pos, seg, cache, rows, picks):
        """One call of the compiled step on NumPy inputs; returns (picked log-probs, argmax per row, cache)."""
        picked, best, keys, values = self._step(
            np.asarray(ids, np.int32), np.asarray(pos, np.int32), np.asarray(seg, np.int32), cache[0], cache[1],
            np.asarray(rows, np.int32), np.asarray(picks, np.int32).reshape(-1, 2))
        return picked.numpy(), best.numpy(), (keys, values)

    def generate(self, ids: list[int], max_new_tokens: int, stop: Sequence[str]) -> tuple[str, int]:
        """Greedy decoding; returns the text (cut before the first stop string) and the number of new tokens."""
        n = len(ids)
        _, best, cache = self.run(ids, np.arange(n), np.zeros(n), self.empty_cache(), [n - 1], np.zeros((0, 2)))
        new: list[int] = []
        text = ""
        for i in range(max_new_tokens):
            token = int(best[0])
            if token in (_EOS, _END_OF_TURN):
                break
            new.append(token)
            text = self.detokenize(new)
            cut = min((text.find(s) for s in stop if s in text), default=-1)
            if cut >= 0:
                return text[:cut], len(new)
            if i + 1 < max_new_tokens:
                _, best, cache = self.run([token], [n + i], [0], cache, [0], np.zeros((0, 2)))
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
        if len(ids) + longest > MAX_CONTEXT:
            raise ValueError(f"prompt plus longest continuation is {len(ids) + longest} tokens; at most "
                             f"{MAX_CONTEXT} are supported")
        n = len(ids)
        first, _, cache = self.run(ids, np.arange(n), np.zeros(n), self.empty_cache(), [n - 1],
                                   [(0, c[0]) for c in conts])
        totals = first.astype(np.float64)
        # The continuations' tokens (all but the last of each) go in packed groups of at most SCORE_ROWS rows.
        start = 0
        while start < len(conts):
            stop, rows = start, 0
            while stop < len(conts) and (stop == start or rows + len(conts[stop]) - 1 <= SCORE_ROWS):
                rows += len(conts[stop]) - 1
                stop += 1
            tokens, pos, seg, picks, owner = [], [], [], [], []
            for k in range(start, stop):
                c = conts[k]
                for j in range(len(c) - 1):
                    picks.append((len(tokens), c[j + 1]))
                    owner.append(k)
                    tokens.append(c[j])
                    pos.append(n + j)
                    seg.append(k - start + 1)
            if tokens:
                picked, _, _ = self.run(tokens, pos, seg, cache, np.arange(len(tokens)), picks)
                np.add.at(totals, np.array(owner), picked.astype(np.float64))
            start = stop
        return totals


def read_preset_weights(preset: pathlib.Path) -> tuple[dict[str, np.ndarray], dict]:
    """The weights of a converted Gemma 3 preset as float32 arrays, read straight from its Keras weights file.

    Building keras-hub's ``Gemma3Backbone`` only to copy its weights out cost about 5 s per process and its
    tokenizer 2 s more; the forward pass needs the arrays alone. Keys: ``reversible_embedding``,
    ``rms_normalization`` and ``block_{i}/<layer path>`` (e.g. ``block_0/attention/query_dense``), in keras-hub's
    shapes. ``tests/test_lm_generator.py`` checks the forward pass on these against the backbone itself.

    Returns:
        ``(weights, config)``: the arrays and the backbone's configuration (``config.json``).

    Raises:
        ValueError: if the configuration is not the one the forward pass implements (e.g. RoPE scaling).
    """
    import h5py

    cfg = json.loads((preset / "config.json").read_text(encoding="utf-8"))["config"]
    for key, value in (("local_rope_scaling_factor", 1.0), ("global_rope_scaling_factor", 1.0),
                       ("query_head_dim_normalize", True), ("use_query_key_norm", True),
                       ("use_post_ffw_norm", True), ("use_post_attention_norm", True),
                       ("attention_logit_soft_cap", None), ("final_logit_soft_cap", None), ("vision_encoder", None)):
        if cfg.get(key, value) != value:
            raise ValueError(f"{preset}: {key}={cfg[key]!r} is not supported (the forward pass assumes {value!r})")
    weights = {}
    with h5py.File(preset / "model.weights.h5", "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.endswith("/vars/0"):
                path = name[:-len("/vars/0")]
                head, _, rest = path.partition("/")
                if head.startswith("gemma3_decoder_block"):
                    index = head[len("gemma3_decoder_block"):].lstrip("_") or "0"
                    path = f"block_{index}/{rest}"
                weights[path] = np.asarray(obj[()], dtype=np.float32)
        f["layers"].visititems(visit)
    return weights, cfg


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
        return f"{_gemma.model_id()}/keras-{self.dtype}/runtime-{RUNTIME_VERSION}"

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

    The default model loads on first use (a one-time conversion of the GGUF, about a minute, then a few seconds
    per process, plus a few more to compile the forward pass on the first call) and is shared by every generator with the same ``dtype`` in the process.

    Args:
        dtype: for the default backend: ``"float32"`` (default; about 2.3 GB resident, 3 GB at peak while
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

    def _cached(self, kind: str, settings: dict, prompt_version: str, value, compute, valid):
        """``compute()`` through the disk cache; a result that ``valid`` rejects is never stored (BackendError)."""

        def checked():
            result = compute()
            if not valid(result):
                raise BackendError(f"{self.backend!r} returned an invalid {kind} result: {str(result)[:200]}")
            return result

        if self.cache is None:
            return checked()
        key = _cache.make_key(self.backend.model_id, {"kind": kind, **settings}, prompt_version, value)
        return self.cache.get_or_compute(key, checked, valid)

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
        max_new_tokens = check_int("max_new_tokens", max_new_tokens)
        stops = [] if stop is None else [stop] if isinstance(stop, str) else list(stop)
        for s in stops:
            if not isinstance(s, str):
                raise TypeError(f"stop strings must be str, got {type(s).__name__}")
            if not s:
                raise ValueError("stop strings must not be empty")
        settings = {"decoding": "greedy", "max_new_tokens": int(max_new_tokens), "stop": sorted(stops)}
        return self._cached("generate", settings, prompt_version, prompt,
                            lambda: self.backend.generate(prompt, int(max_new_tokens), stops),
                            lambda text: isinstance(text, str))

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
        n = len(continuations)
        scores = self._cached("score", {"reduction": "sum"}, prompt_version, [prompt, continuations],
                              lambda: [float(s) for s in self.backend.score(prompt, continuations)],
                              lambda s: isinstance(s, list) and len(s) == n and all(
                                  isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                  and v <= 0 for v in s))
        return np.array(scores, dtype=np.float64)

    def __repr__(self) -> str:
        return f"TextGenerator(backend={self.backend!r})"
