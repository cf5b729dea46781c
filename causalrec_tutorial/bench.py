"""Benchmarks: time per chapter (and, as they land, model throughput and headline numbers), recorded in a file.

    python -m causalrec_tutorial.bench            # every chapter, full mode
    python -m causalrec_tutorial.bench --smoke    # every chapter in smoke mode (a workshop's quick check; printed)
    python -m causalrec_tutorial.bench --smoke --record  # the same, recorded for the reference machine
    python -m causalrec_tutorial.bench --cold 03  # one chapter with an empty LM cache (printed, not recorded)

Each chapter is executed in a fresh kernel on a temporary copy (the stored notebook is not touched). The results
go to ``tests/benchmarks/results.md`` (the README links there), smoke-mode runs with ``--record`` to
``tests/benchmarks/smoke_results.md``, each with the machine it was measured on. Timings are recorded, never asserted in unit tests: machines differ.

Book: README.md, "Teaching a workshop".
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import tempfile
import time

import numpy as np

from . import config

RESULTS = config.PROJECT_DIR / "tests" / "benchmarks" / "results.md"
SMOKE_RESULTS = config.PROJECT_DIR / "tests" / "benchmarks" / "smoke_results.md"


def chapters() -> list:
    """Every notebook in ``book/``, in file-name order."""
    return sorted(p for p in (config.PROJECT_DIR / "book").glob("*.ipynb"))


def time_chapter(path, timeout: int = 1200) -> float:
    """Execute one notebook in a fresh kernel (cwd = ``book/``) and return the wall-clock seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def speed_index() -> tuple[float, float]:
    """How fast this machine is right now: (seconds for a fixed pure-Python loop, numpy float32 matmul GFLOP/s).

    Shared and virtual machines change speed from hour to hour (other tenants, frequency scaling); chapter times
    depend on both (tracing models and pandas are single-threaded Python; encoders are matmuls). Recording it beside the
    timings helps to compare runs from different days (roughly: it does not capture every kind of slowdown). Best
    of three, so a brief hiccup does not count.
    """
    loops, rates = [], []
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        loops.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(10):
            a @ a
        rates.append(10 * 2 * 1024**3 / (time.perf_counter() - start) / 1e9)
    return min(loops), max(rates)


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}, "
            f"load average {load:.1f} at the end")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run the chapters in smoke mode (printed, not recorded)")
    parser.add_argument("--record", action="store_true",
                        help="with --smoke: record the timings in tests/benchmarks/smoke_results.md")
    parser.add_argument("--cold", action="store_true",
                        help="start from an empty language-model result cache (converted models are reused)")
    parser.add_argument("only", nargs="*", metavar="CHAPTER",
                        help="time only the notebooks whose names start with these prefixes (e.g. 03); printed, "
                             "not recorded")
    args = parser.parse_args(argv)
    selected = [p for p in chapters() if not args.only or any(p.name.startswith(o) for o in args.only)]
    if not selected:
        parser.error(f"no notebook in book/ starts with {args.only}")
    if args.smoke:
        os.environ["CAUSALREC_MODE"] = "smoke"
    if args.cold:
        cold = pathlib.Path(tempfile.mkdtemp(prefix="causalrec-cold-cache-"))
        if (config.cache_dir() / "models").exists():
            (cold / "models").symlink_to(config.cache_dir() / "models")
        os.environ["CAUSALREC_CACHE_DIR"] = str(cold)
    speed_before = speed_index()
    rows = []
    for path in selected:
        seconds = time_chapter(path)
        rows.append((path.name, seconds))
        print(f"{path.name}: {seconds:.1f} s", flush=True)
    if args.only or (args.smoke and not args.record):
        print(f"speed index before: Python loop {speed_before[0]:.2f} s, matmul {speed_before[1]:.0f} GFLOP/s")
        return 0
    machine = _machine()
    speed_after = speed_index()
    speed = (f"speed index before/after: Python loop {speed_before[0]:.2f}/{speed_after[0]:.2f} s, "
             f"matmul {speed_before[1]:.0f}/{speed_after[1]:.0f} GFLOP/s")
    lines = [
        "# Recorded benchmarks",
        "",
        f"Written by `python -m causalrec_tutorial.bench` on {datetime.date.today().isoformat()} ({machine}).",
        f"Wall-clock time to execute each chapter in a fresh kernel, {'smoke' if args.smoke else 'full'} mode, with the assets fetched and the models",
        f"converted; language-model result cache {'empty at the start (--cold)' if args.cold else 'as found'}. A load average above the core count means",
        "other work shared the machine and the times are pessimistic. Language-model throughput: lm_results.md.",
        f"Machine {speed} (`bench.speed_index`: best of three",
        "runs of a fixed pure-Python loop, lower is faster, and of a float32 matmul). Virtual machines change speed from",
        "hour to hour; the index helps to compare runs from different days, but only roughly.",
        "",
        "<!-- timings table (included by book/instructor_guide.md) -->",
        "",
        "| chapter | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in rows],
        "",
    ]
    if args.smoke:
        lines[0] = "# Recorded benchmarks: smoke mode"
        lines[6:6] = ["Smoke mode (`CAUSALREC_MODE=smoke`, as `make smoke` runs it): small worlds and short training, so",
                      "the numbers differ from the book's and nothing is compared; this is the workshop's quick check."]
    out = SMOKE_RESULTS if args.smoke else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"recorded in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
