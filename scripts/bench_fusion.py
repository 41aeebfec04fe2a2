#!/usr/bin/env python3
"""Compare fusion strategies on an indexed channel and a labelled questions file.

Dense and BM25 candidates are computed once per question, then each strategy ranks
them; prints MRR@10 / hit@k per strategy.

Usage: python scripts/bench_fusion.py QUESTIONS.jsonl [--channel ID] [--limit N]
(uses the usual settings: POSTFINDER_DATA_DIR etc.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from postfinder.app import build_app
from postfinder.evaluation import RetrievalMetrics, load_questions
from postfinder.retrieval import convex_fuse, rrf_fuse
from postfinder.settings import load_settings


def main() -> None:
    """Run the comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("--channel")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    app = build_app(load_settings())
    retriever = app.retriever(args.channel)
    questions = [q for q in load_questions(args.questions) if not q.should_refuse][: args.limit]
    cached = []
    for q in questions:
        dense = retriever.dense(q.query, 50)
        lexical = retriever.lexical(q.query, 50)
        cached.append((q, dense, lexical))
    strategies = {
        "bm25": lambda d, l: [p for p, _ in l],
        "dense": lambda d, l: [p for p, *_ in d],
    }
    for k in (1, 5, 10, 20, 60):
        strategies[f"rrf k={k}"] = lambda d, l, k=k: [
            p for p, _ in rrf_fuse([[x for x, *_ in d], [x for x, _ in l]], k)
        ]
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        strategies[f"convex a={alpha}"] = lambda d, l, a=alpha: [
            p for p, _ in convex_fuse({x: s for x, s, _ in d}, dict(l), a)
        ]
    print(
        f"{'strategy':<16} {'hit@1':>6} {'hit@5':>6} {'hit@10':>6} {'mrr@10':>7} (n={len(cached)})"
    )
    for name, rank in strategies.items():
        metrics = RetrievalMetrics()
        for q, d, l in cached:
            metrics.add(rank(d, l), q.relevant)
        m = metrics.as_dict()
        print(
            f"{name:<16} {m['hit@1']:6.3f} {m['hit@5']:6.3f} {m['hit@10']:6.3f} {m['mrr@10']:7.3f}"
        )


if __name__ == "__main__":
    main()
