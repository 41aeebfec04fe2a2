#!/usr/bin/env python3
"""Measure retrieval, fusion choices and refusal on every evaluation channel.

Channels: the XQuAD haystack, two channels cut from tg-news-ru (scripts/evalsets), the
Chinese trantor export, and the two small fixtures (a 16-post city channel, a
multilingual forum group). Each is indexed once into WORK/<name>; then for each it
prints hit@5 / MRR@10 per fusion strategy, and refusal / false-refusal rates of the
shipped refusal model and of the channel's label-free automatic calibration.

Usage: python scripts/bench_channels.py [--shared ../shared] [--work /tmp/pf-eval]
       [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from build_eval_channel import build  # type: ignore[import-not-found]

from postfinder.answering.autocalibration import auto_calibrate
from postfinder.answering.refusal import RefusalModel
from postfinder.app import App
from postfinder.evaluation import Question, RetrievalMetrics, load_questions
from postfinder.retrieval import HybridRetriever, convex_fuse, rrf_fuse
from postfinder.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def channels(shared: Path, work: Path) -> dict[str, tuple[Callable[[], Path], Path]]:
    """Name -> (function returning the export path, questions file)."""

    def cut(source: str, newest: int, name: str) -> Callable[[], Path]:
        def make() -> Path:
            out = work / "exports" / name / "result.json"
            if not out.is_file():
                out.parent.mkdir(parents=True, exist_ok=True)
                export = build(shared / "data" / "tg-news-ru" / source, newest, 40)
                out.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
            return out

        return make

    hay = shared / "bench" / "xquad-ru-haystack-2k"
    fixtures = ROOT / "tests" / "fixtures"
    evalsets = ROOT / "scripts" / "evalsets"
    return {
        "haystack-2k": (lambda: hay / "result.json", hay / "questions.jsonl"),
        "it-library": (
            cut("1001039626561_messages.json", 250, "it-library"),
            evalsets / "it-library.jsonl",
        ),
        "moscow-city": (
            cut("1001125816841_messages.json", 300, "moscow-city"),
            evalsets / "moscow-city.jsonl",
        ),
        "trantor-zh": (
            lambda: shared / "data" / "exports" / "trantor-tg101" / "result.json",
            evalsets / "trantor-zh.jsonl",
        ),
        "city-16": (
            lambda: fixtures / "city-channel" / "result.json",
            fixtures / "city-channel" / "questions.jsonl",
        ),
        "forum-multi": (
            lambda: fixtures / "forum-group" / "result.json",
            fixtures / "forum-group" / "questions.jsonl",
        ),
    }


def fusion_table(retriever: HybridRetriever, questions: list[Question]) -> dict[str, dict]:
    """hit@5 and MRR@10 of each fusion strategy (candidates computed once)."""
    cached = [
        (q, retriever.dense(q.query, 50), retriever.lexical(q.query, 50))
        for q in questions
        if not q.should_refuse
    ]
    strategies: dict[str, Callable] = {
        "bm25": lambda d, l: [p for p, _ in l],
        "dense": lambda d, l: [p for p, *_ in d],
    }
    for k in (10, 60):
        strategies[f"rrf{k}"] = lambda d, l, k=k: [
            p for p, _ in rrf_fuse([[x for x, *_ in d], [x for x, _ in l]], k)
        ]
    for alpha in (0.3, 0.5, 0.7):
        strategies[f"cvx{alpha}"] = lambda d, l, a=alpha: [
            p for p, _ in convex_fuse({x: s for x, s, _ in d}, dict(l), a)
        ]
    table = {}
    for name, rank in strategies.items():
        metrics = RetrievalMetrics()
        for q, d, l in cached:
            metrics.add(rank(d, l), q.relevant)
        table[name] = metrics.as_dict()
    return table


def refusal_rates(
    retriever: HybridRetriever, model: RefusalModel, path: Path, k: int
) -> tuple[float, float, float]:
    """Refused shares of off-topic, near-miss and answerable questions."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    refused: dict[str, list[bool]] = {"off_topic": [], "near_miss": [], "answerable": []}
    for item in items:
        result = retriever.search(item["query"], k=k, mode="hybrid")
        kind = item.get("kind", "off_topic") if item.get("should_refuse") else "answerable"
        refused[kind].append(model.should_refuse(result))
    return tuple(  # type: ignore[return-value]
        sum(v) / len(v) if v else float("nan") for v in refused.values()
    )


def main() -> None:
    """Index what is missing, then print one block per channel."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pf-eval"))
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    for name, (export, questions_path) in channels(args.shared, args.work).items():
        if args.only and name not in args.only:
            continue
        settings = load_settings(data_dir=args.work / name)
        app = App(settings)
        if not app.catalog.ids():
            app.indexer().index_export(export(), None, None, progress=False)
        retriever = app.retriever(None)
        questions = load_questions(questions_path)
        k = settings.answer.context_posts
        table = fusion_table(retriever, questions)
        started = time.perf_counter()
        auto = auto_calibrate(retriever, k)
        seconds = time.perf_counter() - started
        shipped = refusal_rates(retriever, RefusalModel.default(), questions_path, k)
        fitted = refusal_rates(retriever, auto, questions_path, k)
        n_refuse = sum(q.should_refuse for q in questions)
        print(
            f"\n## {name}: {retriever.channel.docs.count()} posts, "
            f"{len(questions) - n_refuse} answerable + {n_refuse} unanswerable questions; "
            f"languages {retriever.channel.meta.get('languages')}"
        )
        print("fusion      " + "  ".join(f"{s:>7}" for s in table))
        for metric in ("hit@5", "mrr@10"):
            print(f"{metric:<11} " + "  ".join(f"{m[metric]:7.3f}" for m in table.values()))
        print("refused       off-topic  near-miss  answerable (false refusal)")
        for label, rates in (("shipped", shipped), ("auto", fitted)):
            print(f"{label:<12} " + "  ".join(f"{r:9.3f}" for r in rates))
        print(f"auto calibration took {seconds:.1f} s: {auto.fitted_on}")
        app.close()


if __name__ == "__main__":
    main()
