"""Benchmark the language models on this machine and record the numbers (never asserted in tests).

    python tests/benchmarks/lm_bench.py encoder            # MiniLM: load time, sentences/s, memory
    python tests/benchmarks/lm_bench.py generator          # Gemma 3 270M float32: load, trace, tokens/s, scoring
    python tests/benchmarks/lm_bench.py generator --dtype bfloat16

Each run appends one line per measurement to ``tests/benchmarks/lm_results.md``. Run one part per process (the
memory figure is the process's resident size). The disk cache is off; converted models must already exist (the
first run converts them, which is then reported as load time).
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import resource
import time

import numpy as np

RESULTS = pathlib.Path(__file__).resolve().parent / "lm_results.md"
_LOAD_AT_START = os.getloadavg()[0]
WORDS = ("the a user movie watched liked film quiet loud documentary about mountain river railway action comedy "
         "drama space alien love story city night music old new family war crime detective school summer").split()


def _rss_gb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e9


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _record(lines: list[str]) -> None:
    load = os.getloadavg()[0]
    stamp = (f"{datetime.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
             f"load average {_LOAD_AT_START:.1f} at the start, {load:.1f} at the end")
    with RESULTS.open("a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(f"| {line} | {stamp} |\n")
    print("\n".join(lines))


def bench_encoder(n: int) -> list[str]:
    from causalrec_tutorial.lm import TextEncoder

    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, 20)) for _ in range(n)]
    enc = TextEncoder(cache=False, batch_size=64)
    start = time.perf_counter()
    enc.model
    load = time.perf_counter() - start
    start = time.perf_counter()
    enc.encode(texts[:64])
    first = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    enc.encode(texts)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    return [f"encoder MiniLM-L6-v2 (TF_ENABLE_ONEDNN_OPTS={onednn}) | load {load:.1f} s, first batch (trace) "
            f"{first:.1f} s | {n / wall:.0f} sentences/s (20 words, {n} sentences, batch 64; {n / cpu:.0f} per "
            f"CPU-second, so ~{2 * n / cpu:.0f}/s on 2 idle cores) | RSS {_rss_gb():.2f} GB, peak {_peak_gb():.2f} GB"]


def bench_generator(dtype: str, n_tokens: int, n_candidates: int) -> list[str]:
    from causalrec_tutorial.lm import TextGenerator, prompts

    gen = TextGenerator(dtype=dtype, cache=False)
    start = time.perf_counter()
    gen.model
    load = time.perf_counter() - start
    start = time.perf_counter()
    gen.generate("Hello", max_new_tokens=2)  # prefill and one decoding step
    trace = time.perf_counter() - start
    prompt = "Recommendation systems learn from what users click, but"
    start, cpu = time.perf_counter(), time.process_time()
    text = gen.generate(prompt, max_new_tokens=n_tokens)
    seconds, gen_cpu = time.perf_counter() - start, time.process_time() - cpu
    produced = len(gen.tokenize(text))
    rank_prompt = prompts.RANK_CANDIDATES.render(items=["Star Wars (1977)", "The Empire Strikes Back (1980)"])
    titles = [f" Movie number {i} ({1960 + i})" for i in range(n_candidates - 1)] + [" Return of the Jedi (1983)"]
    gen.score(rank_prompt, titles[:2])  # warm up
    start, cpu = time.perf_counter(), time.process_time()
    gen.score(rank_prompt, titles)
    score_s, score_cpu = time.perf_counter() - start, time.process_time() - cpu
    n_prompt = len(gen.tokenize(rank_prompt)) + 1
    return [f"generator Gemma 3 270M {dtype} | load {load:.1f} s, first call (trace) {trace:.1f} s | "
            f"{produced / seconds:.1f} tokens/s greedy ({produced} tokens; {1000 * gen_cpu / produced:.0f} ms CPU "
            f"per token); scoring {n_candidates} candidates after a {n_prompt}-token prompt {score_s:.2f} s = "
            f"{n_candidates / score_s:.1f} candidates/s ({score_cpu:.2f} CPU-s in all) | "
            f"RSS {_rss_gb():.2f} GB, peak {_peak_gb():.2f} GB"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["encoder", "generator"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--n", type=int, default=1000, help="sentences for the encoder")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--candidates", type=int, default=20)
    args = parser.parse_args(argv)
    if not RESULTS.exists():
        RESULTS.write_text("# Language-model benchmarks\n\nWritten by `python tests/benchmarks/lm_bench.py`.\n\n"
                           "| model | start-up | throughput | memory | when, where |\n|---|---|---|---|---|\n",
                           encoding="utf-8")
    lines = (bench_encoder(args.n) if args.part == "encoder"
             else bench_generator(args.dtype, args.tokens, args.candidates))
    _record(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
