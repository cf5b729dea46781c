"""Paths, the smoke/full switch and the one-line notebook set-up.
Book: 01_background.ipynb, sec-background (the first cell of every chapter)

Everything a chapter needs before its first real cell lives here, so that every chapter starts the same way::

    import causalrec_tutorial as crt
    rng = crt.setup_notebook(seed=7)

Environment variables (all optional):

``CAUSALREC_DATA_DIR``
    Where fetched assets and caches live. Default: ``data/`` in the repository (git-ignored contents).
``CAUSALREC_CACHE_DIR``
    Where computed results (language-model outputs, converted models) are cached. Default: ``<data dir>/cache``.
``CAUSALREC_MODE``
    ``full`` (default) or ``smoke``. Smoke mode shrinks every simulated world and training run so that a whole
    workshop can check its set-up in a few minutes; the numbers then differ from the book's.

Importing this module sets ``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0`` (unless already set): both
must be in place *before* TensorFlow is imported, or TensorFlow writes to stderr and nbval fails the notebook.
No seeding and no plot styling happens at import; :func:`setup_notebook` does those when asked.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pathlib
import random
import sys
import warnings

import numpy as np

from ._checks import as_rng as as_rng  # re-exported: crt.config.as_rng, as before
from ._checks import check_int

# Must precede any TensorFlow import anywhere in the process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
#: The repository root when the package is used from a checkout (an editable install), else the working directory.
PROJECT_DIR = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "_config.yml").exists() else pathlib.Path.cwd()

MODES = ("full", "smoke")
DEFAULT_SEED = 7


def data_dir() -> pathlib.Path:
    """The folder for fetched assets and caches (``CAUSALREC_DATA_DIR``, default ``<repo>/data``)."""
    return _folder("CAUSALREC_DATA_DIR", PROJECT_DIR / "data")


def assets_dir() -> pathlib.Path:
    """The folder where :mod:`causalrec_tutorial.assets` keeps fetched artefacts (``<data dir>/assets``)."""
    return data_dir() / "assets"


def cache_dir() -> pathlib.Path:
    """The folder for computed results (``CAUSALREC_CACHE_DIR``, default ``<data dir>/cache``)."""
    return _folder("CAUSALREC_CACHE_DIR", data_dir() / "cache")


def _folder(variable: str, default: pathlib.Path) -> pathlib.Path:
    """The folder an environment variable names (``~`` expanded, made absolute), or ``default`` when it is unset.

    An empty or blank value is refused: it would silently mean the current directory."""
    value = os.environ.get(variable)
    if value is None:
        return pathlib.Path(default).expanduser().resolve()
    if not value.strip():
        raise ValueError(f"{variable} is set but empty; unset it for the default folder or give a path")
    return pathlib.Path(value).expanduser().resolve()


def mode() -> str:
    """``"full"`` or ``"smoke"``, from ``CAUSALREC_MODE``.

    Raises:
        ValueError: if the variable holds anything else.
    """
    value = os.environ.get("CAUSALREC_MODE", "full").strip().lower()
    if value not in MODES:
        raise ValueError(f"CAUSALREC_MODE must be one of {MODES}, got {value!r}")
    return value


def is_smoke() -> bool:
    """True in smoke mode (``CAUSALREC_MODE=smoke``)."""
    return mode() == "smoke"


def by_mode(full, smoke):
    """Return ``smoke`` in smoke mode and ``full`` otherwise: ``n_users = crt.config.by_mode(4000, 300)``."""
    return smoke if is_smoke() else full


PLOT_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "legend.frameon": False,
    "font.size": 10,
    "svg.hashsalt": "causalrec",  # stable SVG ids between runs
}


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Send file descriptor 2 to /dev/null for the duration (C++ libraries write there, past Python's sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def import_keras():
    """Import TensorFlow and Keras (TensorFlow backend) without TensorFlow's start-up chatter; return ``keras``.

    TensorFlow >= 2.16 logs "Could not find cuda drivers" through absl *before* it reads ``TF_CPP_MIN_LOG_LEVEL``
    (tensorflow/tensorflow#100442), straight to file descriptor 2, where Jupyter shows it as stderr and nbval
    fails. So the first import runs with that descriptor silenced; an import error still raises normally.
    Every module of the package that needs Keras imports it through this function.
    """
    if "tensorflow" not in sys.modules:
        with _stderr_fd_silenced():
            import tensorflow  # noqa: F401
            import keras
        # TensorFlow's import leaves ~400,000 objects that live as long as the process. Move them out of the cyclic
        # garbage collector's sight: otherwise every full collection rescans them (0.2 s each), and tracing a
        # Keras model triggers many (measured: a GRU fit in a chapter's kernel took 12 s instead of 7 s).
        gc.collect()
        gc.freeze()
    import keras

    return keras


def _quiet_warnings() -> None:
    """Silence known noise narrowly (by message and module), never all warnings."""
    warnings.filterwarnings("ignore", message=r".*Protobuf gencode version.*", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(jupyter_client|ipykernel|tf_keras)")
    # tqdm.auto falls back to a text bar without ipywidgets and says so on stderr, once per kernel
    warnings.filterwarnings("ignore", message=r"IProgress not found")


def setup_notebook(seed: int = DEFAULT_SEED, keras: bool = True, verbose: bool = True) -> np.random.Generator:
    """Prepare a chapter: seeds, deterministic Keras, quiet TensorFlow, one plot style, printed versions.

    Args:
        seed: the chapter's seed. The returned generator is the only source of randomness a chapter should use.
        keras: also import Keras (TensorFlow backend), seed it and turn on op determinism. Chapters that never
            train a model may pass ``False`` to save TensorFlow's import time.
        verbose: print the mode and library versions (useful in bug reports).

    Returns:
        ``numpy.random.Generator`` seeded with ``seed``. Pass it (or generators spawned from it) explicitly.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.

    Book: 01_background.ipynb, sec-background (the first code cell of every chapter).
    """
    seed = check_int("seed", seed, 0)
    _quiet_warnings()
    # MyST-NB's glue imports nbformat, hence jsonschema, which imports the optional rfc3987-syntax (installed by the
    # Jupyter stack) and compiles 38 grammars on import: 2 s of every chapter for an IRI format check no chapter
    # makes. Marking it absent makes jsonschema skip that one check, as it does when the package is not installed.
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
    random.seed(seed)
    np.random.seed(seed)  # only for third-party code that still uses the global state (e.g. parts of DoWhy)
    versions = {"python": sys.version.split()[0], "numpy": np.__version__}
    if keras:
        _keras = import_keras()
        import tensorflow as tf

        _keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        versions.update(tensorflow=tf.__version__, keras=_keras.__version__)
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd

    plt.rcParams.update(PLOT_STYLE)
    versions.update(pandas=pd.__version__, matplotlib=matplotlib.__version__)
    if verbose:
        print(f"causalrec_tutorial: mode={mode()}, seed={seed}")
        print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return np.random.default_rng(seed)
