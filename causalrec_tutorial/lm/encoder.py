"""Sentence embeddings: MiniLM-L6-v2 in Keras (TensorFlow), and a TF-IDF baseline behind the same interface.

    enc = crt.lm.TextEncoder()                       # all-MiniLM-L6-v2 from the fetched ``minilm`` asset
    vectors = enc.encode(["a quiet documentary", "a loud action film"])   # float32 (2, 384), unit rows
    base = crt.lm.TfidfEncoder().fit(corpus)         # same ``encode``, for comparison

The MiniLM weights come from the ``minilm`` asset (Hugging Face format: ``config.json``, ``model.safetensors``,
``vocab.txt``). They are converted once into a keras-hub preset in ``config.cache_dir() / "models"`` and loaded from
there afterwards; the model is then kept for the rest of the process. The pipeline is sentence-transformers':
lower-cased WordPiece tokens, ``[CLS] ... [SEP]``, BERT, the mean of the token vectors over the non-padding
positions, L2 normalisation.

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
import struct
import threading
import time
from collections.abc import Sequence

import numpy as np

from .. import config
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


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


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


class _MiniLM:
    """The loaded model: tokenizer, backbone and the compiled pooled forward pass (one per process)."""

    def __init__(self, preset: pathlib.Path, model_id: str) -> None:
        config.import_keras()
        import keras_hub
        import tensorflow as tf

        start = time.perf_counter()
        self.model_id = model_id
        self.tokenizer = keras_hub.models.BertTokenizer.from_preset(str(preset))
        self.backbone = keras_hub.models.BertBackbone.from_preset(str(preset))
        _exact_gelu(self.backbone)
        self.cls_id = self.tokenizer.token_to_id("[CLS]")
        self.sep_id = self.tokenizer.token_to_id("[SEP]")
        self.pad_id = self.tokenizer.token_to_id("[PAD]")
        backbone = self.backbone

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32)],
                     reduce_retracing=True)
        def embed(token_ids, mask):
            out = backbone({"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids), "padding_mask": mask},
                           training=False)["sequence_output"]
            m = tf.cast(mask, out.dtype)[:, :, None]
            mean = tf.reduce_sum(out * m, axis=1) / tf.maximum(tf.reduce_sum(m, axis=1), 1e-9)
            return tf.math.l2_normalize(mean, axis=1, epsilon=1e-24)

        self.embed = embed
        self.n_params = int(backbone.count_params())
        self.load_seconds = time.perf_counter() - start

    def token_ids(self, texts: list[str], max_length: int) -> list[np.ndarray]:
        """``[CLS] + first (max_length - 2) word pieces + [SEP]`` for each text."""
        ragged = self.tokenizer(texts)
        rows = ragged.to_list() if hasattr(ragged, "to_list") else ragged
        rows = [np.asarray(r, dtype=np.int32) for r in rows]
        return [np.concatenate([[self.cls_id], r[: max_length - 2], [self.sep_id]]).astype(np.int32) for r in rows]

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
            _MODELS[key] = _MiniLM(minilm_preset(), model_id)
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
        self.batch_size = _check_batch_size(batch_size)
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or not 3 <= max_length <= MAX_LENGTH:
            raise ValueError(f"max_length must be an integer in [3, {MAX_LENGTH}], got {max_length!r}")
        self.max_length = int(max_length)
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
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        progress = self.progress if progress is None else progress
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        settings = {"max_length": self.max_length, "pooling": "mean", "normalize": True}
        keys = [_cache.make_key(model.model_id, settings, "", t) for t in texts] if self.cache else None
        todo: dict[str, list[int]] = {}  # distinct texts still to compute -> their rows
        for i, text in enumerate(texts):
            hit = self.cache.get(keys[i]) if self.cache else None
            if hit is not None and hit.shape == (self.dim,):
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
                if self.cache:
                    self.cache.set(keys[rows[0]], vec)
        return out

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
            _check_batch_size(batch_size)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.fitted:
            self.fit(texts)
        return np.asarray(self.vectorizer.transform(texts).toarray(), dtype=np.float32)

    def __repr__(self) -> str:
        return f"TfidfEncoder(dim={self.dim}, fitted={self.fitted})"
