#!/usr/bin/env python3
"""Fit below which answer probability a name no post mentions makes the bot refuse.

A question that names something ("в какой стране стадион «Маракана»?") is about that
thing; when no post shown for it holds any of its names (`postfinder.answering.names`),
the posts share the topic and a quote would answer another question. Only a strong
retrieval match may outweigh that (the member wrote "ГДР", the post "Восточная
Германия"). For every evaluation channel indexed by bench_channels.py (``WORK/<name>``),
the labelled questions (the channel's set plus ``scripts/evalsets/extra/<name>.jsonl``)
are retrieved as the answer pipeline does, with the channel's refusal decision. For each
threshold it prints, per channel, the answerable questions the rule would refuse (lost)
and the unanswerable ones it would refuse that the decision lets through (gained); the
threshold chosen for each channel maximises, over the *other* channels pooled,
gained - ``--cost`` x lost (leave one channel out; the lowest such threshold).

Usage: python scripts/fit_names.py [--work /tmp/pf-eval] [--shared ../shared] [--cost 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_channels import ROOT, channels  # type: ignore[import-not-found]

from postfinder.answering.names import asked_names, names_held
from postfinder.answering.question import focus_question
from postfinder.app import App
from postfinder.evaluation import load_questions
from postfinder.settings import load_settings

GRID = [0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.01]


def measured(data_dir: Path, questions: list[Path]) -> list[dict]:
    """Per question: answerable or not, the answer probability, and whether the refusal
    decision lets it through with none of its names in the posts shown."""
    app = App(load_settings(data_dir=data_dir, llm={"mode": "none"}))
    answerer = app.answerer(app.catalog.resolve(None).id, use_llm=False)
    rows = []
    for path in questions:
        for item in load_questions(path):
            if item.kind == "headline":
                continue
            query = focus_question(item.query)
            result, probability, _ = answerer.retrieve(query)
            posts = answerer.usable_posts(result)
            passed = not answerer.match_refuses(probability, posts)
            rows.append(
                {
                    "query": query,
                    "answerable": not item.should_refuse,
                    "probability": probability,
                    "named": bool(asked_names(query)),
                    "unheld": passed and not names_held(query, (p.text for p in posts)),
                }
            )
    app.close()
    return rows


def counts(rows: list[dict], threshold: float) -> tuple[int, int]:
    """(answerable refused, unanswerable refused) by the rule at ``threshold``."""
    fired = [r for r in rows if r["unheld"] and r["probability"] < threshold]
    return sum(r["answerable"] for r in fired), sum(not r["answerable"] for r in fired)


def chosen(rows: list[dict], cost: float) -> float:
    """The lowest threshold with the best gained - cost x lost on ``rows``."""

    def score(threshold: float) -> float:
        lost, gained = counts(rows, threshold)
        return gained - cost * lost

    top = max(score(t) for t in GRID)
    return min(t for t in GRID if score(t) == top)


def main() -> None:
    """Measure every channel, then choose the threshold leaving each one out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/pf-eval"))
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--cost", type=float, default=2.0)
    args = parser.parse_args()
    extra = ROOT / "scripts" / "evalsets" / "extra"
    data: dict[str, list[dict]] = {}
    for name, (_export, questions) in channels(args.shared, args.work).items():
        if not (args.work / name / "channels").is_dir():
            print(f"{name}: not indexed in {args.work / name}; skipped")
            continue
        data[name] = measured(args.work / name, [questions, extra / f"{name}.jsonl"])
    print(
        "| channel | answerable (naming) | unanswerable (naming) | "
        + " | ".join(f"< {t:g}" for t in GRID[1:])
        + " |"
    )
    print("|---" * (len(GRID) + 2) + "|")
    for name, rows in data.items():
        ans = [r for r in rows if r["answerable"]]
        una = [r for r in rows if not r["answerable"]]
        cells = " | ".join("%d / %d" % counts(rows, t) for t in GRID[1:])
        print(
            f"| {name} | {len(ans)} ({sum(r['named'] for r in ans)})"
            f" | {len(una)} ({sum(r['named'] for r in una)}) | {cells} |"
        )
    print("\nCells: answerable refused / unanswerable refused by the rule (lost / gained).")
    result = {}
    for name, rows in data.items():
        others = [r for other, rs in data.items() if other != name for r in rs]
        threshold = chosen(others or rows, args.cost)
        lost, gained = counts(rows, threshold)
        result[name] = {"threshold": threshold, "lost": lost, "gained": gained}
    pooled = [r for rs in data.values() for r in rs]
    result["pooled"] = {"threshold": chosen(pooled, args.cost)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
