#!/usr/bin/env python3
"""Fit and report the question-type check: does a phrase have the type asked for?

`postfinder.answering.answer_type` decides that a question asking how much / how many
expects a quantity, when / which year a date, who / where a name, and hides a span of
the wrong type (the sentence it comes from is quoted instead). This script measures
that rule on labelled questions, both error rates:

- **gold rejected**: the question's own gold answer judged of the wrong type (a correct
  answer hidden);
- **swapped accepted**: the gold answer of a question that asks for another type
  (a year offered for "how many", a name for "when") let through;
- **wrong phrase of the right sentence caught**: for questions whose gold sentence is
  known (XQuAD-ru), phrases of 1-3 words of that sentence that do not overlap the gold,
  i.e. what a model pointing at the wrong words would show: the share the check hides.
  Some of those phrases are of the right type (another number of the same sentence), so
  this is a benefit, not an error rate.

For each asked type it compares the shipped rule with alternatives and chooses, leaving
one dataset out, the rule that hides the most wrong phrases while rejecting at most
--max-gold-rejected of the training datasets' gold answers. The labelled sets: XQuAD-ru
(Russian), RuBQ 2.0 (its Russian questions and their English versions) and the gold
answers of the evaluation channels (`scripts/evalsets`, Russian, Chinese and the
languages of forum-multi).

Usage: python scripts/fit_answer_types.py --xquad ../shared/data/xquad-ru/xquad.ru.json
       --rubq ../shared/data/rubq/RuBQ_2.0_dev.json [scripts/evalsets/*.jsonl ...]
       [--max-gold-rejected 0.05] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postfinder.answering import answer_type
from postfinder.answering.answer_type import (
    AnswerType,
    asked_span,
    question_type,
    question_unit,
    reply_fits,
    unit_fits,
)
from postfinder.evaluation import normalise_answer
from postfinder.language import detect_language
from postfinder.text import split_sentences

TYPED: tuple[AnswerType, ...] = ("quantity", "date", "entity")
WORD_RE = re.compile(r"\S+")
_DIGIT = re.compile(r"\d|[一二三四五六七八九十百千万亿两]")
_MONTHS_SEASONS = re.compile(
    r"\b(?:январ\w*|феврал\w*|март\w*|апрел\w*|ма(?:й|я|ю|е|ем)|июн\w*|июл\w*|август\w*|сентябр\w*"
    r"|октябр\w*|ноябр\w*|декабр\w*|весн\w*|осен\w*|зим\w*|век\w*|столети\w*|january|february"
    r"|march|april|may|june|july|august|september|october|november|december|spring|summer"
    r"|autumn|winter|century)\b|[年月日]",
    re.IGNORECASE,
)
_NAME = re.compile(r"[A-ZА-ЯЁ]|[\u3040-\u30ff\u3400-\u9fff]")

Rule = Callable[[str], bool]
# The shipped rule is `answer_type.phrase_fits`; the others are what it could be instead.
RULES: dict[AnswerType, dict[str, Rule]] = {
    "quantity": {
        "shipped: digits or number words": lambda p: answer_type.phrase_fits("quantity", p),
        "digits only": lambda p: bool(_DIGIT.search(p)),
        "no check": lambda p: True,
    },
    "date": {
        "shipped: digits, calendar words, periods, events": lambda p: answer_type.phrase_fits(
            "date", p
        ),
        "digits, months, seasons, centuries": lambda p: bool(
            _DIGIT.search(p) or _MONTHS_SEASONS.search(p)
        ),
        "digits only": lambda p: bool(_DIGIT.search(p)),
        "no check": lambda p: True,
    },
    "entity": {
        "shipped: has letters": lambda p: answer_type.phrase_fits("entity", p),
        "has a capital or CJK letter": lambda p: bool(_NAME.search(p)),
        "no check": lambda p: True,
    },
}


@dataclass(frozen=True)
class Item:
    """One labelled question: its gold answer and, where known, the sentence holding it."""

    dataset: str
    language: str
    question: str
    gold: str
    sentence: str | None = None


def xquad_items(path: Path) -> list[Item]:
    """XQuAD-ru: questions, gold answers and the context sentence that holds each."""
    items = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            sentences = split_sentences(paragraph["context"].lstrip("\ufeff"))
            for qa in paragraph["qas"]:
                gold = qa["answers"][0]["text"].strip()
                holder = next((s for s in sentences if gold in s), None)
                items.append(Item("xquad-ru", "ru", qa["question"], gold, holder))
    return items


def rubq_items(path: Path) -> list[Item]:
    """RuBQ 2.0: each question in Russian and in its English version, with its answer."""
    items = []
    for row in json.loads(path.read_text(encoding="utf-8")):
        if not row["answers"]:
            continue
        first = row["answers"][0]
        ru = row.get("answer_text") or first["label"]
        names = first.get("wd_names", {}).get("en") or []
        en = names[0] if names else first["value"] if first["type"] == "literal" else None
        items.append(Item("rubq-ru", "ru", row["question_text"], ru))
        if en and row.get("question_eng"):
            items.append(Item("rubq-en", "en", row["question_eng"], en))
    return items


def evalset_items(paths: Iterable[Path]) -> list[Item]:
    """The evaluation channels' answerable questions (each gold answer once per question)."""
    seen, items = set(), []
    for path in paths:
        dataset = path.stem
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if not row.get("answers") or (dataset, row["query"]) in seen:
                continue
            seen.add((dataset, row["query"]))
            for gold in row["answers"]:
                items.append(Item(dataset, detect_language(row["query"]), row["query"], gold))
    return items


def sentence_phrases(item: Item, rng: random.Random, count: int = 3) -> list[str]:
    """Phrases of 1-3 words of the gold sentence that do not overlap the gold answer."""
    if not item.sentence:
        return []
    start = item.sentence.find(item.gold)
    end = start + len(item.gold)
    words = [m for m in WORD_RE.finditer(item.sentence) if m.end() <= start or m.start() >= end]
    spans = []
    for i, first in enumerate(words):
        for size in (1, 2, 3):
            run = words[i : i + size]
            if len(run) < size or (run[0].start() < start < run[-1].end()):
                break
            text = item.sentence[first.start() : run[-1].end()].strip(' ,.;:«»"()')
            if text:
                spans.append(text)
    return rng.sample(spans, min(count, len(spans)))


@dataclass
class Labelled:
    """The labelled phrases of one asked type in one dataset."""

    gold: list[str]
    swapped: list[str]
    phrases: list[str]


def labelled_sets(items: Sequence[Item], seed: int = 0) -> dict[tuple[str, AnswerType], Labelled]:
    """Per (dataset, asked type): the golds, other types' golds and wrong sentence phrases."""
    rng = random.Random(seed)
    typed = [(item, question_type(item.question)) for item in items]
    by_dataset: dict[str, list[tuple[Item, AnswerType]]] = defaultdict(list)
    for item, kind in typed:
        by_dataset[item.dataset].append((item, kind))
    sets: dict[tuple[str, AnswerType], Labelled] = defaultdict(lambda: Labelled([], [], []))
    for dataset, rows in by_dataset.items():
        for item, kind in rows:
            if kind == "any":
                continue
            others = [other.gold for other, k in rows if k not in (kind, "any")]
            entry = sets[(dataset, kind)]
            entry.gold.append(item.gold)
            entry.swapped.extend(rng.sample(others, min(3, len(others))))
            entry.phrases.extend(sentence_phrases(item, rng))
    return dict(sets)


def rates(rule: Rule, sets: Sequence[Labelled]) -> dict[str, float | int]:
    """Gold rejected, swapped accepted and sentence phrases caught over ``sets``."""
    chosen = list(sets)
    gold = [p for s in chosen for p in s.gold]
    swapped = [p for s in chosen for p in s.swapped]
    phrases = [p for s in chosen for p in s.phrases]

    def share(values: list[str], accepted: bool) -> float:
        return sum(rule(v) == accepted for v in values) / len(values) if values else float("nan")

    return {
        "golds": len(gold),
        "gold_rejected": share(gold, False),
        "swapped": len(swapped),
        "swapped_accepted": share(swapped, True),
        "phrases": len(phrases),
        "phrases_caught": share(phrases, False),
    }


def choose(kind: AnswerType, train: list[Labelled], max_gold_rejected: float) -> str:
    """The rule that hides the most wrong phrases (then swaps) within the gold budget."""
    best, best_key = "no check", (-1.0, -1.0)
    for name, rule in RULES[kind].items():
        r = rates(rule, train)
        if not r["golds"] or r["gold_rejected"] > max_gold_rejected:
            continue
        caught = float(r["phrases_caught"]) if r["phrases"] else 0.0
        swapped_rejected = 1 - float(r["swapped_accepted"]) if r["swapped"] else 0.0
        key = (caught + swapped_rejected, -float(r["gold_rejected"]))
        if key > best_key:
            best, best_key = name, key
    return best


def main(argv: Sequence[str] | None = None) -> None:
    """Read the labelled sets named on the command line and print the fit."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", maxsplit=1)[0])
    parser.add_argument("evalsets", nargs="*", type=Path)
    parser.add_argument("--xquad", type=Path)
    parser.add_argument("--rubq", type=Path)
    parser.add_argument("--max-gold-rejected", type=float, default=0.02)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--records",
        nargs="*",
        default=[],
        metavar="CHANNEL=FILE",
        help="replay the written-answer rule on `postfinder eval --answers --records` files",
    )
    args = parser.parse_args(argv)
    if args.records:
        print_replay(dict(item.split("=", 1) for item in args.records))
        return
    items = evalset_items(args.evalsets)
    items += xquad_items(args.xquad) if args.xquad else []
    items += rubq_items(args.rubq) if args.rubq else []
    sets = labelled_sets(items)
    report = {"coverage": coverage(items), "types": {}, "units": unit_rates(items)}
    for kind in TYPED:
        report["types"][kind] = fit_type(kind, sets, args.max_gold_rejected)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print_report(report)
        print_units(report["units"])


def unit_rates(items: Sequence[Item]) -> dict[str, dict[str, float | int]]:
    """Per unit (money, time) and dataset: golds of questions asking for it, the share the
    unit rule rejects, and the share of plain-count golds (quantity questions asking for
    no unit: "130 тысяч", "79 пассажиров") it would accept for it."""
    out: dict[str, dict[str, float | int]] = {}
    quantity = [i for i in items if question_type(i.question) == "quantity"]
    for unit in ("money", "time"):
        for dataset in sorted({i.dataset for i in quantity}) + ["all"]:
            here = [i for i in quantity if dataset in ("all", i.dataset)]
            asked = [i for i in here if question_unit(i.question) == unit]
            counts = [i for i in here if question_unit(i.question) == ""]
            if not asked:
                continue
            out[f"{unit} {dataset}"] = {
                "golds": len(asked),
                "gold_rejected": sum(not unit_fits(unit, i.gold, i.question) for i in asked)
                / len(asked),
                "counts": len(counts),
                "count_accepted": (
                    sum(unit_fits(unit, i.gold, i.question) for i in counts) / len(counts)
                    if counts
                    else math.nan
                ),
            }
    return out


def coverage(items: Sequence[Item]) -> dict[str, dict[str, float | int]]:
    """Per language: questions and the share of each asked type."""
    by_language: dict[str, list[AnswerType]] = defaultdict(list)
    for item in items:
        by_language[item.language].append(question_type(item.question))
    return {
        language: {"questions": len(kinds)}
        | {kind: kinds.count(kind) / len(kinds) for kind in (*TYPED, "any")}
        for language, kinds in sorted(by_language.items())
    }


def fit_type(
    kind: AnswerType, sets: dict[tuple[str, AnswerType], Labelled], max_gold_rejected: float
) -> dict[str, Any]:
    """Every rule on every dataset, and the leave-one-dataset-out choice."""
    datasets = sorted(d for d, k in sets if k == kind)
    table = {
        name: {d: rates(rule, [sets[(d, kind)]]) for d in datasets}
        | {"all": rates(rule, [sets[(d, kind)] for d in datasets])}
        for name, rule in RULES[kind].items()
    }
    held_out = {}
    for dataset in datasets:
        train = [sets[(d, kind)] for d in datasets if d != dataset]
        name = choose(kind, train, max_gold_rejected)
        held_out[dataset] = {"rule": name} | table[name][dataset]
    return {
        "chosen on all": choose(kind, [sets[(d, kind)] for d in datasets], max_gold_rejected),
        "rules": table,
        "held_out": held_out,
    }


def _fmt(value: float | int) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}" if isinstance(value, float) else str(value)


def print_report(report: dict[str, Any]) -> None:
    """Markdown tables: coverage per language, then per type the rules and held-out rates."""
    print(
        "| language | questions | quantity | date | entity | untyped |\n|---|---|---|---|---|---|"
    )
    for language, row in report["coverage"].items():
        cells = [_fmt(row[k]) for k in ("questions", *TYPED, "any")]
        print(f"| {language} | " + " | ".join(cells) + " |")
    for kind, fit in report["types"].items():
        print(f"\n### {kind} (chosen on all datasets: {fit['chosen on all']})\n")
        print("| rule | golds | gold rejected | swapped accepted | sentence phrases | caught |")
        print("|---|---|---|---|---|---|")
        for name, per in fit["rules"].items():
            r = per["all"]
            cells = [
                _fmt(r[k])
                for k in ("golds", "gold_rejected", "swapped_accepted", "phrases", "phrases_caught")
            ]
            print(f"| {name} | " + " | ".join(cells) + " |")
        print("\n| held-out dataset | rule fitted without it | golds | gold rejected", end="")
        print(" | swapped accepted | caught |")
        print("|---|---|---|---|---|---|")
        for dataset, r in fit["held_out"].items():
            cells = [
                _fmt(r[k]) for k in ("golds", "gold_rejected", "swapped_accepted", "phrases_caught")
            ]
            print(f"| {dataset} | {r['rule']} | " + " | ".join(cells) + " |")


def print_units(units: dict[str, dict[str, float | int]]) -> None:
    """The unit rule's table: golds rejected, plain counts accepted."""
    print("\n### units of quantity questions\n")
    print("| unit, dataset | golds | gold rejected | plain counts | count accepted as the unit |")
    print("|---|---|---|---|---|")
    for name, r in units.items():
        cells = [_fmt(r[k]) for k in ("golds", "gold_rejected", "counts", "count_accepted")]
        print(f"| {name} | " + " | ".join(cells) + " |")


def print_replay(records: dict[str, str]) -> None:
    """Per channel: generated leads to typed questions and those the rule would reject."""
    print("| channel | generated leads, typed questions | rejected | rejected that held the gold |")
    print("|---|---|---|---|")
    for channel, path in records.items():
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
        typed = [
            r
            for r in rows
            if r.get("mode") == "generated" and question_type(r["query"]) != "any" and r.get("lead")
        ]
        rejected = [r for r in typed if not reply_fits(r["query"], r["lead"])]
        right = sum(bool(r.get("lead_correct")) for r in rejected)
        print(f"| {channel} | {len(typed)} | {len(rejected)} | {right} |")
    print_bold(records)


def print_bold(records: dict[str, str]) -> None:
    """Per channel: quotes answering a question with a number in bold, and how many of
    those bold numbers are the gold answer (answerable) or none (unanswerable)."""
    print(
        "\n| channel | quotes with a bold number (answerable) | the bold is the gold |"
        " quotes with a bold number (unanswerable) |"
    )
    print("|---|---|---|---|")
    for channel, path in records.items():
        counts = [0, 0, 0]
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("mode") != "extractive":
                continue
            body = row["lead"].replace("**", "")
            body = body[: body.rfind("»")]
            span = asked_span(row["query"], body)
            if span is None:
                continue
            if row.get("should_refuse"):
                counts[2] += 1
                continue
            bold = normalise_answer(body[span[0] : span[1]])
            counts[0] += 1
            counts[1] += any(
                bold and f" {bold} " in f" {normalise_answer(g)} " for g in row["answers"]
            )
        print(f"| {channel} | {counts[0]} | {counts[1]} | {counts[2]} |")


if __name__ == "__main__":
    main()
