"""Benchmarks: time per chapter (and, as they land, model throughput and headline numbers), recorded in a file.

    python -m causalrec_tutorial.bench            # every chapter, full mode
    python -m causalrec_tutorial.bench --smoke    # every chapter in smoke mode (a workshop's quick check)

Each chapter is executed in a fresh kernel on a temporary copy (the stored notebook is not touched). The results
go to ``tests/benchmarks/results.md`` (the README links there), with the machine they were measured on. Timings
are recorded, never asserted in unit tests: machines differ.

Book: README.md, "Teaching a workshop".
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

from . import config

RESULTS = config.PROJECT_DIR / "tests" / "benchmarks" / "results.md"


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


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run the chapters in smoke mode (not recorded)")
    args = parser.parse_args(argv)
    if args.smoke:
        os.environ["CAUSALREC_MODE"] = "smoke"
    rows = []
    for path in chapters():
        seconds = time_chapter(path)
        rows.append((path.name, seconds))
        print(f"{path.name}: {seconds:.1f} s", flush=True)
    if args.smoke:
        return 0
    lines = [
        "# Recorded benchmarks",
        "",
        f"Written by `python -m causalrec_tutorial.bench` on {datetime.date.today().isoformat()} ({_machine()}).",
        "Wall-clock time to execute each chapter in a fresh kernel, full mode, warm asset and model caches.",
        "",
        "| chapter | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in rows],
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print(f"recorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
