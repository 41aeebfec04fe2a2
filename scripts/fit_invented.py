#!/usr/bin/env python3
"""Fit when a rejected draft made of invented words should refuse rather than extract.

Asked for a detail the posts lack, the model often writes one anyway (a sum, a name); the
grounding check rejects that draft and the extract then quotes a sentence that only
shares the topic. The answer pipeline records, for every rejected draft, the share of
the words it adds to the question that no retrieved post holds (signal ``invented``).
This replays the rule "refuse instead of extracting when invented >= T" on evaluation
records (``postfinder eval QUESTIONS --answers --records FILE`` with the model on, the
rule off): an extract whose draft reaches T becomes a refusal, everything else stands.
Per channel and threshold it prints lead accuracy, reply accuracy, false refusal, the
share of near-miss and of other unanswerable questions refused; then leave one channel
out: the lowest threshold that costs the *other* channels, pooled, at most
``--max-lost`` of their answerable questions, reported on the one left out.

With the default 1.5B model the rule is not shipped (docs/benchmarks.md, "Names the
posts do not mention"): the model stops at its first unsure word, so most rejected drafts
are one token and carry no verdict, and where they do, answerable questions lose as many
replies as near-misses gain refusals. It is kept to rerun with a stronger model.

Usage: python scripts/fit_invented.py NAME=RECORDS.jsonl [NAME=RECORDS.jsonl ...]
       [--max-lost 0.01]         (a name given twice pools its files)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path

OFF = 1.01  # above any share: the rule never fires
THRESHOLDS = [OFF] + [round(1.0 - 0.1 * i, 1) for i in range(11)]


def load(path: Path) -> list[dict]:
    """Records of one ``--records`` file, headline questions left out (they are replied
    to by the topic reply, before any draft)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if r.get("kind") != "headline"]


def replayed(record: dict, threshold: float) -> dict:
    """The record as the rule at ``threshold`` would have left it."""
    invented = (record.get("signals") or {}).get("invented")
    if record["mode"] != "extractive" or invented is None or invented < threshold:
        return record
    return {**record, "mode": "refused", "correct": False, "lead_correct": False}


def _refused(record: dict) -> bool:
    return record["mode"] == "refused"


def _share(items: Sequence[dict], holds: Callable[[dict], object]) -> float:
    """The share of ``items`` for which ``holds`` is true (nan for none)."""
    return sum(bool(holds(r)) for r in items) / len(items) if items else float("nan")


def measure(records: Sequence[dict], threshold: float) -> dict:
    """Rates of one threshold over a channel's records."""
    rows = [replayed(r, threshold) for r in records]
    answerable = [r for r in rows if not r["should_refuse"]]
    near = [r for r in rows if r["should_refuse"] and r.get("kind") == "near_miss"]
    other = [r for r in rows if r["should_refuse"] and r.get("kind") != "near_miss"]
    return {
        "lead_accuracy": _share(answerable, itemgetter("lead_correct")),
        "reply_accuracy": _share(answerable, itemgetter("correct")),
        "false_refusal": _share(answerable, _refused),
        "near_refused": _share(near, _refused),
        "other_refused": _share(other, _refused),
        "counts": f"{len(answerable)} + {len(near)} + {len(other)}",
    }


def best(records: Sequence[dict], max_lost: float) -> float:
    """The lowest threshold whose false refusal is at most ``max_lost`` above the rule off."""
    base = measure(records, OFF)["false_refusal"]
    return min(t for t in THRESHOLDS if measure(records, t)["false_refusal"] <= base + max_lost)


def row(name: str, threshold: float, result: dict) -> str:
    """One table row."""
    keys = ("lead_accuracy", "reply_accuracy", "false_refusal", "near_refused", "other_refused")
    rates = " | ".join("-" if result[k] != result[k] else f"{result[k]:.2f}" for k in keys)
    shown = "off" if threshold >= OFF else f"{threshold:g}"
    return f"| {name} | {shown} | {rates} | {result['counts']} |"


HEADER = (
    "| channel | invented >= | lead accuracy | reply accuracy | false refusal"
    " | near-miss refused | other unanswerable refused"
    " | answerable + near-miss + other |\n|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    """Replay the rule per channel, then leave one channel out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("channels", nargs="+", help="NAME=RECORDS.jsonl")
    parser.add_argument("--max-lost", type=float, default=0.01)
    args = parser.parse_args()
    data: dict[str, list[dict]] = {}
    for spec in args.channels:
        name, _, path = spec.partition("=")
        if not path:
            parser.error(f"{spec!r}: give NAME=RECORDS.jsonl")
        data.setdefault(name, []).extend(load(Path(path)))
    print(HEADER)
    for name, records in data.items():
        for threshold in THRESHOLDS:
            print(row(name, threshold, measure(records, threshold)))
    print("\nLeave one channel out (off -> fitted on the others):")
    print(HEADER)
    for name, records in data.items():
        others = [r for other, rs in data.items() if other != name for r in rs]
        chosen = best(others or records, args.max_lost)
        print(row(f"{name} (off)", OFF, measure(records, OFF)))
        print(row(f"{name} (fitted)", chosen, measure(records, chosen)))
    pooled = [r for rs in data.values() for r in rs]
    chosen = best(pooled, args.max_lost)
    print(f"\nPooled over every channel: refuse when invented >= {chosen:g}")
    print(row("all", chosen, measure(pooled, chosen)))


if __name__ == "__main__":
    main()
