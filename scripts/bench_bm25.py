#!/usr/bin/env python3
"""Build time, peak memory and query latency of `BM25Index` on a synthetic corpus.

Usage: python scripts/bench_bm25.py [--docs 20000] [--idf okapi] [--impl bm25.py ...]

``--impl`` benchmarks another version of the module instead of the installed one, for
example main's (``git show main:postfinder/lexical/bm25.py > /tmp/old_bm25.py``).
Given twice or more, the versions answer the same queries in turns, so a load change
on a shared machine hits them alike, and the largest score difference between the first
and each other is printed. Peak memory is the process's maximum resident size: it is
printed for one version only, built alone in its process.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import random
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np


def _module(path: Path | None, name: str) -> ModuleType:
    if path is None:
        return importlib.import_module("postfinder.lexical.bm25")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _corpus(n_docs: int, seed: int) -> Iterator[list[str]]:
    """Zipf-like posts of 5 to 400 tokens; four function words are in most of them."""
    rng = np.random.default_rng(seed)
    common = ["и", "в", "на", "не"]
    for _ in range(n_docs):
        length = int(np.clip(rng.lognormal(4.0, 0.8), 5, 400))
        words = rng.zipf(1.3, length) % 60000
        tokens = [f"t{w}" for w in words]
        tokens += [w for w in common if rng.random() < 0.7]
        yield tokens


def _rss_mib() -> float:
    """Resident size now (Linux), 0 where /proc is missing."""
    status = Path("/proc/self/status")
    if not status.exists():
        return 0.0
    line = next(
        x for x in status.read_text(encoding="ascii").splitlines() if x.startswith("VmRSS:")
    )
    return int(line.split()[1]) / 1024


def _summary(name: str, values: list[float]) -> str:
    return (
        f"  {name}: p50 {np.percentile(values, 50):.3f} ms, "
        f"p95 {np.percentile(values, 95):.3f} ms, mean {np.mean(values):.3f} ms"
    )


def _build(paths: list[Path | None], n_docs: int, idf: str) -> list[Any]:
    """Build one index per version, printing build time (and memory for a single one)."""
    indexes: list[Any] = []
    for i, path in enumerate(paths):
        module = _module(path, f"bm25_under_test_{i}")
        started = time.perf_counter()
        index = module.BM25Index(idf=idf)
        index.build(list(range(n_docs)), _corpus(n_docs, 0))
        print(f"{module.__file__}: {n_docs} docs, idf {idf}")
        print(f"  build: {time.perf_counter() - started:.1f} s")
        if len(paths) == 1:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak RSS: {peak:.0f} MiB, after the build: {_rss_mib():.0f} MiB")
        indexes.append(index)
    return indexes


def _time(indexes: list[Any], queries: list[list[str]]) -> list[dict[str, list[float]]]:
    """Time each query on each index in turn: search, then coverage of its top 3 hits."""
    for index in indexes:  # warm-up
        for query in queries[:20]:
            index.search(query, 50)
    # Wall time counts the other processes on a shared machine (a preemption is a
    # scheduler tick, about 4 ms); CPU time counts only this one's work.
    timings: list[dict[str, list[float]]] = [
        {"search": [], "search, CPU time": [], "coverage of the top 3": []} for _ in indexes
    ]
    for query in queries:
        for index, times in zip(indexes, timings):
            started, cpu = time.perf_counter(), time.process_time()
            hits = index.search(query, 50)
            times["search, CPU time"].append((time.process_time() - cpu) * 1000)
            times["search"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            for doc_id, _ in hits[:3]:  # as `Retriever.search` does
                index.coverage(query, doc_id)
            times["coverage of the top 3"].append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--idf", default="okapi")
    parser.add_argument("--impl", type=Path, action="append")
    args = parser.parse_args()
    paths: list[Path | None] = args.impl or [None]
    indexes = _build(paths, args.docs, args.idf)
    rng = random.Random(1)
    queries = [rng.sample(doc, min(len(doc), rng.randint(2, 6))) for doc in _corpus(200, 7)]
    queries = (queries * (args.queries // len(queries) + 1))[: args.queries]
    for path, times in zip(paths, _time(indexes, queries)):
        print(f"{path or 'postfinder.lexical.bm25'}, {len(queries)} queries, k=50:")
        for name, values in times.items():
            print(_summary(name, values))
    first = np.stack([indexes[0].scores(q) for q in queries[:200]])
    for path, index in zip(paths[1:], indexes[1:]):
        other = np.stack([index.scores(q) for q in queries[:200]])
        diff = np.abs(first - other)
        rel = diff[first != 0] / np.abs(first[first != 0])
        print(f"largest score difference from {path}: {diff.max():.3g} (relative {rel.max():.3g})")


if __name__ == "__main__":
    main()
