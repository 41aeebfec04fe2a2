#!/usr/bin/env python3
"""Fit the grounding check on labelled drafts: real model drafts plus corrupted copies.

Reads the records that `postfinder eval --answers --records FILE` writes (one per
question, with the model's draft and whether it contains the gold answer). Correct
drafts (with the gold) are the positives; each is also corrupted in the ways a model
goes wrong (a changed number, a swapped name or answer, a month, an added negation, a
sentence from another post, a foreign link or @mention): those must be rejected. Every
combination of thresholds is scored; among those that accept at least --min-accept of
the correct drafts and reject at least --target-reject of the corrupted ones, the one
that rejects the most real drafts without the gold answer is printed, with both rates
per corruption kind.

Usage: POSTFINDER_DATA_DIR=... python scripts/fit_grounding.py RECORDS.jsonl [...]
       [--channel ID] [--target-reject 0.95] [--min-accept 0.90]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from postfinder.answering.grounding import CITATION_RE, NUMBER_RE, GroundingChecker
from postfinder.answering.passages import RankedPost, rank_sentences, support_texts
from postfinder.answering.question import focus_question
from postfinder.app import build_app
from postfinder.embeddings.base import Embedder
from postfinder.settings import load_settings

MONTHS = "января февраля марта апреля мая июня июля августа сентября октября ноября декабря".split()
VERB_RE = re.compile(r"(?<=\s)(\w+(?:ет|ит|ют|ят|ал|ала|али|ил|ила|или|ся|лся|лась|ло|ла))\b")
CAPITAL_RE = re.compile(r"(?<=\s)([A-ZА-ЯЁ][\w-]{2,})")


class CachedEmbedder:
    """Remembers every vector: the grid search judges the same sentences many times."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def _embed(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        if missing:
            embed = self.inner.embed_queries if kind == "q" else self.inner.embed_passages
            for text, vector in zip(missing, embed(missing), strict=True):
                self._cache[(kind, text)] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[(kind, t)] for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions (cached)."""
        return self._embed("q", texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (cached)."""
        return self._embed("p", texts)


@dataclass
class Case:
    """One draft to judge."""

    kind: str  # "correct", "wrong" (a real draft without the gold) or a corruption kind
    draft: str
    question: str
    ranked: list[RankedPost]
    gold: str = ""


def corruptions(draft: str, gold: str, other: Case, rng: random.Random) -> dict[str, str]:
    """Corrupted copies of a correct ``draft``; ``other`` lends foreign names and sentences."""
    out: dict[str, str] = {}
    support = " ".join(r.top_text(5) for r in other.ranked)
    numbers = NUMBER_RE.findall(CITATION_RE.sub("", draft))
    if numbers:
        old = numbers[0]
        new = str(int(float(old.replace(",", "."))) + rng.randint(1, 9))
        out["number"] = draft.replace(old, new, 1)
    names = CAPITAL_RE.findall(draft)
    foreign = [w for w in CAPITAL_RE.findall(support) if w not in draft]
    if names and foreign:
        out["name"] = draft.replace(names[-1], rng.choice(foreign), 1)
    if gold and gold.lower() in draft.lower() and other.gold and other.gold != gold:
        # The answer to another question in its place: a fluent, wrong answer.
        start = draft.lower().index(gold.lower())
        out["answer swapped"] = draft[:start] + other.gold + draft[start + len(gold) :]
    for month in MONTHS:
        if month in draft:
            out["date"] = draft.replace(month, MONTHS[(MONTHS.index(month) + 5) % 12], 1)
            break
    verb = VERB_RE.search(draft)
    if verb:
        out["negation"] = draft[: verb.start()] + "не " + draft[verb.start() :]
    sentences = [s for r in other.ranked for s in r.sentences if len(s) > 30]
    if sentences:
        out["other post"] = rng.choice(sentences).rstrip(".") + " [1]."
    out["link"] = draft.rstrip() + " Оплата: https://evil.example/pay [1]."
    out["bare link"] = draft.rstrip() + " Подробнее на secure-login.com/verify [1]."
    out["mention"] = draft.rstrip() + " Пишите @scam_support [1]."
    return out


def load_cases(paths: list[Path], channel: str | None, seed: int) -> list[Case]:
    """Real drafts from the records, then corrupted copies of the correct ones."""
    app = build_app(load_settings(llm={"mode": "none"}))
    answerer = app.answerer(channel, use_llm=False)
    cases: list[Case] = []
    seen: set[tuple[str, str]] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            draft = (record.get("draft") or "").strip()
            if record["should_refuse"] or not draft or "NO_ANSWER" in draft:
                continue
            if (record["query"], draft) in seen:
                continue
            seen.add((record["query"], draft))
            question = focus_question(record["query"])
            result, _, _ = answerer.retrieve(question)
            posts = answerer.usable_posts(result)
            ranked = rank_sentences(question, posts, answerer.retriever.embedder, answerer.tokenize)
            kind = "correct" if record["draft_correct"] else "wrong"
            gold = record["answers"][0] if record["answers"] else ""
            cases.append(Case(kind, draft, question, ranked, gold))
    rng = random.Random(seed)
    corrupted: list[Case] = []
    correct = [c for c in cases if c.kind == "correct"]
    for i, case in enumerate(correct):
        other = correct[(i + 1 + rng.randrange(max(len(correct) - 1, 1))) % len(correct)]
        for kind, text in corruptions(case.draft, case.gold, other, rng).items():
            corrupted.append(Case(kind, text, case.question, case.ranked))
    app.close()
    return cases + corrupted


def score(
    cases: list[Case], checker: GroundingChecker, support_sentences: int
) -> dict[str, tuple[int, int]]:
    """Per kind: (accepted, total)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in cases:
        sources = support_texts([r for r in case.ranked if r.sentences], support_sentences)
        accepted = checker.check(case.draft, sources, case.question).supported
        counts[case.kind][0] += int(accepted)
        counts[case.kind][1] += 1
    return {kind: (a, n) for kind, (a, n) in counts.items()}


def main() -> None:
    """Grid-search the thresholds and print the best setting with both error rates."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("records", type=Path, nargs="+")
    parser.add_argument("--channel")
    parser.add_argument("--target-reject", type=float, default=0.95)
    parser.add_argument("--min-accept", type=float, default=0.90)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cases = load_cases(args.records, args.channel, args.seed)
    kinds = sorted({c.kind for c in cases})
    print(
        f"{len(cases)} drafts: "
        + ", ".join(f"{k} {sum(c.kind == k for c in cases)}" for k in kinds)
    )
    app = build_app(load_settings(llm={"mode": "none"}))
    answerer = app.answerer(args.channel, use_llm=False)
    embedder = CachedEmbedder(answerer.retriever.embedder)
    rows = []
    for similarity, novel, support in itertools.product(
        (0.0, 0.6, 0.7, 0.75, 0.8), (0.2, 0.34, 0.5, 0.67), (1, 2, 3, 5)
    ):
        checker = GroundingChecker(embedder, answerer.tokenize, similarity, novel)
        counts = score(cases, checker, support)
        accepted, total = counts.get("correct", (0, 0))
        bad = [counts[k] for k in kinds if k not in ("correct", "wrong")]
        rejected = sum(n - a for a, n in bad) / max(sum(n for _, n in bad), 1)
        wrong_ok, wrong_n = counts.get("wrong", (0, 0))
        reject_wrong = (wrong_n - wrong_ok) / max(wrong_n, 1)
        accept = accepted / max(total, 1)
        rows.append((accept, rejected, reject_wrong, similarity, novel, support, counts))
    # Both stated bounds first; among settings that meet them, the one that lets through
    # the fewest real drafts without the gold answer (what members would read as wrong).
    good = [r for r in rows if r[1] >= args.target_reject and r[0] >= args.min_accept]
    best = max(good, key=lambda r: (r[2], r[0])) if good else max(rows, key=lambda r: r[0] + r[1])
    print("accept correct | reject corrupted | reject wrong real | similarity novel support")
    for row in sorted(rows, key=lambda r: (-r[1] - r[0]))[:16]:
        print(f"{row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} | {row[3]} {row[4]} {row[5]}")
    print(
        f"\nchosen: grounding_min_similarity={best[3]} grounding_max_novel={best[4]} "
        f"grounding_support_sentences={best[5]}: accepts {best[0]:.3f} of correct drafts, "
        f"rejects {best[1]:.3f} of corrupted ones and {best[2]:.3f} of real drafts without "
        "the gold"
    )
    for kind, (accepted, total) in sorted(best[6].items()):
        verb = "accepted" if kind == "correct" else "rejected"
        share = accepted / total if kind == "correct" else (total - accepted) / total
        print(f"  {kind:15s} {verb} {share:.3f} of {total}")
    app.close()


if __name__ == "__main__":
    main()
