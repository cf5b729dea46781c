r"""A Keras sequence model (GRU or LSTM) of next interactions, with a text-initialised or an ID-only item table.
Book: 03_interest_extraction.ipynb, sec-interest-sequence, sec-interest-movielens

"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_history, check_int, check_number, id_array
from ..config import import_keras

__all__ = ["SequenceModel", "fit_sequence_model", "next_item_sequences"]


def next_item_sequences(sequences: Sequence[Sequence[int]], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs (prefix → next item) from sequences: every position after the first is a target.

    Returns:
        ``(inputs, targets)``: ``inputs`` ``(n, max_len)`` int32 of item id + 1, left-padded with 0 (the last
        ``max_len`` items before the target), ``targets`` ``(n,)`` item ids.

    Book: 03_interest_extraction.ipynb, sec-interest-sequence
    """
    max_len = check_int("max_len", max_len)
    if sequences is None or isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
        raise TypeError(f"sequences must be a sequence of item-id sequences, got {type(sequences).__name__}")
    xs, ys = [], []
    for r, seq in enumerate(sequences):
        seq = _sequence_ids(seq, r)
        for t in range(1, len(seq)):
            prefix = seq[max(0, t - max_len):t] + 1
            row = np.zeros(max_len, dtype=np.int32)
            row[max_len - len(prefix):] = prefix
            xs.append(row)
            ys.append(seq[t])
    if not xs:
        return np.zeros((0, max_len), np.int32), np.zeros(0, np.int64)
    return np.array(xs), np.array(ys, dtype=np.int64)


def _sequence_ids(seq: Sequence[int], r: int) -> np.ndarray:
    """One sequence's item ids as int64; a negative id would become the padding id 0, so it is refused."""
    if isinstance(seq, (str, bytes)):
        raise TypeError(f"sequences[{r}] must be a sequence of item ids, not a string")
    arr = np.asarray(seq)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.ndim != 1:
        raise ValueError(f"sequences[{r}] must be a 1-D sequence of item ids, got shape {arr.shape}")
    return id_array(f"sequences[{r}]", arr, None, "item")


def _pad_last(sequences: Sequence[Sequence[int]], max_len: int) -> np.ndarray:
    out = np.zeros((len(sequences), max_len), dtype=np.int32)
    for r, seq in enumerate(sequences):
        tail = _sequence_ids(seq, r)[-max_len:] + 1
        if len(tail):
            out[r, max_len - len(tail):] = tail
    return out


@dataclasses.dataclass
class SequenceModel:
    """A trained next-interaction model (see :func:`fit_sequence_model`).

    Attributes:
        encoder: Keras model, item-id sequences ``(n, max_len)`` (id + 1, 0 = padding) → states ``(n, dim)``.
        item_table: callable returning the item vectors ``(n_items, dim)`` (all items, incl. cold-start ones).
        max_len: the number of most recent items the model reads.
        history: per-epoch ``loss`` and ``val_loss``.
        init: ``"text"`` or ``"id"``.
        epochs_run: epochs trained before early stopping ended training.
        best_epoch: the epoch whose weights were kept (1-based).

    Book: 03_interest_extraction.ipynb, sec-interest-sequence
    """

    encoder: Any
    item_table: Any
    max_len: int
    history: dict[str, list[float]]
    init: str
    epochs_run: int
    best_epoch: int

    def item_vectors(self) -> np.ndarray:
        """The item vectors the model scores with, ``(n_items, dim)``."""
        return np.asarray(self.item_table())

    def states(self, sequences: Sequence[Sequence[int]], batch_size: int = 1024) -> np.ndarray:
        """The sequence state of each history (its last ``max_len`` items); an empty history gives a state too."""
        x = _pad_last(sequences, self.max_len)
        keras = import_keras()
        # a direct call per chunk: ``predict`` re-traces a tf.function per model and warns about it
        parts = [keras.ops.convert_to_numpy(self.encoder(x[i:i + batch_size], training=False))
                 for i in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.item_vectors().shape[1]), np.float32)

    def scores(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Scores ``(len(sequences), n_items)`` of every item as the next interaction (dot products)."""
        return self.states(sequences) @ self.item_vectors().T


def _build(keras, n_items, n_train_items, dim, max_len, kind, item_text, fine_tune, hidden):
    """The next-item model (logits over the training catalogue), its sequence encoder and the item-table function."""
    ids = keras.Input((max_len,), dtype="int32", name="items")
    if item_text is None:
        table = keras.layers.Embedding(n_items + 1, dim, name="item_embedding",
                                       embeddings_initializer=keras.initializers.RandomNormal(stddev=0.1))
        table.build((None,))

        def lookup(x):
            return table(x)

        def all_items():
            return table.embeddings[1:]
        layers = [table]
    else:
        text = np.vstack([np.zeros((1, item_text.shape[1]), np.float32), item_text.astype(np.float32)])
        table = keras.layers.Embedding(n_items + 1, text.shape[1], name="item_text",
                                       embeddings_initializer=keras.initializers.Constant(text), trainable=fine_tune)
        table.build((None,))
        proj = keras.layers.Dense(dim, use_bias=False, name="text_projection")
        proj.build((None, text.shape[1]))

        def lookup(x):
            return proj(table(x))

        def all_items():
            return proj(table.embeddings[1:])
        layers = [table, proj]
    emb = lookup(ids)
    mask = keras.ops.not_equal(ids, 0)
    rnn = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[kind]
    state = rnn(hidden, name=kind)(emb, mask=mask)
    state = keras.layers.Dense(dim, name="to_item_space")(state)
    encoder = keras.Model(ids, state, name="sequence_encoder")

    class Logits(keras.layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self._tracked = layers

        def call(self, s):
            return keras.ops.matmul(s, keras.ops.transpose(all_items()[:n_train_items]))

    logits = Logits(name="logits")(state)
    model = keras.Model(ids, logits, name="next_item")
    return model, encoder, all_items


def fit_sequence_model(
    sequences: Sequence[Sequence[int]],
    n_items: int,
    n_train_items: int | None = None,
    item_text: np.ndarray | None = None,
    fine_tune: bool = False,
    kind: str = "gru",
    dim: int = 32,
    hidden: int = 64,
    max_len: int = 10,
    epochs: int = 8,
    batch_size: int = 256,
    learning_rate: float = 3e-3,
    validation_split: float = 0.1,
    patience: int = 2,
    seed: int = 0,
) -> SequenceModel:
    """Train a GRU/LSTM next-interaction model on behaviour sequences, text-initialised or ID-only.

    Each sequence (item ids, oldest first) gives one training pair per position: the last ``max_len`` items before
    it → the item there. Loss: softmax cross-entropy over the first ``n_train_items`` items (the catalogue at
    training time; later items exist in the table but are never trained). Adam on same-size batches of shuffled pairs
    (an epoch is ``ceil(n_pairs / batch_size)`` steps; see the comment in the code), ``verbose=0``, early stopping on a
    validation split *by sequence* (the last ``validation_split`` share of the sequences after a seeded shuffle) with
    ``restore_best_weights=True``. Seeded with ``keras.utils.set_random_seed(seed)``; with TensorFlow's op
    determinism on (``crt.setup_notebook`` turns it on) two runs give identical weights.

    Item vectors: ID-only (``item_text=None``): a trainable ``(n_items, dim)`` table, random normal (std 0.1).
    Text-initialised: the rows of ``item_text`` (e.g. MiniLM, 384-d) times a trainable ``Dense(dim)`` projection;
    the text rows stay frozen unless ``fine_tune=True``. Frozen is the default because cold-start items are scored
    with the same projection as the warm items it was trained on; fine-tuning would move warm rows away from the text
    space that the (never-updated) cold rows still live in.

    Args:
        sequences: training sequences (one per user); sequences shorter than 2 give no pair.
        n_items: the size of the item table (all items that will ever be scored, incl. cold-start).
        n_train_items: items ``0 .. n_train_items-1`` form the training softmax (default ``n_items``); every
            training target must be below it.
        item_text: ``(n_items, d_text)`` text vectors for the text-initialised model, or ``None`` for ID-only.
        fine_tune: let training change the text rows.
        kind: ``"gru"`` or ``"lstm"``.
        dim: the item-vector (and output state) size.
        hidden: the recurrent layer's size.
        max_len: how many recent items the model reads.
        epochs: at most this many epochs.
        batch_size, learning_rate: for Adam.
        validation_split: share of sequences held out for early stopping (0 disables early stopping).
        patience: epochs without improvement before stopping.
        seed: the seed for weights, shuffling and the validation split.

    Returns:
        :class:`SequenceModel`.

    Raises:
        ValueError: for bad sizes, an unknown ``kind``, a target outside the training catalogue, an item id outside
            the table (named), no training pairs, or ``item_text`` of the wrong shape.

    Book: 03_interest_extraction.ipynb, sec-interest-sequence
    """
    if kind not in ("gru", "lstm"):
        raise ValueError(f"kind must be 'gru' or 'lstm', got {kind!r}")
    for name, value in (("n_items", n_items), ("dim", dim), ("hidden", hidden), ("max_len", max_len),
                        ("epochs", epochs), ("batch_size", batch_size)):
        check_int(name, value)
    n_train_items = check_int("n_train_items", n_items if n_train_items is None else n_train_items, 1, n_items)
    validation_split = check_number("validation_split", validation_split, 0.0, 1.0, high_open=True,
                                    what="the share of sequences held out")
    seqs = [list(s) for s in (sequences.tolist() if isinstance(sequences, pd.Series) else sequences)]
    for s in seqs:
        if len(s):
            check_history(s, n_items)
    if item_text is not None:
        item_text = np.asarray(item_text, dtype=np.float32)
        if item_text.ndim != 2 or item_text.shape[0] != n_items:
            raise ValueError(f"item_text must have shape (n_items={n_items}, d), got {item_text.shape}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(seqs))
    n_val = int(round(validation_split * len(seqs)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    x, y = next_item_sequences([seqs[i] for i in train_idx], max_len)
    if len(y) == 0:
        raise ValueError("no training pairs: every sequence needs at least two items")
    if y.max() >= n_train_items:
        raise ValueError(f"target item id {int(y[y >= n_train_items][0])} is outside the training catalogue "
                         f"[0, {n_train_items})")
    xv, yv = next_item_sequences([seqs[i] for i in val_idx], max_len)
    keep = yv < n_train_items
    xv, yv = xv[keep], yv[keep]

    keras = import_keras()
    keras.utils.set_random_seed(int(seed))
    model, encoder, all_items = _build(keras, int(n_items), n_train_items, int(dim), int(max_len), kind,
                                       item_text, bool(fine_tune), int(hidden))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # Adam's slots now, not inside the first traced step: a tf.function that creates variables is traced twice.
    model.optimizer.build(model.trainable_variables)
    callbacks, val = [], None
    if len(yv):
        val = (xv, yv)
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience),
                                                       restore_best_weights=True))
    # Every batch has the same size: the pairs are shuffled (seeded, reshuffled each pass) and streamed without end,
    # an "epoch" being ceil(n / batch_size) batches that may run into the next pass. A short last batch would make
    # TensorFlow trace the training step a second time (~2 s per model on a 2-core machine) for no benefit; the
    # validation pairs go in one batch for the same reason. Same number of gradient steps as a plain epoch.
    import tensorflow as tf

    bs = min(int(batch_size), len(y))
    steps = -(-len(y) // bs)
    stream = (tf.data.Dataset.from_tensor_slices((x, y))
              .shuffle(len(y), seed=int(seed), reshuffle_each_iteration=True)
              .repeat().batch(bs, drop_remainder=True))
    fit = model.fit(stream, steps_per_epoch=steps, validation_data=val, validation_batch_size=max(1, len(yv)),
                    epochs=int(epochs), shuffle=False, callbacks=callbacks, verbose=0)
    hist = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    key = "val_loss" if "val_loss" in hist else "loss"
    best = int(np.argmin(hist[key])) + 1
    return SequenceModel(encoder=encoder, item_table=lambda: keras.ops.convert_to_numpy(all_items()),
                         max_len=int(max_len), history=hist, init="id" if item_text is None else "text",
                         epochs_run=len(hist["loss"]), best_epoch=best)
