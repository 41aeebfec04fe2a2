#!/usr/bin/env python3
"""Draw a reproducible sample of a questions file: N answerable and M unanswerable questions.

Usage: python scripts/sample_questions.py IN.jsonl OUT.jsonl [--answerable 100]
       [--unanswerable 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def main() -> None:
    """Write the sample."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--answerable", type=int, default=100)
    parser.add_argument("--unanswerable", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = [line for line in args.source.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [json.loads(line) for line in lines]
    rng = random.Random(args.seed)
    answerable = [q for q in items if not q.get("should_refuse")]
    unanswerable = [q for q in items if q.get("should_refuse")]
    sample = rng.sample(answerable, min(args.answerable, len(answerable)))
    sample += rng.sample(unanswerable, min(args.unanswerable, len(unanswerable)))
    rng.shuffle(sample)
    with args.target.open("w", encoding="utf-8") as handle:
        for item in sample:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(sample)} questions written to {args.target}")


if __name__ == "__main__":
    main()
