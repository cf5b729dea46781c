"""An on-disk cache for language-model results, so that re-running a chapter costs nothing.

An entry is keyed by a hash of everything that determines the result: the model id (with the weights' checksum),
the settings, the prompt's version and the input. Values are NumPy arrays (an encoder's vectors) or JSON values
(a generator's text, a list of scores). Each entry is one file::

    <cache_dir>/lm/<namespace>/<key[:2]>/<key>.bin  =  MAGIC | kind (1 byte) | key (64 bytes) | digest | payload

with ``digest = sha256(namespace | key | kind | payload)``: an entry records the key it was written for, and its
checksum covers its namespace (``"encoder"``, ``"generator"``), so a file copied or renamed to another key or
namespace is refused like a damaged one. Keys must be the hex digests :func:`make_key` returns.

Writes go to a temporary file in the same folder and are then moved into place with ``os.replace``, which is
atomic: a reader sees a complete old entry, a complete new one, or none, even with several writers at once. A
file whose checksum does not match (a torn or damaged file) is treated as a miss, deleted and recomputed. A folder
that cannot be written (read-only, full) makes :meth:`DiskCache.set` warn once and return ``False``: the value is
computed and returned, just not kept. Temporary files left by a killed writer are removed by :func:`size` and
:func:`clear` once they are an hour old.

    store = crt.lm.cache.DiskCache("encoder")
    key = crt.lm.cache.make_key("minilm@sha", {"max_length": 256}, "", "some text")
    vec = store.get_or_compute(key, lambda: model_encode("some text"))
    crt.lm.cache.size()        # CacheSize(entries=..., bytes=...)
    crt.lm.cache.clear()       # everything under <cache_dir>/lm

Book: appendix_a_language_models.ipynb, sec-lm-generator, sec-lm-cost
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import config

MAGIC = b"CRTLMC3\n"
_KIND_ARRAY, _KIND_JSON = b"a", b"j"
_KEY = 64
_HEADER = len(MAGIC) + 1 + _KEY + 32
_TMP_MAX_AGE = 3600.0  # seconds after which a temporary file is a leftover of a killed writer
_SUFFIX = ".bin"
_HEX = frozenset("0123456789abcdef")


def root() -> pathlib.Path:
    """The folder that holds every language-model cache: ``config.cache_dir() / "lm"``."""
    return config.cache_dir() / "lm"


def make_key(model_id: str, settings: dict | None, prompt_version: str, value: Any) -> str:
    """The cache key (64 hex characters) for one input under one model, settings and prompt version.

    Args:
        model_id: names the model *and* its weights, e.g. ``"all-MiniLM-L6-v2@<sha256>"``.
        settings: everything else that changes the result (max length, dtype, decoding settings); JSON-able.
        prompt_version: the prompt template's version string (``""`` when no template is involved).
        value: the input itself (a text, or a JSON-able structure such as a prompt plus continuations).

    Returns:
        The sha256 hex digest of a canonical JSON encoding of the four parts.

    Book: appendix_a_language_models.ipynb, sec-lm-cost
    """
    blob = json.dumps([model_id, settings or {}, prompt_version, value], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheSize:
    """How much a cache holds: the number of entries and their total size in bytes."""

    entries: int
    bytes: int

    def __str__(self) -> str:
        return f"{self.entries} entries, {self.bytes / 1e6:.1f} MB"


def _encode(value: Any) -> tuple[bytes, bytes]:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("object arrays cannot be cached")
        value = value if value.flags.c_contiguous else value.copy(order="C")
        head = f"{value.dtype.str};{','.join(map(str, value.shape))}\n".encode("ascii")
        return _KIND_ARRAY, head + value.tobytes()
    return _KIND_JSON, json.dumps(value, ensure_ascii=False).encode("utf-8")


def _decode(kind: bytes, payload: bytes) -> Any:
    if kind == _KIND_ARRAY:  # "<dtype>;<d0,d1,...>\n" then the raw bytes (faster to read than np.save's format)
        end = payload.index(b"\n")
        dtype, shape = payload[:end].decode("ascii").split(";")
        dims = tuple(int(d) for d in shape.split(",")) if shape else ()
        return np.frombuffer(payload, dtype=np.dtype(dtype), offset=end + 1).reshape(dims).copy()
    return json.loads(payload.decode("utf-8"))



def _check_key(key: Any) -> str:
    """A key made by :func:`make_key`: exactly 64 lower-case hex characters (so it cannot name another folder)."""
    if not isinstance(key, str) or len(key) != 64 or not _HEX.issuperset(key):
        raise ValueError(f"cache keys are the 64 hex characters make_key returns, got {key!r:.80}")
    return key


class DiskCache:
    """One namespace of the on-disk cache (``"encoder"``, ``"generator"``, ...).

    Args:
        namespace: a folder name under :func:`root` (letters, digits, ``-``, ``_``).
        directory: use this folder instead of ``root() / namespace`` (tests use a temporary one).

    Raises:
        ValueError: if ``namespace`` is empty or not a plain folder name.

    Book: appendix_a_language_models.ipynb, sec-lm-cost
    """

    def __init__(self, namespace: str, directory: str | os.PathLike | None = None) -> None:
        if (not isinstance(namespace, str) or not namespace or not namespace.isascii()
                or not namespace.replace("-", "").replace("_", "").isalnum()):
            raise ValueError(f"namespace must be a plain folder name (letters, digits, -, _), got {namespace!r}")
        self.namespace = namespace
        self._directory = pathlib.Path(directory) if directory is not None else None
        self.corrupt_entries = 0  # how many damaged entries this object found (and removed)
        self.write_failures = 0  # how many values could not be stored (read-only or full disk); they were returned

    @property
    def directory(self) -> pathlib.Path:
        """The folder of this namespace (resolved at use, so ``CAUSALREC_CACHE_DIR`` may change in between)."""
        return self._directory if self._directory is not None else root() / self.namespace

    def _digest(self, key: str, kind: bytes, payload: bytes) -> bytes:
        head = f"{self.namespace}\n{key}\n".encode("ascii") + kind
        return hashlib.sha256(head + payload).digest()

    def _path(self, key: str) -> pathlib.Path:
        return pathlib.Path(os.path.join(self.directory, _check_key(key)[:2], key + _SUFFIX))

    def get(self, key: str, default: Any = None, valid: Callable[[Any], bool] | None = None) -> Any:
        """The value stored under ``key``, or ``default`` when there is none or the entry is damaged.

        A damaged entry (wrong magic bytes, recorded key or checksum, e.g. a file cut short or copied under another
        name; or a value that ``valid`` rejects, e.g. a NaN vector) is deleted, counted in :attr:`corrupt_entries`
        and reported with a ``RuntimeWarning``; the caller then recomputes.
        """
        path = os.path.join(self.directory, _check_key(key)[:2], key + _SUFFIX)
        try:
            with open(path, "rb") as handle:
                blob = handle.read()
        except OSError:  # missing, or unreadable (no permission, a folder in its place): a miss, recomputed
            return default
        m = len(MAGIC)
        if blob[:m - 2] == MAGIC[:m - 2] and blob[:m] != MAGIC:  # an entry of an older format: a plain miss
            return default
        kind, recorded, digest = blob[m:m + 1], blob[m + 1:m + 1 + _KEY], blob[m + 1 + _KEY:_HEADER]
        payload = blob[_HEADER:]
        ok = (blob[:m] == MAGIC and kind in (_KIND_ARRAY, _KIND_JSON) and recorded == key.encode("ascii")
              and self._digest(key, kind, payload) == digest)
        if ok:
            try:
                value = _decode(kind, payload)
                if valid is None or valid(value):
                    return value
            except (ValueError, TypeError, UnicodeDecodeError):
                pass
        self.corrupt_entries += 1
        warnings.warn(f"damaged cache entry {path} removed; it will be recomputed", RuntimeWarning, stacklevel=2)
        pathlib.Path(path).unlink(missing_ok=True)
        return default

    def set(self, key: str, value: Any) -> bool:
        """Store ``value`` (a NumPy array or a JSON-able value) under ``key``, atomically.

        Returns:
            ``True`` when stored; ``False`` when the disk refused (a read-only or full cache folder): the first such
            failure of this object warns once, and the caller keeps its value, so no computed result is lost.

        Raises:
            TypeError: if ``value`` is neither an array nor JSON-serialisable.
            ValueError: if ``key`` is not a key that :func:`make_key` makes (64 hex characters).
        """
        try:
            kind, payload = _encode(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"cache values must be NumPy arrays or JSON-serialisable, got {type(value).__name__}"
                            ) from err
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}-", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(MAGIC + kind + key.encode("ascii") + self._digest(key, kind, payload) + payload)
            os.replace(tmp, path)
        except OSError as err:  # read-only folder, full disk, ...: compute without caching
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            self.write_failures += 1
            if self.write_failures == 1:
                warnings.warn(f"cannot write to the cache folder {self.directory} ({err.strerror or err}); results are "
                              "computed but not cached", RuntimeWarning, stacklevel=2)
            return False
        except BaseException:
            if tmp is not None:
                pathlib.Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def get_or_compute(self, key: str, compute: Callable[[], Any], valid: Callable[[Any], bool] | None = None
                       ) -> Any:
        """The cached value for ``key``; on a miss (or a damaged entry) call ``compute()``, store and return it.

        ``valid`` (optional) checks a value read back (see :meth:`get`); ``compute`` must check its own result, since
        whatever it returns is stored.
        """
        sentinel = object()
        value = self.get(key, sentinel, valid)
        if value is sentinel:
            value = compute()
            self.set(key, value)
        return value

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self) -> CacheSize:
        """The number of entries and their total bytes in this namespace."""
        return _size(self.directory)

    def clear(self) -> None:
        """Delete every entry of this namespace."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def __repr__(self) -> str:
        return f"DiskCache({self.namespace!r}, directory={str(self.directory)!r})"


def _size(folder: pathlib.Path) -> CacheSize:
    """Entries and their bytes; temporary files older than an hour (a killed writer's) are removed on the way."""
    entries = total = 0
    if folder.is_dir():
        now = time.time()
        for path in folder.rglob("*"):
            try:
                stat = path.stat()
                if path.name.endswith(".tmp") and now - stat.st_mtime > _TMP_MAX_AGE:
                    path.unlink()
                    continue
            except OSError:  # removed by a concurrent clear(), or a read-only folder
                continue
            if path.suffix == _SUFFIX:
                total += stat.st_size
                entries += 1
    return CacheSize(entries, total)


def size(namespace: str | None = None) -> CacheSize:
    """How much the language-model cache holds, for one namespace or (``None``) all of them.

    Book: appendix_a_language_models.ipynb, sec-lm-cost
    """
    return DiskCache(namespace).size() if namespace is not None else _size(root())


def clear(namespace: str | None = None) -> CacheSize:
    """Delete the cached results of one namespace or (``None``) all of them; return what was removed.

    Converted models (which live beside, not inside, ``root()``) are kept.

    Book: appendix_a_language_models.ipynb, sec-lm-cost
    """
    before = size(namespace)
    if namespace is not None:
        DiskCache(namespace).clear()
    else:
        shutil.rmtree(root(), ignore_errors=True)
    return before
