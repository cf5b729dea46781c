"""The on-disk LM cache: round trips, keys, atomic writes, corruption detection, size and clear."""

import threading

import numpy as np
import pytest

from causalrec_tutorial import config
from causalrec_tutorial.lm import cache


@pytest.fixture()
def store(tmp_path):
    return cache.DiskCache("test", directory=tmp_path / "c")


def test_round_trip_array_and_json(store):
    vec = np.arange(5, dtype=np.float32) / 7
    store.set("a" * 64, vec)
    store.set("b" * 64, {"text": "héllo", "scores": [1.5, -2.0]})
    got = store.get("a" * 64)
    assert got.dtype == np.float32 and np.array_equal(got, vec)
    assert store.get("b" * 64) == {"text": "héllo", "scores": [1.5, -2.0]}
    store.set("0" * 64, np.array(2.5))
    assert store.get("0" * 64).shape == ()
    assert store.get("c" * 64) is None and store.get("c" * 64, 3) == 3
    assert store.size().entries == 3 and store.size().bytes > 0


def test_key_depends_on_every_part():
    base = cache.make_key("m@1", {"max_length": 256}, "v1", "text")
    assert base == cache.make_key("m@1", {"max_length": 256}, "v1", "text")
    others = [cache.make_key("m@2", {"max_length": 256}, "v1", "text"),
              cache.make_key("m@1", {"max_length": 128}, "v1", "text"),
              cache.make_key("m@1", {"max_length": 256}, "v2", "text"),
              cache.make_key("m@1", {"max_length": 256}, "v1", "text ")]
    assert len({base, *others}) == 5 and len(base) == 64


def test_get_or_compute_calls_once(store):
    calls = []
    compute = lambda: calls.append(1) or [1, 2]  # noqa: E731
    assert store.get_or_compute("9" * 64, compute) == [1, 2]
    assert store.get_or_compute("9" * 64, compute) == [1, 2]
    assert len(calls) == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_entry_is_detected_and_recomputed(store, damage):
    key = "d" * 64
    store.set(key, np.ones(8, dtype=np.float32))
    path = next(store.directory.rglob("*.bin"))
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[:-3]
    elif damage == "flip":
        blob[-1] ^= 0xFF
    else:
        blob = bytearray(b"not a cache entry")
    path.write_bytes(bytes(blob))
    with pytest.warns(RuntimeWarning, match="damaged cache entry"):
        value = store.get_or_compute(key, lambda: np.zeros(8, dtype=np.float32))
    assert np.array_equal(value, np.zeros(8)) and store.corrupt_entries == 1
    assert np.array_equal(store.get(key), np.zeros(8))  # the recomputed value replaced the damaged file


def test_concurrent_writers_leave_complete_entries(store):
    key, errors = "e" * 64, []

    def writer(i):
        for _ in range(30):
            store.set(key, np.full(1000, i, dtype=np.float64))

    def reader():
        for _ in range(60):
            value = store.get(key)
            if value is not None and not (value.shape == (1000,) and np.all(value == value[0])):
                errors.append(value)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)] + [threading.Thread(target=reader)]
    with _no_warnings():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors and store.corrupt_entries == 0
    assert not list(store.directory.rglob("*.tmp"))  # no temporary file left behind


class _no_warnings:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_clear_and_size(tmp_path, monkeypatch):
    monkeypatch.setenv("CAUSALREC_CACHE_DIR", str(tmp_path))
    assert cache.root() == config.cache_dir() / "lm"
    a, b = cache.DiskCache("encoder"), cache.DiskCache("generator")
    a.set("1" * 64, np.zeros(3))
    b.set("2" * 64, "text")
    b.set("3" * 64, "more")
    assert cache.size("generator").entries == 2 and cache.size().entries == 3
    removed = cache.clear("generator")
    assert removed.entries == 2 and cache.size().entries == 1
    cache.clear()
    assert cache.size() == cache.CacheSize(0, 0)


def test_bad_arguments(store):
    with pytest.raises(ValueError, match="namespace"):
        cache.DiskCache("../escape")
    with pytest.raises(TypeError, match="JSON"):
        store.set("f" * 64, object())
