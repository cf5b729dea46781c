"""Argument checks for the package's public functions: one home, one wording for every error message.

Each check returns the value in the form the caller needs (an ``int``, a float array, a ``Generator``) or raises a
``ValueError``/``TypeError`` that names the argument, says what was wrong and what is expected. Modules above this
one call these helpers instead of keeping their own copies. A check that only one module's concept needs (an OPE
action distribution, a DAG's nodes) stays in that module; the item-history, embedding and event-weight checks live
here because pooling, profiles and the sequence model share them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


__all__ = [
    "as_rng",
    "check_bootstrap",
    "check_clip",
    "check_columns",
    "check_embeddings",
    "check_finite",
    "check_fraction",
    "check_history",
    "check_int",
    "check_k",
    "check_number",
    "check_range",
    "check_rng",
    "check_size",
    "check_weights",
    "float_array",
    "id_array",
    "id_pairs",
    "index_array",
    "matrix",
    "vector",
]


def as_rng(rng, *, hint: str = "") -> np.random.Generator:
    """Accept a ``numpy.random.Generator`` (returned as is) or a non-negative integer seed (a new generator).

    Every public function of the package that draws random numbers takes ``rng`` and passes it through this.

    Raises:
        ValueError: for anything else; ``hint`` is appended to the message (e.g. what to pass instead).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or a non-negative integer seed, got {rng!r}" + hint)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def check_int(name: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) in ``[minimum, maximum]``, else ``ValueError``."""
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum
            or (maximum is not None and value > maximum)):
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        if maximum is not None:
            what = f"a positive integer <= {maximum}" if minimum == 1 else f"an integer in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    what: str = "",
) -> float:
    """A finite real number (not a bool, not a string) inside the given bounds, as a ``float``.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``; ``None`` leaves that side unbounded. The
    message names the argument, the interval and ``what`` the number means.
    """
    if low == 0 and high is None:
        desc = "a positive number" if low_open else "a non-negative number"
    elif low is None and high is None:
        desc = "a finite number"
    else:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        desc = f"a number in {left}{lo}, {hi}{right}"
    about = f" ({what})" if what else ""
    ok = _is_number(value) and np.isfinite(float(value))
    v = float(value) if ok else math.nan
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        raise ValueError(f"{name} must be {desc}{about}, got {value!r}")
    return v


#: The most bootstrap draws a call accepts (each is a full pass over the data).
MAX_BOOTSTRAP = 1_000_000

#: The most memory one call may ask for before it is refused up front (a third of a 24 GiB workshop machine).
MAX_BYTES = 8 * 2**30


def check_size(name: str, n_bytes: int, what: str) -> None:
    """``ValueError`` naming the size asked for when ``n_bytes`` would not fit (:data:`MAX_BYTES`)."""
    if n_bytes > MAX_BYTES:
        raise ValueError(f"{name} would need {n_bytes / 2**30:.1f} GiB for {what}; the limit is "
                         f"{MAX_BYTES / 2**30:.0f} GiB (make the sizes smaller)")


def check_k(k: Any, name: str = "k", allow_none: bool = False) -> int | None:
    """The length of a list to evaluate or return: a positive integer (or ``None`` when ``allow_none``)."""
    if k is None and allow_none:
        return None
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be a positive integer (the length of the list to evaluate), got {k!r}")
    return int(k)


def check_fraction(name: str, value: Any, what: str) -> float:
    """A number strictly inside (0, 1), e.g. a confidence level or a share."""
    if not _is_number(value):
        raise ValueError(f"{name} must be a number in (0, 1) ({what}), got {value!r}")
    if not 0 < float(value) < 1:
        raise ValueError(f"{name} must be in (0, 1) ({what}), got {value!r}")
    return float(value)


def check_rng(rng: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` for a bootstrap; ``None`` is refused with the two ways out."""
    if rng is None:
        raise ValueError(
            "rng is required for bootstrap confidence intervals: pass rng=np.random.default_rng(seed) "
            "(or n_bootstrap=0 for a point estimate without CI)"
        )
    return as_rng(rng)


def check_bootstrap(n_bootstrap: Any, confidence: Any, minimum: int = 0) -> tuple[int, float]:
    """The number of bootstrap draws (at least ``minimum``; 0 = no interval) and the interval's level in (0, 1)."""
    if (isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < minimum
            or n_bootstrap > MAX_BOOTSTRAP):
        named = {0: "a non-negative integer (0 = no CI)", 1: "a positive integer"}
        what = named.get(minimum, f"an integer >= {minimum}") + f" and at most {MAX_BOOTSTRAP:,}"
        raise ValueError(f"n_bootstrap must be {what}, got {n_bootstrap!r}")
    return int(n_bootstrap), check_fraction("confidence", confidence, "the level of the interval, e.g. 0.95")


def check_clip(clip: Any, minimum: float = 0.0) -> float:
    """The largest inverse propensity (or importance weight) kept: a number above 0, or at least ``minimum``."""
    if minimum > 0:
        if not _is_number(clip) or not clip >= minimum:
            raise ValueError(
                f"clip must be a number >= {minimum:g} (the largest inverse propensity allowed), got {clip!r}"
            )
    elif not _is_number(clip) or not clip > 0:
        raise ValueError(f"clip must be a positive number (the largest importance weight kept), got {clip!r}")
    return float(clip)


def float_array(name: str, x: Any, what: str) -> np.ndarray:
    """``x`` (array, sequence, pandas object) as a float array; non-numeric input names the argument."""
    if isinstance(x, (pd.Series, pd.Index, pd.DataFrame)):
        try:
            return x.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric ({what}), got dtype {x.dtypes}") from err
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric ({what}), got {type(x).__name__}") from err
    return arr


def check_finite(name: str, arr: np.ndarray, what: str) -> None:
    """``ValueError`` naming the count and the first index of NaN or infinite entries."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(j) for j in np.argwhere(bad)[0])
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) (first at index {where}); "
            f"expected finite numbers ({what})"
        )


def vector(name: str, x: Any, what: str, n: int | None = None, ref: str = "reward") -> np.ndarray:
    """A non-empty, finite 1-D float array; with ``n``, of that length (the length of ``ref``)."""
    if x is None:
        raise ValueError(f"{name} is missing: expected {what}")
    arr = float_array(name, x, what)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D ({what}), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: expected {what}, at least one logged round")
    if n is not None and len(arr) != n:
        raise ValueError(
            f"length mismatch: {name} has {len(arr)} entries but {ref} has {n}; expected one per logged round"
        )
    check_finite(name, arr, what)
    return arr


def matrix(name: str, x: Any, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    """A non-empty, finite float array with one of the allowed numbers of dimensions."""
    arr = float_array(name, x, "numbers")
    if arr.ndim not in ndim or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty array with {' or '.join(map(str, ndim))} dimensions, "
                         f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_range(name: str, arr: np.ndarray, low: float, high: float, low_open: bool, what: str) -> None:
    """``ValueError`` unless every entry is in ``[low, high]`` (``(low, high]`` when ``low_open``)."""
    bad = (arr <= low if low_open else arr < low) | (arr > high)
    if bad.any():
        j = int(np.argmax(bad.ravel()))
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        hint = ""
        if name == "propensity" and (arr > high).any():
            hint = " (did you pass importance weights 1/p instead of probabilities?)"
        raise ValueError(
            f"{name} must be in {interval} ({what}); {int(bad.sum())} value(s) are outside, "
            f"e.g. {arr.ravel()[j]!r} at flat index {j}{hint}"
        )


def check_columns(df: Any, name: str, cols: Sequence[str], allow_empty: bool = False) -> None:
    """``ValueError`` unless ``df`` is a DataFrame with every column in ``cols`` (and rows, unless ``allow_empty``)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(df.columns)}")
    if len(df) == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")


def id_array(name: str, x: Any, n: int | None, what: str) -> np.ndarray:
    """Integer ids in ``[0, n)`` (``n=None``: any non-negative id) as int64; ``what`` names the kind (``"item"``)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer {what} ids, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or (n is not None and arr.max() >= n)):
        bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
        bounds = f"[0, {n})" if n is not None else "[0, inf): ids are non-negative"
        raise ValueError(f"{name} has {what} ids outside {bounds}, e.g. {bad}")
    return arr.astype(np.int64)


def id_pairs(users: Any, items: Any, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) id arrays of equal length, flattened, each in its catalogue's range."""
    u = id_array("users", users, n_users, "user").ravel()
    i = id_array("items", items, n_items, "item").ravel()
    if len(u) != len(i):
        raise ValueError(f"users and items must have the same length, got {len(u)} and {len(i)}")
    return u, i


def index_array(name: str, x: Any, n: int, size: int, what: str) -> np.ndarray:
    """A 1-D integer array of length ``n`` (one per logged round) whose values index an axis of ``size``."""
    if x is None:
        raise ValueError(f"{name} is required with a full {what} array: pass {name}= (one per logged round)")
    arr = np.asarray(x.to_numpy() if isinstance(x, (pd.Series, pd.Index)) else x)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array, got shape {arr.shape} and dtype {arr.dtype}")
    if len(arr) != n:
        raise ValueError(
            f"length mismatch: {name} has {len(arr)} entries but reward has {n}; expected one per logged round"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(
            f"{name} must be in [0, {size}) to index the {what} array, got values in [{arr.min()}, {arr.max()}]"
        )
    return arr.astype(np.int64)


def check_embeddings(item_embeddings: Any) -> np.ndarray:
    """Item vectors ``(n_items, dim)`` as a float64 array."""
    emb = np.asarray(item_embeddings)
    if emb.ndim != 2 or emb.shape[0] == 0 or emb.dtype.kind not in "fiu":
        raise ValueError(f"item_embeddings must be a 2-D numeric array (n_items, dim), got shape {emb.shape}")
    emb = emb.astype(np.float64, copy=False)
    check_finite("item_embeddings", emb, "one finite vector per item")
    return emb


def check_history(history: Any, n_items: int) -> np.ndarray:
    """Item ids as int64; ValueError for an empty history or an id outside ``[0, n_items)`` (naming the id)."""
    if isinstance(history, (str, bytes)) or history is None or not hasattr(history, "__len__"):
        raise TypeError(f"history must be a sequence of item ids, got {type(history).__name__}")
    ids = np.asarray(list(history) if not isinstance(history, np.ndarray) else history)
    if ids.size == 0:
        raise ValueError("the history is empty: there is nothing to pool (users without events have no vector)")
    if ids.ndim != 1 or (ids.dtype.kind not in "iu" and not (ids.dtype.kind == "f" and np.all(ids == np.round(ids)))):
        raise ValueError(f"history must be a 1-D sequence of integer item ids, got {ids!r}")
    ids = ids.astype(np.int64)
    bad = ids[(ids < 0) | (ids >= n_items)]
    if bad.size:
        raise ValueError(f"history has an unknown item id {int(bad[0])}: item ids must be in [0, {n_items})")
    return ids


def check_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """``n`` finite non-negative event weights that do not sum to zero; ``None`` means all ones."""
    if weights is None:
        return np.ones(n)
    w = float_array(name, weights, "one weight per event")
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be {n} finite non-negative numbers (one per event), got shape {w.shape}")
    if w.sum() <= 0:
        raise ValueError(f"{name} sum to zero: at least one event must count")
    return w


def cluster_codes(cluster: Any, n: int, *, name: str = "cluster", minimum: int = 2) -> np.ndarray | None:
    """Cluster ids (e.g. sessions), one per unit, as integer codes ``0 .. g-1``; ``None`` passes through.

    Raises ``ValueError`` for a wrong length, missing ids (NaN or ``None``) or fewer than ``minimum`` clusters (a
    clustered standard error from one cluster is zero, not an answer).
    """
    if cluster is None:
        return None
    ids = np.asarray(cluster)
    if ids.shape != (n,):
        raise ValueError(f"{name} must hold one id per unit ({n}), got shape {ids.shape}")
    missing = pd.isna(ids) if ids.dtype.kind in "fO" else np.zeros(n, dtype=bool)
    if np.any(missing) or (ids.dtype.kind == "f" and not np.isfinite(ids).all()):
        raise ValueError(f"{name} has missing (NaN or None) or infinite ids: every unit needs a cluster, e.g. its "
                         "session")
    try:
        codes = np.unique(ids, return_inverse=True)[1].ravel()
    except TypeError as err:
        raise ValueError(f"{name} ids must be of one comparable type (all numbers or all strings)") from err
    if codes.max(initial=-1) + 1 < minimum:
        raise ValueError(f"{name} must name at least {minimum} clusters, got {codes.max(initial=-1) + 1}")
    return codes
