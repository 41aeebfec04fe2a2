#!/usr/bin/env python3
"""Fit when a question gets "the channel posted about this" with a headline post.

A headline post is a short text and a link off Telegram (`postfinder.answering.headline`):
asked what its headline says, the detail is behind the link, so the reply is the post
itself, neither an answer made up from the headline nor a refusal. For every evaluation
channel indexed by bench_channels.py (``WORK/<name>``) and the haystack (``--haystack
DIR``), the labelled questions (the channel's set, ``extra/<name>.jsonl`` and the
``extra/<name>-headlines.jsonl`` questions, of kind ``headline``) are searched as the
answer pipeline searches them (no model). A question is sent to the headline reply when
retrieval passes the refusal decision, its top post is a headline post, and that post
holds at least ``headline_min_overlap`` of the question's terms.

It prints, per channel and threshold, the share of headline questions given their post
that way and the share of the other questions (answerable, near-miss, off-topic) sent
there instead of their usual path; the threshold chosen for each channel is the lowest
that keeps the *other* channels' wrong share at or under ``--max-wrong`` (leave one
channel out). Also the headline detector's count of headline posts per channel.

Usage: python scripts/fit_headlines.py [--work /tmp/pf-eval] [--haystack /tmp/pf-hay]
       [--haystack-questions FILE] [--max-wrong 0.02]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from bench_channels import ROOT, channels  # type: ignore[import-not-found]

from postfinder.answering.headline import content_overlap, is_headline
from postfinder.answering.question import focus_question
from postfinder.app import App
from postfinder.evaluation import load_questions
from postfinder.settings import load_settings

GRID = [round(0.05 * i, 2) for i in range(6, 21)]


@dataclass(frozen=True)
class Row:
    """What the headline decision sees of one question."""

    kind: str  # "headline", "answerable", "near_miss", "off_topic", ...
    headline_top: bool  # retrieval passed and its top post is a headline post
    overlap: float
    right_post: bool  # the top post is one the question names as relevant


def measure(data_dir: Path, questions: list[Path]) -> tuple[list[Row], int, int]:
    """Rows of every labelled question, and the channel's headline and total post counts."""
    app = App(load_settings(data_dir=data_dir, llm={"mode": "none"}))
    channel = app.catalog.resolve(None)
    answerer = app.answerer(channel.id, use_llm=False)
    rows = []
    for path in questions:
        if not path.is_file():
            continue
        for item in load_questions(path):
            query = focus_question(item.query)
            result, probability, _ = answerer.retrieve(query)
            posts = answerer.usable_posts(result)
            passes = bool(posts) and probability >= answerer.refusal.threshold
            top = posts[0] if posts else None
            kind = item.kind or ("answerable" if not item.should_refuse else "unanswerable")
            rows.append(
                Row(
                    kind,
                    passes and top is not None and is_headline(top),
                    content_overlap(query, top, answerer.tokenize) if top else 0.0,
                    top is not None and top.id in item.relevant,
                )
            )
    posts = list(channel.iter_posts())
    headlines = sum(is_headline(p) for p in posts)
    app.close()
    return rows, headlines, len(posts)


def rates(rows: list[Row], threshold: float) -> tuple[float, float, int, int]:
    """Headline questions given their post, other questions sent to a headline, and counts."""
    asked = [r for r in rows if r.kind == "headline"]
    other = [r for r in rows if r.kind != "headline"]
    caught = sum(r.headline_top and r.overlap >= threshold and r.right_post for r in asked)
    wrong = sum(r.headline_top and r.overlap >= threshold for r in other)
    return caught / max(len(asked), 1), wrong / max(len(other), 1), len(asked), len(other)


def main() -> None:
    """Measure every channel, then choose the threshold leaving each one out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/pf-eval"))
    parser.add_argument("--haystack", type=Path, default=None, help="The haystack's data dir.")
    parser.add_argument(
        "--haystack-questions",
        type=Path,
        default=None,
        help="Instead of the haystack's 1,490 questions (e.g. a sample_questions.py sample).",
    )
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--max-wrong", type=float, default=0.02)
    args = parser.parse_args()
    extra = ROOT / "scripts" / "evalsets" / "extra"
    measured: dict[str, list[Row]] = {}
    for name, (_export, questions) in channels(args.shared, args.work).items():
        data_dir = args.haystack if name == "haystack-2k" else args.work / name
        if data_dir is None or not (data_dir / "channels").is_dir():
            print(f"{name}: not indexed in {data_dir}; skipped")
            continue
        if name == "haystack-2k" and args.haystack_questions is not None:
            questions = args.haystack_questions
        files = [questions, extra / f"{name}.jsonl", extra / f"{name}-headlines.jsonl"]
        rows, headlines, total = measure(data_dir, files)
        measured[name] = rows
        print(f"{name}: {headlines} headline posts of {total}")
    print("threshold " + " ".join(f"{name:>24}" for name in measured))
    for threshold in GRID:
        cells = [rates(rows, threshold) for rows in measured.values()]
        print(f"{threshold:9.2f} " + " ".join(f"{c:11.3f} / {w:10.3f}" for c, w, _, _ in cells))
    chosen = {}
    for name, rows in measured.items():
        others = [r for other, r in measured.items() if other != name]
        ok = [t for t in GRID if all(rates(r, t)[1] <= args.max_wrong for r in others)]
        threshold = min(ok) if ok else 1.0
        caught, wrong, n_asked, n_other = rates(rows, threshold)
        chosen[name] = {
            "threshold": threshold,
            "headline_questions": n_asked,
            "given_their_post": round(caught, 3),
            "other_questions": n_other,
            "sent_to_a_headline": round(wrong, 3),
        }
    print(json.dumps(chosen, indent=2))


if __name__ == "__main__":
    main()
