#!/usr/bin/env python3
"""Fit and report the paraphrase rule of the answer cache and the repeats report.

Two questions are the same question (`postfinder.repeats.rule.ParaphraseRule`) when
their normal forms are equal, or when their embeddings' cosine reaches
``cache.min_similarity`` and they name the same numbers. A wrong "same" gives a member
the answer to another question, so the threshold is chosen for precision first.

Labelled pairs:

- ``scripts/evalsets/paraphrases.jsonl``: written for this check, Russian, English and
  Chinese: the same need reworded, in chat style, with typos (same), and pairs that
  differ in one detail, ask another question on the topic, or only share a template
  (different);
- the evaluation channels' near-miss questions against the answerable question about
  the same post (``scripts/evalsets/extra/*.jsonl``: different, same topic);
- with ``--xquad``, questions about the same XQuAD-ru paragraph (different, same topic),
  the ``--xquad-pairs`` pairs of them with the most words in common.

Two rules are fitted and reported: the cosine alone (with the numbers guard), and the
shipped rule (the cosine finds candidates, the words must agree). For each group (a
language: the written pairs, near-miss pairs and XQuAD-ru join theirs) the threshold
is chosen on the other groups, the one with the best recall at precision
``--precision`` or more, then reported on the held-out group: precision, recall, and
false merges (the share of different pairs called the same). Last, the threshold
fitted on all pairs: what ships as ``cache.min_similarity``.

Usage: python scripts/fit_paraphrase.py [--xquad ../shared/data/xquad-ru/xquad.ru.json]
       [--precision 0.97] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from postfinder.answering.question import focus_question
from postfinder.embeddings.factory import build_embedder
from postfinder.language import detect_language
from postfinder.repeats.keys import normal_form, numbers
from postfinder.repeats.rule import ParaphraseRule
from postfinder.settings import load_settings

ROOT = Path(__file__).resolve().parent / "evalsets"
Rule = Callable[[str, str, float, float], bool]
GRID = [round(0.80 + 0.0025 * i, 4) for i in range(81)] + [1.01]


@dataclass(frozen=True)
class Pair:
    """Two questions, whether they are the same, and where the pair comes from."""

    a: str
    b: str
    same: bool
    group: str
    kind: str


def written_pairs(path: Path) -> list[Pair]:
    """The pairs written for this check."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [Pair(r["a"], r["b"], bool(r["same"]), r["lang"], r["kind"]) for r in rows]


def near_miss_pairs(folder: Path) -> list[Pair]:
    """Each channel's near-miss question against the answerable ones about its post."""
    pairs = []
    for path in sorted(folder.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        by_post: dict[int, list[str]] = defaultdict(list)
        for row in rows:
            for post in row.get("relevant") or []:
                by_post[int(post)].append(row["query"])
        for row in rows:
            if row.get("kind") == "near_miss":
                for other in by_post.get(int(row.get("topic_post") or 0), []):
                    language = detect_language(row["query"])
                    group = language if language in ("ru", "en", "zh") else "other"
                    pairs.append(Pair(row["query"], other, False, group, f"near_miss:{path.stem}"))
    return pairs


def xquad_pairs(path: Path, limit: int) -> list[Pair]:
    """Questions about the same XQuAD-ru paragraph with the most words in common."""
    data = json.loads(path.read_text(encoding="utf-8"))
    scored = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            asked = [(q["question"], {x["text"] for x in q["answers"]}) for q in paragraph["qas"]]
            for (a, gold_a), (b, gold_b) in itertools.combinations(asked, 2):
                if gold_a & gold_b or a.strip() == b.strip():
                    continue  # the same answer: asked twice, in other words or the same
                wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
                scored.append((len(wa & wb) / max(1, len(wa | wb)), a, b))
    scored.sort(reverse=True)
    return [Pair(a, b, False, "ru", "xquad_same_paragraph") for _, a, b in scored[:limit]]


def similarities(pairs: list[Pair]) -> tuple[np.ndarray, list[str], list[str]]:
    """Cosine of each pair's embeddings (the product's embedder), and their normal forms."""
    embedder = build_embedder(load_settings())
    texts = sorted({t for p in pairs for t in (p.a, p.b)})
    vectors = embedder.embed_queries([focus_question(t) or t for t in texts])
    index = {t: i for i, t in enumerate(texts)}
    sims = np.array([float(vectors[index[p.a]] @ vectors[index[p.b]]) for p in pairs])
    return sims, [normal_form(p.a) for p in pairs], [normal_form(p.b) for p in pairs]


def cosine_only(key_a: str, key_b: str, similarity: float, threshold: float) -> bool:
    """The rule with embeddings alone (and the numbers guard): what it would merge."""
    return key_a == key_b or (similarity >= threshold and numbers(key_a) == numbers(key_b))


def shipped(key_a: str, key_b: str, similarity: float, threshold: float) -> bool:
    """The shipped rule (`ParaphraseRule`) at ``threshold``."""
    return ParaphraseRule(threshold).same(key_a, key_b, similarity)


@dataclass(frozen=True)
class Scored:
    """Pairs with their embeddings' cosine and their normal forms."""

    pairs: list[Pair]
    sims: np.ndarray
    key_a: list[str]
    key_b: list[str]

    def subset(self, keep: list[int]) -> Scored:
        """The pairs at the positions ``keep``."""
        return Scored(
            [self.pairs[i] for i in keep],
            self.sims[keep],
            [self.key_a[i] for i in keep],
            [self.key_b[i] for i in keep],
        )

    def rates(self, rule: Rule, threshold: float) -> dict[str, float]:
        """Precision, recall and false merges of ``rule`` at ``threshold``."""
        said = [
            rule(a, b, float(s), threshold) for a, b, s in zip(self.key_a, self.key_b, self.sims)
        ]
        tp = sum(1 for p, s in zip(self.pairs, said) if s and p.same)
        fp = sum(1 for p, s in zip(self.pairs, said) if s and not p.same)
        positives = sum(p.same for p in self.pairs)
        negatives = len(self.pairs) - positives
        return {
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / positives if positives else float("nan"),
            "false_merge": fp / negatives if negatives else float("nan"),
            "pairs": len(self.pairs),
        }

    def fit(self, rule: Rule, precision: float) -> float:
        """The threshold with the best recall at ``precision`` or more (the highest of
        equals: fewer candidates to compare, the same merges)."""
        best, best_recall = GRID[-1], -1.0
        for threshold in GRID:
            r = self.rates(rule, threshold)
            if r["precision"] >= precision and r["recall"] >= best_recall:
                best, best_recall = threshold, r["recall"]
        return best


def main() -> None:
    """Fit leaving one group out, then on everything; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pairs", type=Path, default=ROOT / "paraphrases.jsonl")
    parser.add_argument("--near-miss", type=Path, default=ROOT / "extra")
    parser.add_argument("--xquad", type=Path, default=None)
    parser.add_argument("--xquad-pairs", type=int, default=300)
    parser.add_argument("--precision", type=float, default=0.97)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pairs = written_pairs(args.pairs) + near_miss_pairs(args.near_miss)
    if args.xquad is not None:
        pairs += xquad_pairs(args.xquad, args.xquad_pairs)
    scored = Scored(pairs, *similarities(pairs))
    out: dict[str, Any] = {"pairs": len(pairs), "same": sum(p.same for p in pairs)}
    for name, rule in (("cosine_only", cosine_only), ("shipped", shipped)):
        held: dict[str, Any] = {}
        for group in sorted({p.group for p in pairs}):
            train = scored.subset([i for i, p in enumerate(pairs) if p.group != group])
            test = scored.subset([i for i, p in enumerate(pairs) if p.group == group])
            threshold = train.fit(rule, args.precision)
            held[group] = {"threshold": threshold, **test.rates(rule, threshold)}
        threshold = scored.fit(rule, args.precision)
        kinds = sorted({p.kind.split(":")[0] for p in pairs})
        out[name] = {
            "held_out": held,
            "fitted_on_all": {"threshold": threshold, **scored.rates(rule, threshold)},
            "by_kind": {
                kind: scored.subset(
                    [i for i, p in enumerate(pairs) if p.kind.split(":")[0] == kind]
                ).rates(rule, threshold)
                for kind in kinds
            },
            "curve": {str(t): scored.rates(rule, t) for t in GRID[::8]},
        }
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print_tables(out, args.precision)


def print_tables(out: dict[str, Any], precision: float) -> None:
    """The fit as Markdown tables."""
    print(f"{out['pairs']} pairs ({out['same']} the same question); precision wanted {precision}")
    for name in ("cosine_only", "shipped"):
        part = out[name]
        print(
            f"\n### {name}\n\nheld out | threshold fitted without it | precision | recall | "
            "false merges | pairs\n---|---|---|---|---|---"
        )
        for group, r in part["held_out"].items():
            print(
                f"{group} | {r['threshold']} | {r['precision']:.3f} | {r['recall']:.3f} | "
                f"{r['false_merge']:.3f} | {r['pairs']}"
            )
        r = part["fitted_on_all"]
        print(
            f"all (ships) | {r['threshold']} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['false_merge']:.3f} | {r['pairs']}"
        )
        print("\nkind | called the same | pairs\n---|---|---")
        for kind, k in part["by_kind"].items():
            share = k["recall"] if kind in ("reworded", "colloquial", "typo") else k["false_merge"]
            print(f"{kind} | {share:.3f} | {k['pairs']}")
        print("\nthreshold | precision | recall | false merges\n---|---|---|---")
        for t, c in part["curve"].items():
            print(f"{t} | {c['precision']:.3f} | {c['recall']:.3f} | {c['false_merge']:.3f}")


if __name__ == "__main__":
    main()
