#!/usr/bin/env python3
"""Time to first token with and without the no-answer probe, on the same prompts.

Each question's prompt is built as the free style builds it, then streamed to its first
token twice in alternating order: once alone, once after `first_token_probability` (the
probe the answer pipeline runs before the model writes). The model's cache holds only
the fixed prefix before each run, as it does for a new question.

Usage: python scripts/bench_probe.py DATA_DIR QUESTIONS.jsonl [--limit 12]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from postfinder.answering.passages import rank_sentences
from postfinder.answering.prompt import NO_ANSWER, build_prompt, system_messages
from postfinder.answering.question import focus_question
from postfinder.app import App
from postfinder.evaluation import load_questions
from postfinder.settings import load_settings


def main() -> None:
    """Print the median time to first token of both ways."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--limit", type=int, default=12)
    args = parser.parse_args()
    app = App(load_settings(data_dir=args.data_dir))
    answerer = app.answerer()
    generator = answerer.generator
    if generator is None:
        raise SystemExit("No model: set up one (scripts/fetch_models.py) or POSTFINDER_LLM__MODEL.")
    prompts = []
    for item in load_questions(args.questions)[: args.limit]:
        query = focus_question(item.query)
        result, _, _ = answerer.retrieve(query)
        ranked = rank_sentences(
            query, answerer.usable_posts(result), answerer.retriever.embedder, answerer.tokenize
        )
        budget = answerer.settings.max_prompt_tokens
        prompts.append(build_prompt(query, ranked, generator.count_tokens, budget))
    times: dict[bool, list[float]] = {True: [], False: []}
    for i, prompt in enumerate(prompts):
        for probe in (True, False) if i % 2 else (False, True):
            generator.prefill([])  # forget the last question: only the prefix stays cached
            generator.prefill(system_messages())
            started = time.perf_counter()
            if probe:
                generator.first_token_probability(prompt.messages, NO_ANSWER)
            next(iter(generator.stream(prompt.messages, 8, avoid=NO_ANSWER if probe else "")))
            times[probe].append(time.perf_counter() - started)
    app.close()
    print(
        f"first token p50: {statistics.median(times[False]):.2f} s without the probe, "
        f"{statistics.median(times[True]):.2f} s with it ({len(prompts)} prompts each)"
    )


if __name__ == "__main__":
    main()
