#!/usr/bin/env python3
"""Per-stage query latency of hybrid search on an indexed channel.

Usage: python scripts/bench_search.py QUESTIONS.jsonl [--channel ID] [--limit N]
Prints p50/p95 in ms of: query embedding, vector search, BM25, fusion, BM25 + fusion,
and the whole query.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from postfinder.app import build_app
from postfinder.evaluation import load_questions
from postfinder.settings import load_settings


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("--channel")
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    app = build_app(load_settings())
    retriever = app.retriever(args.channel)
    queries = [q.query for q in load_questions(args.questions)][: args.limit]
    retriever.search(queries[0])  # warm-up: loads the BM25 index and the model
    stages: dict[str, list[float]] = {}
    for query in queries:
        started = time.perf_counter()
        result = retriever.search(query, k=10)
        total = (time.perf_counter() - started) * 1000
        for name, value in result.timings_ms.items():
            stages.setdefault(name, []).append(value)
        stages.setdefault("bm25+fusion_ms", []).append(
            result.timings_ms["bm25_ms"] + result.timings_ms["fusion_ms"]
        )
        stages.setdefault("total_ms", []).append(total)
    info = retriever.channel.info()
    print(f"channel {info.id}: {info.posts} posts, {len(queries)} queries, {app.embedder.name}")
    for name, values in stages.items():
        print(
            f"{name:<16} p50 {np.percentile(values, 50):8.2f}  p95 {np.percentile(values, 95):8.2f}"
        )
    app.close()


if __name__ == "__main__":
    main()
