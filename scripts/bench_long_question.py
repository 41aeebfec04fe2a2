#!/usr/bin/env python3
"""Time retrieval for the same questions inside a 300- and a 4,096-character message.

Each question is wrapped in chat filler (sentences without a question) up to the
target length; the answer pipeline reduces the message to its question before
retrieval. Prints retrieval and total p50/p95 (model off) and hit@4 per length.

Usage: python scripts/bench_long_question.py QUESTIONS.jsonl [--channel ID] [--limit 40]
(uses the usual settings: POSTFINDER_DATA_DIR etc.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from postfinder.app import build_app
from postfinder.evaluation import load_questions
from postfinder.settings import load_settings

FILLER = (
    "Всем привет, давно читаю канал и хочу поделиться историей. "
    "На прошлой неделе мы с друзьями ездили за город, погода была отличная. "
    "Потом долго спорили, кто будет готовить ужин, и в итоге заказали пиццу. "
)


def wrap(question: str, length: int) -> str:
    """Put ``question`` at the end of filler text of about ``length`` characters."""
    room = max(length - len(question) - 1, 0)
    filler = (FILLER * (room // len(FILLER) + 1))[:room].rsplit(" ", 1)[0]
    return f"{filler} {question}"[-length:] if room else question


def main() -> None:
    """Run both lengths and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--channel")
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()
    app = build_app(load_settings())
    answerer = app.answerer(args.channel, use_llm=False)
    items = [q for q in load_questions(args.questions) if not q.should_refuse][: args.limit]
    answerer.answer(items[0].query, use_llm=False)  # warm up the embedder
    for length in (300, 4096):
        retrieval, total, hits = [], [], []
        for item in items:
            message = wrap(item.query, length)
            answer = answerer.answer(message, use_llm=False)
            retrieval.append(answer.timings["retrieval_ms"])
            total.append(answer.timings["total_ms"])
            hits.append(bool({s.id for s in answer.sources} & set(item.relevant)))
        print(
            f"{length:>5} chars: retrieval p50 {np.percentile(retrieval, 50):.0f} ms, "
            f"p95 {np.percentile(retrieval, 95):.0f} ms; total p50 "
            f"{np.percentile(total, 50):.0f} ms; answer cites a relevant post "
            f"{np.mean(hits):.2f} (n={len(items)})"
        )


if __name__ == "__main__":
    main()
