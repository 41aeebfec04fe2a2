#!/usr/bin/env python3
"""Fit how far down the sentences an extract may look for one that says what was asked.

A question asking how much / when / who (`postfinder.answering.answer_type`) gets an
extract only when one of the K best sentences of its top posts says that kind of thing
(a sum of money for "how much does it cost?", a duration for "how long?", a date for
"when?"); else it is refused, since a quote would only share the topic. This replays K
(``answer.typed_extract_sentences``; 0 is off) without the model on each channel's
labelled questions: near-miss questions refused, answerable ones refused (false
refusal) and answered with the gold by the extract. Then leave one channel out: the K
that refuses the most near-misses of the other channels with at most
``--max-false-refusal`` on each of them. Each K > 0 is replayed with any of the top
posts' sentences, and ("topic S", ``answer.typed_extract_on_topic``) only with those of
posts that hold some of the question's content words and at least S of the best post's
share of them (``extractive.TOPIC_SHARE``).

Usage: python scripts/fit_typed_extract.py NAME=DATA_DIR,QUESTIONS.jsonl [...]
       [--max-false-refusal 0.05]
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

from postfinder.answering.answer_type import question_type, reply_fits
from postfinder.answering.extractive import extractive_answer
from postfinder.answering.headline import content_overlap
from postfinder.answering.passages import RankedPost, rank_sentences
from postfinder.answering.pipeline import Answerer
from postfinder.answering.question import focus_question
from postfinder.app import App
from postfinder.evaluation import contains_gold
from postfinder.settings import load_settings

KS = [0, 1, 2, 3, 5, 8]
# The part of the best post's share of the question's words that a post quoted must have
# (-1: the topic rule off; 0: any share).
SHARES = [-1.0, 0.0, 0.25, 0.5, 0.75, 1.0]
# (K, topic share): K=0 is off, with or without the topic rule.
Variant = tuple[int, float]
VARIANTS: list[Variant] = [(k, share) for k in KS for share in SHARES if k or share < 0]
OFF: Variant = (0, -1.0)


def _ranked(answerer: Answerer, query: str) -> list[RankedPost] | None:
    """The question's posts with sentence scores; ``None`` when retrieval refuses it."""
    result, probability, _ = answerer.retrieve(query)
    posts = answerer.usable_posts(result)
    if not posts or probability < answerer.refusal.threshold:
        return None
    return rank_sentences(query, posts, answerer.retriever.embedder, answerer.tokenize)


def replay(data_dir: Path, questions: Path) -> dict[Variant, dict[str, float]]:
    """Counts of near-misses refused, answerable questions refused and answerable ones the
    extract answers with the gold, for each K, on one channel's questions."""
    app = App(load_settings(data_dir=data_dir, llm={"mode": "none"}))
    answerer = app.answerer(use_llm=False)
    counts = {v: {"near_refused": 0, "false_refusal": 0, "right": 0} for v in VARIANTS}
    n_near = n_answerable = 0
    for line in questions.read_text(encoding="utf-8").splitlines():
        item = json.loads(line) if line.strip() else {}
        near = item.get("kind") == "near_miss"
        if not near and (item.get("should_refuse") or not item.get("answers")):
            continue  # off-topic and headline questions do not depend on K
        n_near += near
        n_answerable += not near
        query = focus_question(item["query"])
        ranked = _ranked(answerer, query)
        for k, share in VARIANTS:
            text, post = "", None
            if ranked is not None:
                typed = k > 0 and question_type(query) != "any"
                says = partial(reply_fits, query) if typed else None
                about = (
                    partial(content_overlap, query, tokenize=answerer.tokenize)
                    if share >= 0
                    else None
                )
                text, post = extractive_answer(
                    ranked, 700, says=says, within=k, about=about, topic_share=share
                )
            row = counts[(k, share)]
            if near:
                row["near_refused"] += post is None
            else:
                row["false_refusal"] += post is None
                row["right"] += post is not None and contains_gold(text, item["answers"])
    app.close()
    return {k: {**row, "n_near": n_near, "n_answerable": n_answerable} for k, row in counts.items()}


def rates(row: dict[str, float]) -> dict[str, float]:
    """Counts as shares."""
    return {
        **row,
        "near_refused": row["near_refused"] / max(row["n_near"], 1),
        "false_refusal": row["false_refusal"] / max(row["n_answerable"], 1),
        "extract_right": row["right"] / max(row["n_answerable"], 1),
    }


def choose(results: dict[str, dict[Variant, dict[str, float]]], limit: float) -> Variant:
    """The variant with the most near-misses refused, pooled, within ``limit`` on every
    channel (ties: the larger K, then the topic rule)."""
    allowed = [v for v in VARIANTS if all(r[v]["false_refusal"] <= limit for r in results.values())]
    return max(
        allowed or [OFF],
        key=lambda v: (sum(r[v]["near_refused"] * r[v]["n_near"] for r in results.values()), v),
    )


def _name(variant: Variant) -> str:
    return f"{variant[0]}" + (f" topic {variant[1]:g}" if variant[1] >= 0 else "")


def main() -> None:
    """Replay every channel, then leave one channel out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("channels", nargs="+", help="NAME=DATA_DIR,QUESTIONS.jsonl")
    parser.add_argument("--max-false-refusal", type=float, default=0.05)
    args = parser.parse_args()
    results: dict[str, dict[Variant, dict[str, float]]] = {}
    for spec in args.channels:
        name, _, paths = spec.partition("=")
        data_dir, _, questions = paths.partition(",")
        counts = replay(Path(data_dir), Path(questions))
        if name in results:  # a second question set of the same channel
            counts = {
                k: {f: results[name][k][f] + v for f, v in c.items()} for k, c in counts.items()
            }
        results[name] = counts
    results = {name: {k: rates(row) for k, row in by_k.items()} for name, by_k in results.items()}
    print("| channel | K | near-miss refused | false refusal | extract holds the gold |")
    print("|---|---|---|---|---|")
    for name, by_k in results.items():
        for v, r in by_k.items():
            print(
                f"| {name} | {_name(v)} | {r['near_refused']:.2f} of {r['n_near']} "
                f"| {r['false_refusal']:.2f} of {r['n_answerable']} | {r['extract_right']:.2f} |"
            )
    print("\nLeave one channel out:")
    for name, by_k in results.items():
        v = choose({n: r for n, r in results.items() if n != name}, args.max_false_refusal)
        r = by_k[v]
        print(
            f"  {name}: K={_name(v)} -> near-miss refused {r['near_refused']:.2f} "
            f"(off {by_k[OFF]['near_refused']:.2f}), false refusal {r['false_refusal']:.2f}, "
            f"extract holds the gold {r['extract_right']:.2f}"
        )
    print(f"Every channel: K={_name(choose(results, args.max_false_refusal))}")


if __name__ == "__main__":
    main()
