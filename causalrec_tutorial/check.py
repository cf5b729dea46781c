"""``python -m causalrec_tutorial.check``: is this machine ready for the course? A one-minute check for workshops.
Book: README.md, "Teaching a workshop" (the evening-before check).

It checks, in order: the Python version; the installed libraries against the package's own bounds; every asset
(present and its sha256 right); the Gemma preset converted at set-up; MiniLM encodes a sentence and Gemma writes a
few tokens (both for real, without the cache); a tiny simulated shop writes its logs and knows its truth; a figure
renders; MathJax is there for the offline book. Each line says ``ok`` or what is wrong and **the command that fixes
it**; the last line says ``READY`` or ``NOT READY`` (exit code 0 or 1). Nothing touches the network.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable

from . import config

__all__ = ["Check", "run_checks", "main"]

SETUP = "make book  (or: make install, then python -m causalrec_tutorial.assets fetch)"


@dataclasses.dataclass
class Check:
    """One line of the report: what was checked, whether it passed, what was seen, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    seconds: float = 0.0


def _python() -> tuple[bool, str, str]:
    v = sys.version_info
    ok = v >= (3, 11)
    fix = "" if ok else "install Python >= 3.11, then: make book PYTHON=python3.11"
    return ok, f"Python {v.major}.{v.minor}.{v.micro}", fix


def _libraries() -> tuple[bool, str, str]:
    from importlib import metadata

    from packaging.requirements import Requirement

    bad = []
    requires = metadata.requires("causalrec_tutorial") or []
    for line in requires:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # the dev extra is checked by make test, not needed to run the chapters
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            bad.append(f"{req.name} missing")
            continue
        if have not in req.specifier:
            bad.append(f"{req.name} {have} not in {req.specifier}")
    n = len([r for r in requires if "extra" not in r])
    if bad:
        return False, "; ".join(bad), "make install  (re-installs the package with its bounded dependencies)"
    return True, f"{n} libraries within the package's bounds", ""


def _assets() -> tuple[bool, str, str]:
    from . import assets

    problems, fixes = [], []
    for name, asset in assets.MANIFEST.items():
        status = assets.verify(name)
        if not status.ok:
            problems.append(f"{name}: {status.state} ({'; '.join(status.problems)[:120]})")
            fixes.append(asset.fix_command)
    if problems:
        return False, "; ".join(problems), "; ".join(fixes)
    return True, f"{len(assets.MANIFEST)} assets present, every sha256 verified", ""


def _gemma_preset() -> tuple[bool, str, str]:
    from .lm import gemma

    preset = config.cache_dir() / "models"
    try:
        source = gemma.gguf_path()
    except Exception as err:  # noqa: BLE001 - reported, with the fix
        return False, str(err).splitlines()[0], "python -m causalrec_tutorial.assets fetch gemma3_270m"
    found = [p for p in preset.glob("gemma3-270m-kerashub-*") if (p / "config.json").is_file()]
    if not found:
        return False, f"no converted preset in {preset} (from {source.name})", "python -m causalrec_tutorial.lm"
    return True, f"preset {found[0].name}", ""


def _minilm() -> tuple[bool, str, str]:
    import numpy as np

    from .lm import TextEncoder

    vec = TextEncoder(cache=False).encode(["a waterproof hiking jacket"])
    ok = vec.shape == (1, 384) and bool(np.isfinite(vec).all()) and abs(float(np.linalg.norm(vec)) - 1) < 1e-4
    fix = "" if ok else "python -m causalrec_tutorial.assets fetch minilm"
    return ok, f"one sentence -> a unit vector of {vec.shape[1]} numbers", fix


def _gemma() -> tuple[bool, str, str]:
    from .lm import TextGenerator

    text = TextGenerator(cache=False).generate("The capital of France is", max_new_tokens=3)
    ok = isinstance(text, str) and len(text.strip()) > 0
    return ok, f"'The capital of France is' -> {text!r}", "" if ok else "python -m causalrec_tutorial.lm"


def _world() -> tuple[bool, str, str]:
    from .world import ShopWorld

    w = ShopWorld(seed=1, n_users=50, n_items=30, n_cold_items=3, n_sessions=200, n_late_sessions=50)
    logs = w.logs()
    value = w.policy_value("logging")
    ok = len(logs.impressions) == 200 * w.k and 0 < value.clicks
    return ok, f"a tiny shop: {len(logs.impressions)} impressions, {value.clicks:.3f} clicks per session", ""


def _figure() -> tuple[bool, str, str]:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    ok = buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    return ok, f"a PNG of {len(buf.getvalue())} bytes", "" if ok else "pip install --force-reinstall matplotlib"


def _mathjax() -> tuple[bool, str, str]:
    path = config.data_dir() / "vendor" / "mathjax" / "es5" / "tex-chtml.js"
    if path.is_file():
        return True, "MathJax 3 for offline formulas", ""
    return False, f"no {path}", "make mathjax  (needs npm once)"


CHECKS: list[tuple[str, Callable[[], tuple[bool, str, str]]]] = [
    ("python", _python),
    ("libraries", _libraries),
    ("assets", _assets),
    ("gemma preset", _gemma_preset),
    ("MiniLM", _minilm),
    ("Gemma", _gemma),
    ("simulated shop", _world),
    ("figures", _figure),
    ("MathJax", _mathjax),
]
# a check that cannot run when an earlier one failed (it would only repeat that error)
_NEEDS = {"Gemma": "gemma preset"}


def _fix_from(err: Exception) -> str:
    """The command an error names (AssetError says "Fix it with: ..."), else the set-up command."""
    for line in str(err).splitlines():
        if line.startswith("Fix it with:"):
            return line.split(":", 1)[1].strip()
    return SETUP


def run_checks(progress: bool = True) -> list[Check]:
    """Run every check (a failing one does not stop the others); return one :class:`Check` per line."""
    results: dict[str, Check] = {}
    for name, func in CHECKS:
        start = time.perf_counter()
        need = _NEEDS.get(name)
        if need and not results[need].ok:
            check = Check(name, False, f"skipped: needs {need}", results[need].fix)
        else:
            try:
                ok, detail, fix = func()
            except Exception as err:  # noqa: BLE001 - a check reports every failure, it never crashes
                ok, detail, fix = False, f"{type(err).__name__}: {str(err).splitlines()[0][:200]}", _fix_from(err)
            check = Check(name, ok, detail, fix, time.perf_counter() - start)
        results[name] = check
        if progress:
            mark = "ok  " if check.ok else "FAIL"
            print(f"{mark} {name:15s} {check.detail}  ({check.seconds:.1f} s)", flush=True)
            if not check.ok and check.fix:
                print(f"     fix: {check.fix}", flush=True)
    return list(results.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m causalrec_tutorial.check", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    config.import_keras()  # quiet TensorFlow's start-up before anything imports it
    start = time.perf_counter()
    results = run_checks()
    failed = [c for c in results if not c.ok]
    total = time.perf_counter() - start
    if failed:
        print(f"NOT READY ({len(failed)} of {len(results)} checks failed, {total:.0f} s). Fix, in this order:")
        for c in failed:
            if c.fix:
                print(f"  - {c.name}: {c.fix}")
        return 1
    print(f"READY: every check passed in {total:.0f} s. The book is at _build/html/index.html once `make book` ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
