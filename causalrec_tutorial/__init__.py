"""causalrec_tutorial: LLMs in recommender systems, through a causal lens.

Import as ``import causalrec_tutorial as crt``. Sub-modules load on first use (``crt.world``, ``crt.assets``, ...),
so that importing the package stays fast and does not pull in TensorFlow until a chapter needs it.
"""

from __future__ import annotations

import importlib

from . import columns, config
from .config import setup_notebook

__version__ = "0.1.0"

_SUBMODULES = {
    "assets",
    "bench",
    "check",
    "causal",
    "data",
    "evaluate",
    "exercises",
    "interest",
    "lm",
    "plotting",
    "recommend",
    "world",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["columns", "config", "setup_notebook", *sorted(_SUBMODULES)]
