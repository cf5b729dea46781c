"""``python -m causalrec_tutorial.lm``: convert the fetched Gemma GGUF file into its keras-hub preset, once.

``make book`` runs this during set-up, after ``python -m causalrec_tutorial.assets fetch``, so that no chapter pays
for the conversion (about a minute on two cores; the first chapter that generates text would otherwise do it).
When the preset is already in ``config.cache_dir() / "models"`` this returns at once. MiniLM needs no conversion:
its forward pass reads the fetched weights directly.

Book: README.md, set-up
"""

from __future__ import annotations

import sys
import time

from ..assets import AssetError
from . import gemma


def main() -> int:
    start = time.perf_counter()
    try:
        preset = gemma.gemma_preset(progress=True)
    except AssetError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"language models ready in {time.perf_counter() - start:.1f} s: Gemma preset at {preset}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
