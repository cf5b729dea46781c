"""Writing a converted model as a keras-hub preset folder, atomically (used by the MiniLM and Gemma converters).
Book: appendix_a_language_models.ipynb, sec-lm-models
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile


def save_preset(target: pathlib.Path, *layers) -> pathlib.Path:
    """Save ``layers`` (a backbone, a tokenizer, ...) with ``save_to_preset`` into ``target``, atomically.

    The preset is written into a staging folder beside ``target`` and renamed into place, so a crash never leaves a
    half-written preset. If another process finished the same conversion first, its preset is kept.

    Returns:
        ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for layer in layers:
            layer.save_to_preset(str(staging))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except OSError:
        if not (target / "tokenizer.json").is_file():  # another process won the race
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
