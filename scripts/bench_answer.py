#!/usr/bin/env python3
"""Answer quality and cost with the local model: modes, grounding, speed, CPU time.

Runs `postfinder ask` logic on the first N questions of a questions file (answerable and
unanswerable alike) and prints: how often answers were generated, extractive or refused;
time to first token; generation speed; CPU seconds per answer and what 1,000 answers a
day cost in CPU time; and a few examples.

Usage: python scripts/bench_answer.py QUESTIONS.jsonl [--channel ID] [--limit N]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from collections import Counter
from pathlib import Path

import numpy as np

from postfinder.app import build_app
from postfinder.evaluation import load_questions
from postfinder.settings import load_settings


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("--channel")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--examples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="shuffle the questions first")
    args = parser.parse_args()
    app = build_app(load_settings())
    answerer = app.answerer(args.channel)
    if answerer.generator is None:
        raise SystemExit("No GGUF model found: run scripts/fetch_models.py first")
    questions = load_questions(args.questions)
    random.Random(args.seed).shuffle(questions)
    questions = questions[: args.limit]
    modes: Counter[str] = Counter()
    ttft, speed, cpu, wall, examples = [], [], [], [], []
    for question in questions:
        cpu_before, started = cpu_seconds(), time.perf_counter()
        answer = answerer.answer(question.query)
        cpu.append(cpu_seconds() - cpu_before)
        wall.append(time.perf_counter() - started)
        modes[answer.mode] += 1
        timings = answer.timings
        if "first_token_ms" in timings:
            ttft.append(timings["first_token_ms"])
            decode_s = (timings["generation_ms"] - timings["first_token_ms"]) / 1000
            if decode_s > 0 and answer.tokens.get("completion", 0) > 1:
                speed.append((answer.tokens["completion"] - 1) / decode_s)
        if len(examples) < args.examples and answer.mode != "refused":
            examples.append(answer)
    n = len(questions)
    print(f"model {answerer.generator.name}, embedder {app.embedder.name}, {n} questions")
    print(", ".join(f"{mode} {count} ({count / n:.0%})" for mode, count in modes.most_common()))
    if ttft:
        print(
            f"time to first token p50 {np.median(ttft) / 1000:.2f} s, p95 "
            f"{np.percentile(ttft, 95) / 1000:.2f} s"
        )
    if speed:
        print(f"generation speed p50 {np.median(speed):.1f} tokens/s")
    print(
        f"wall time per answer p50 {np.median(wall):.2f} s; CPU time per answer mean "
        f"{np.mean(cpu):.2f} s"
    )
    print(
        f"1,000 answers a day: {np.mean(cpu) * 1000 / 3600:.2f} CPU-hours a day "
        f"({np.mean(cpu) * 1000 / 86400:.3f} cores busy on average)"
    )
    for answer in examples:
        print(f"\n--- {answer.question}\nmode: {answer.mode}")
        if answer.rejected_draft:
            print(f"rejected draft: {answer.rejected_draft[:300]!r}")
        print(answer.render())


if __name__ == "__main__":
    main()
