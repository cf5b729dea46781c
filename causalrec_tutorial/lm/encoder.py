"""Sentence embeddings: MiniLM-L6-v2 on TensorFlow, and a TF-IDF baseline behind the same interface.

    enc = crt.lm.TextEncoder()                       # all-MiniLM-L6-v2 from the fetched ``minilm`` asset
    vectors = enc.encode(["a quiet documentary", "a loud action film"])   # float32 (2, 384), unit rows
    base = crt.lm.TfidfEncoder().fit(corpus)         # same ``encode``, for comparison

The MiniLM weights come from the ``minilm`` asset (Hugging Face format: ``config.json``, ``model.safetensors``,
``vocab.txt``) and are read straight from it; the model is then kept for the rest of the process. The pipeline is
sentence-transformers': lower-cased WordPiece tokens (:class:`WordPieceTokenizer`), ``[CLS] ... [SEP]``, BERT (a
forward pass in plain TensorFlow ops), the mean of the token vectors over the non-padding positions, L2
normalisation. keras-hub's ``BertBackbone`` with the same weights (converted once into a preset in
``config.cache_dir() / "models"``) is built only on request, to check against.

Truncation rule: a text keeps its first ``max_length - 2`` word pieces (254 by default), so that with ``[CLS]`` and
``[SEP]`` it fills at most ``max_length`` = 256 positions, as sentence-transformers' ``max_seq_length=256``.

Speed: texts are sorted by length and batched, each batch is padded only to its longest text, and the forward pass
is one compiled ``tf.function`` that takes any shape (traced once); results are cached on disk per text. The cost
is the padded tokens (about 3,000 per second on two cores), so short texts are cheap and long ones are not.

Book: appendix_a_language_models.ipynb, sec-lm-encoder
"""

from __future__ import annotations

import json
import pathlib
import re
import struct
import threading
import time
import unicodedata
from collections.abc import Sequence

import numpy as np

from .. import config
from .._checks import check_int
from . import cache as _cache
from .presets import save_preset

MAX_LENGTH = 256
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
_MINILM_DIM = 384
_PRESET_VERSION = "1"
_MODELS: dict[tuple, "_MiniLM"] = {}
_LOCK = threading.Lock()


def _check_texts(texts) -> list[str]:
    """Validate the public input: a sequence of ``str`` (a single string is refused, it is a common slip)."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not a single string; wrap it in a list")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a sequence of strings, got {type(texts).__name__}") from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str")
    return texts


def read_safetensors(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """Read a ``.safetensors`` file into NumPy arrays (F32/F16/I64/I32 only; enough for MiniLM).

    The format is an 8-byte little-endian header length, a JSON header of ``{name: {dtype, shape, data_offsets}}``,
    then the raw little-endian tensor bytes, so no extra package is needed.

    Raises:
        ValueError: on a dtype other than those four.

    Book: appendix_a_language_models.ipynb, sec-lm-encoder
    """
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if dtypes.get(info["dtype"]) is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(raw, dtype=dtypes[info["dtype"]], count=(end - start) // np.dtype(
            dtypes[info["dtype"]]).itemsize, offset=8 + n + start).reshape(info["shape"])
    return out


def _minilm_source() -> tuple[pathlib.Path, str]:
    """The asset folder and a model id that includes the weights' checksum (so a new model gets new cache keys)."""
    from .. import assets

    folder = assets.locate("minilm")
    sha = next(f.sha256 for f in assets.MANIFEST["minilm"].files if f.path == "model.safetensors")
    return folder, f"{MINILM_ID}@{sha[:16]}"


def _build_backbone(folder: pathlib.Path):
    """A keras-hub ``BertBackbone`` with MiniLM's weights, built from the HF-format files in ``folder``."""
    config.import_keras()
    import keras_hub

    cfg = json.loads((folder / "config.json").read_text())
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=cfg["vocab_size"], num_layers=cfg["num_hidden_layers"], num_heads=cfg["num_attention_heads"],
        hidden_dim=cfg["hidden_size"], intermediate_dim=cfg["intermediate_size"],
        max_sequence_length=cfg["max_position_embeddings"], num_segments=cfg["type_vocab_size"], dropout=0.0)
    w = read_safetensors(folder / "model.safetensors")
    w = {k.removeprefix("bert."): v for k, v in w.items()}

    def dense(kernel_var, name, shape=None):
        kernel = w[name].T
        kernel_var.assign(kernel.reshape(shape or kernel_var.shape))

    backbone.get_layer("token_embedding").embeddings.assign(w["embeddings.word_embeddings.weight"])
    backbone.get_layer("position_embedding").position_embeddings.assign(w["embeddings.position_embeddings.weight"])
    backbone.get_layer("segment_embedding").embeddings.assign(w["embeddings.token_type_embeddings.weight"])
    norm = backbone.get_layer("embeddings_layer_norm")
    norm.gamma.assign(w["embeddings.LayerNorm.weight"])
    norm.beta.assign(w["embeddings.LayerNorm.bias"])
    for i in range(cfg["num_hidden_layers"]):
        block, p = backbone.get_layer(f"transformer_layer_{i}"), f"encoder.layer.{i}."
        attn = block._self_attention_layer
        for layer, name in [(attn.query_dense, "attention.self.query"), (attn.key_dense, "attention.self.key"),
                            (attn.value_dense, "attention.self.value"),
                            (attn.output_dense, "attention.output.dense")]:
            dense(layer.kernel, p + name + ".weight")
            layer.bias.assign(w[p + name + ".bias"].reshape(layer.bias.shape))
        for layer, name in [(block._feedforward_intermediate_dense, "intermediate.dense"),
                            (block._feedforward_output_dense, "output.dense")]:
            dense(layer.kernel, p + name + ".weight")
            layer.bias.assign(w[p + name + ".bias"])
        for layer, name in [(block._self_attention_layer_norm, "attention.output.LayerNorm"),
                            (block._feedforward_layer_norm, "output.LayerNorm")]:
            layer.gamma.assign(w[p + name + ".weight"])
            layer.beta.assign(w[p + name + ".bias"])
    pooled = backbone.get_layer("pooled_dense")
    pooled.kernel.assign(w["pooler.dense.weight"].T)
    pooled.bias.assign(w["pooler.dense.bias"])
    return backbone


def _exact_gelu(backbone) -> None:
    """Use the exact (erf) GELU, as BERT was trained with; keras-hub's BertBackbone builds the tanh approximation."""
    keras = config.import_keras()
    for layer in backbone.layers:
        if layer.name.startswith("transformer_layer_"):
            layer._feedforward_intermediate_dense.activation = lambda x: keras.activations.gelu(x, approximate=False)


def minilm_preset(progress: bool = False) -> pathlib.Path:
    """The keras-hub preset folder of MiniLM in the cache, converted from the ``minilm`` asset on first use.

    Raises:
        AssetError: if the ``minilm`` asset has not been fetched (the message names the command).

    Book: appendix_a_language_models.ipynb, sec-lm-encoder
    """
    folder, model_id = _minilm_source()
    target = config.cache_dir() / "models" / f"minilm-l6-v2-kerashub-v{_PRESET_VERSION}-{model_id.split('@')[1]}"
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file():
        return target
    config.import_keras()
    import keras_hub

    if progress:
        print(f"converting {folder} into a keras-hub preset at {target} (once)")
    backbone = _build_backbone(folder)
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True, strip_accents=True)
    return save_preset(target, backbone, tokenizer)


_ASCII_CONTROL = {cp: None for cp in [*range(32), 127] if chr(cp) not in "\t\n\r"}
_ASCII_WORD = re.compile(r"[0-9a-z]+|[^\s0-9a-z]")


class WordPieceTokenizer:
    """BERT's uncased WordPiece tokenizer, as Hugging Face's ``BertTokenizer`` with MiniLM's settings.

    Two steps. *Basic* splitting: drop control characters, write any whitespace as a space, put spaces around
    CJK ideographs, lower-case, strip accents (Unicode NFD without the combining marks), and make every punctuation
    character a word of its own. *WordPiece*: each word becomes the longest vocabulary entry that starts it, then
    the longest ``##``-entry that continues it, and so on; a word that cannot be covered (or is over 100 characters)
    becomes ``[UNK]``. No special tokens are added here. The tests check it against Hugging Face's own (Rust)
    tokenizer on every item text of the course and on odd inputs; keras-hub's ``BertTokenizer`` differs from both on
    rare characters (``ß``, a no-break space, Hangul).

    Args:
        vocabulary: the tokens in id order (MiniLM's ``vocab.txt``, one per line).

    Book: appendix_a_language_models.ipynb, sec-lm-tokens
    """

    MAX_WORD_CHARS = 100

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.vocabulary = list(vocabulary)
        self._ids = {token: i for i, token in enumerate(self.vocabulary)}
        self.unk_id = self._ids["[UNK]"]
        self._words: dict[str, list[int]] = {}  # word -> ids, memoised: catalogues repeat words a lot

    def token_to_id(self, token: str) -> int:
        return self._ids[token]

    def id_to_token(self, token_id: int) -> str:
        return self.vocabulary[token_id]

    @staticmethod
    def _is_punctuation(ch: str) -> bool:
        cp = ord(ch)  # BERT counts all non-alphanumeric ASCII as punctuation, e.g. "$" and "^"
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    @staticmethod
    def _is_cjk(cp: int) -> bool:
        return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
                or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
                or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)

    def words(self, text: str) -> list[str]:
        """The basic split: lower-cased, accent-free words and single punctuation characters."""
        if text.isascii():  # the same rules, quicker: no accents, no CJK, every symbol is punctuation
            return _ASCII_WORD.findall(text.translate(_ASCII_CONTROL).lower())
        chars = []
        for ch in unicodedata.normalize("NFC", text):
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD:
                continue
            if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
                chars.append(" ")
            elif unicodedata.category(ch).startswith("C"):
                continue
            elif self._is_cjk(cp):
                chars.append(f" {ch} ")
            else:
                chars.append(ch)
        out = []
        for word in "".join(chars).split():
            word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
            start = 0
            for i, ch in enumerate(word):
                if self._is_punctuation(ch):
                    out.extend([word[start:i], ch] if i > start else [ch])
                    start = i + 1
            if start < len(word):
                out.append(word[start:])
        return out

    def _pieces(self, word: str) -> list[int]:
        if len(word) > self.MAX_WORD_CHARS:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self._ids:
                    ids.append(self._ids[piece])
                    start = end
                    break
            else:
                return [self.unk_id]
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of one text (no ``[CLS]``/``[SEP]``)."""
        ids: list[int] = []
        for word in self.words(text):
            if word not in self._words:
                self._words[word] = self._pieces(word)
            ids.extend(self._words[word])
        return ids

    def __call__(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]


class _MiniLM:
    """The loaded model: tokenizer, weights and the compiled pooled forward pass (one per process).

    The forward pass is BERT written with plain TensorFlow ops on the weights read straight from the asset's
    ``model.safetensors`` (as the generator does for Gemma): loading keras-hub and building its ``BertBackbone``
    cost about 3 s per process for the same numbers. keras-hub's model is still built on request, as
    :attr:`backbone`, and the tests check that both give the same vectors.
    """

    def __init__(self, folder: pathlib.Path, model_id: str) -> None:
        config.import_keras()
        import tensorflow as tf

        start = time.perf_counter()
        self.folder, self.model_id = folder, model_id
        self._backbone = None
        self.tokenizer = WordPieceTokenizer((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())
        self.cls_id = self.tokenizer.token_to_id("[CLS]")
        self.sep_id = self.tokenizer.token_to_id("[SEP]")
        self.pad_id = self.tokenizer.token_to_id("[PAD]")
        cfg = json.loads((folder / "config.json").read_text())
        w = {k.removeprefix("bert."): v for k, v in read_safetensors(folder / "model.safetensors").items()
             if v.dtype.kind == "f"}  # not the integer position_ids buffer
        self.n_params = int(sum(v.size for v in w.values()))  # incl. the pooler, which mean pooling does not use
        heads, dim, eps = int(cfg["num_attention_heads"]), int(cfg["hidden_size"]), float(cfg["layer_norm_eps"])
        head_dim = dim // heads

        def const(*names, transpose=False):
            arrays = [w[n].T if transpose else w[n] for n in names]
            return tf.constant(np.concatenate(arrays, axis=-1) if len(arrays) > 1 else arrays[0], tf.float32)

        word, position = const("embeddings.word_embeddings.weight"), const("embeddings.position_embeddings.weight")
        segment = const("embeddings.token_type_embeddings.weight")[0]  # one segment: always type 0
        norm = const("embeddings.LayerNorm.weight"), const("embeddings.LayerNorm.bias")
        layers = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
            layers.append(dict(
                qkv=const(*[n + ".weight" for n in qkv], transpose=True), qkv_b=const(*[n + ".bias" for n in qkv]),
                out=const(p + "attention.output.dense.weight", transpose=True),
                out_b=const(p + "attention.output.dense.bias"),
                norm1=(const(p + "attention.output.LayerNorm.weight"), const(p + "attention.output.LayerNorm.bias")),
                up=const(p + "intermediate.dense.weight", transpose=True), up_b=const(p + "intermediate.dense.bias"),
                down=const(p + "output.dense.weight", transpose=True), down_b=const(p + "output.dense.bias"),
                norm2=(const(p + "output.LayerNorm.weight"), const(p + "output.LayerNorm.bias"))))

        def layer_norm(x, scale_bias):
            mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
            return (x - mean) * tf.math.rsqrt(var + eps) * scale_bias[0] + scale_bias[1]

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32)],
                     autograph=False)
        def embed(token_ids, mask):
            b, t = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
            x = layer_norm(tf.gather(word, token_ids) + position[None, :t] + segment, norm)
            x = tf.reshape(x, [b * t, dim])
            hide = (1.0 - tf.cast(mask, tf.float32))[:, None, None, :] * -1e9  # padding gets no attention
            for lw in layers:
                qkv = tf.reshape(tf.matmul(x, lw["qkv"]) + lw["qkv_b"], [b, t, 3, heads, head_dim])
                q, k, v = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4]))  # each (b, heads, t, head_dim)
                att = tf.nn.softmax(tf.matmul(q * head_dim ** -0.5, k, transpose_b=True) + hide, axis=-1)
                ctx = tf.reshape(tf.transpose(tf.matmul(att, v), [0, 2, 1, 3]), [b * t, dim])
                x = layer_norm(x + tf.matmul(ctx, lw["out"]) + lw["out_b"], lw["norm1"])
                h = tf.nn.gelu(tf.matmul(x, lw["up"]) + lw["up_b"], approximate=False)  # exact GELU, as BERT
                x = layer_norm(x + tf.matmul(h, lw["down"]) + lw["down_b"], lw["norm2"])
            m = tf.cast(mask, tf.float32)[:, :, None]
            total = tf.reduce_sum(tf.reshape(x, [b, t, dim]) * m, axis=1)
            return tf.math.l2_normalize(total / tf.maximum(tf.reduce_sum(m, axis=1), 1e-9), axis=1, epsilon=1e-24)

        self.embed = embed
        self.load_seconds = time.perf_counter() - start

    @property
    def backbone(self):
        """keras-hub's ``BertBackbone`` with the same weights (exact GELU), built on first access from the preset
        that :func:`minilm_preset` converts once; for checks only: :meth:`encode` never uses it."""
        if self._backbone is None:
            import keras_hub

            self._backbone = keras_hub.models.BertBackbone.from_preset(str(minilm_preset()))
            _exact_gelu(self._backbone)
        return self._backbone

    def token_ids(self, texts: list[str], max_length: int) -> list[np.ndarray]:
        """``[CLS] + first (max_length - 2) word pieces + [SEP]`` for each text."""
        return [np.array([self.cls_id, *ids[: max_length - 2], self.sep_id], dtype=np.int32)
                for ids in self.tokenizer(texts)]

    def encode(self, texts: list[str], batch_size: int, max_length: int, progress: bool) -> np.ndarray:
        from tqdm.auto import tqdm

        ids = self.token_ids(texts, max_length)
        order = np.argsort([len(r) for r in ids], kind="stable")
        out = np.empty((len(texts), _MINILM_DIM), dtype=np.float32)
        with tqdm(total=len(texts), desc="encode", unit="text", disable=not progress) as bar:
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                width = max(len(ids[i]) for i in idx)  # sorted by length: little padding
                tokens = np.full((len(idx), width), self.pad_id, dtype=np.int32)
                mask = np.zeros((len(idx), width), dtype=np.int32)
                for row, i in enumerate(idx):
                    tokens[row, : len(ids[i])] = ids[i]
                    mask[row, : len(ids[i])] = 1
                out[idx] = self.embed(tokens, mask).numpy()
                bar.update(len(idx))
        return out


def _load_minilm() -> _MiniLM:
    folder, model_id = _minilm_source()
    key = (model_id, str(config.cache_dir()))
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = _MiniLM(folder, model_id)
        return _MODELS[key]


class TextEncoder:
    """Sentence embeddings with all-MiniLM-L6-v2 (Keras, TensorFlow backend): unit-length float32 vectors.

    The model is loaded on the first :meth:`encode` (and kept for the process); vectors are cached on disk per
    text, so encoding the same texts again costs a file read.

    Args:
        batch_size: texts per forward pass (default 32).
        max_length: positions per text including ``[CLS]`` and ``[SEP]`` (default and maximum 256); longer texts
            keep their first ``max_length - 2`` word pieces.
        cache: ``True`` for the default on-disk cache, ``False`` for none, or a :class:`~.cache.DiskCache`.
        progress: show a progress bar: ``None`` (default) shows it for more than 1000 texts to compute.

    Raises:
        ValueError: on a non-positive ``batch_size`` or a ``max_length`` outside ``[3, 256]``.

    Book: appendix_a_language_models.ipynb, sec-lm-encoder
    """

    name = "minilm"
    dim = _MINILM_DIM

    def __init__(self, batch_size: int = 32, max_length: int = MAX_LENGTH,
                 cache: bool | _cache.DiskCache = True, progress: bool | None = None) -> None:
        self.batch_size = check_int("batch_size", batch_size)
        self.max_length = check_int("max_length", max_length, 3, MAX_LENGTH)
        self.cache = _cache.DiskCache("encoder") if cache is True else (cache or None)
        self.progress = progress

    @property
    def model(self) -> _MiniLM:
        """The loaded model (loads it on first access)."""
        return _load_minilm()

    def encode(self, texts: Sequence[str], batch_size: int | None = None,
               progress: bool | None = None) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows.

        Args:
            texts: a sequence of strings (a list, tuple or pandas Series); ``""`` is allowed.
            batch_size: overrides the encoder's ``batch_size`` for this call.
            progress: overrides the encoder's ``progress`` for this call.

        Returns:
            ``np.ndarray`` of shape ``(len(texts), 384)``, dtype float32, each row of unit length; ``(0, 384)`` for
            an empty input.

        Raises:
            TypeError: if ``texts`` is a single string or holds a non-string.
            ValueError: on a non-positive ``batch_size``.
            AssetError: if the ``minilm`` asset has not been fetched.

        Book: appendix_a_language_models.ipynb, sec-lm-encoder
        """
        texts = _check_texts(texts)
        batch_size = self.batch_size if batch_size is None else check_int("batch_size", batch_size)
        progress = self.progress if progress is None else progress
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        settings = {"max_length": self.max_length, "pooling": "mean", "normalize": True}
        keys = [_cache.make_key(model.model_id, settings, "", t) for t in texts] if self.cache else None
        todo: dict[str, list[int]] = {}  # distinct texts still to compute -> their rows
        for i, text in enumerate(texts):
            hit = self.cache.get(keys[i], valid=self._valid_vector) if self.cache else None
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            missing = list(todo)
            show = progress if progress is not None else len(missing) > 1000
            vectors = model.encode(missing, batch_size, self.max_length, show)
            for text, vec in zip(missing, vectors):
                rows = todo[text]
                out[rows] = vec
                if self.cache and np.isfinite(vec).all():  # a non-finite vector is returned, never stored
                    self.cache.set(keys[rows[0]], vec)
        return out

    def _valid_vector(self, value) -> bool:
        """A cached vector is used only if it is what encode() stores: finite floats of shape (dim,)."""
        return (isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.shape == (self.dim,)
                and bool(np.isfinite(value).all()))

    def __repr__(self) -> str:
        return f"TextEncoder(model={MINILM_ID!r}, batch_size={self.batch_size}, max_length={self.max_length})"


class TfidfEncoder:
    """A TF-IDF baseline with the same ``encode`` as :class:`TextEncoder` (scikit-learn's ``TfidfVectorizer``).

    Fit it on a corpus (:meth:`fit`, or ``corpus=`` here); an unfitted encoder fits on the texts of its first
    :meth:`encode`. Rows are L2-normalised; a text with no known term gives a zero row.

    Args:
        corpus: texts to fit the vocabulary and IDF weights on (optional).
        **tfidf_kwargs: passed to ``TfidfVectorizer`` (defaults: ``sublinear_tf=True``, ``min_df=1``).

    Book: appendix_a_language_models.ipynb, sec-lm-encoder
    """

    name = "tfidf"

    def __init__(self, corpus: Sequence[str] | None = None, **tfidf_kwargs) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(**{"sublinear_tf": True, "min_df": 1, **tfidf_kwargs, "dtype": np.float32})
        self.fitted = False
        if corpus is not None:
            self.fit(corpus)

    @property
    def dim(self) -> int:
        """The vocabulary size (0 before fitting)."""
        return len(self.vectorizer.vocabulary_) if self.fitted else 0

    def fit(self, corpus: Sequence[str]) -> "TfidfEncoder":
        """Learn the vocabulary and IDF weights from ``corpus``; returns ``self``.

        Raises:
            TypeError: if ``corpus`` is a single string or holds a non-string.
            ValueError: if ``corpus`` is empty or has no word of two or more characters.
        """
        corpus = _check_texts(corpus)
        if not corpus:
            raise ValueError("corpus must hold at least one text")
        self.vectorizer.fit(corpus)
        self.fitted = True
        return self

    def encode(self, texts: Sequence[str], batch_size: int | None = None,
               progress: bool | None = None) -> np.ndarray:
        """TF-IDF rows (dense float32, L2-normalised); ``batch_size`` and ``progress`` are accepted and ignored.

        Returns:
            ``np.ndarray`` of shape ``(len(texts), dim)``.

        Raises:
            TypeError: if ``texts`` is a single string or holds a non-string.

        Book: appendix_a_language_models.ipynb, sec-lm-encoder
        """
        texts = _check_texts(texts)
        if batch_size is not None:
            check_int("batch_size", batch_size)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.fitted:
            self.fit(texts)
        return np.asarray(self.vectorizer.transform(texts).toarray(), dtype=np.float32)

    def __repr__(self) -> str:
        return f"TfidfEncoder(dim={self.dim}, fitted={self.fitted})"
