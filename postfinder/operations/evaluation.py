"""Measure a channel: retrieval against relevant posts, answers against gold answers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from postfinder.app import App
from postfinder.evaluation import (
    AnswerOutcome,
    Question,
    evaluate,
    evaluate_answers,
    load_questions,
)
from postfinder.retrieval import SearchMode

Tick = Callable[[int], None]


def read_questions(path: Path, limit: int | None = None) -> list[Question]:
    """The labelled questions of ``path`` (the first ``limit``), read once per evaluation."""
    return load_questions(path)[:limit]


def evaluate_retrieval(
    app: App,
    items: list[Question],
    channel: str | None = None,
    mode: SearchMode | None = None,
    progress: Tick | None = None,
) -> dict[str, Any]:
    """hit@k, MRR@10, nDCG@10, latency and refusal rates of a channel's search.

    The refusal decision always uses hybrid scores, whatever ``mode`` ranks by.
    """
    answerer = app.answerer(channel, use_llm=False)
    retriever = answerer.retriever
    effective = mode or retriever.settings.mode

    def run(query: str) -> tuple[list[int], bool, float]:
        started = time.perf_counter()
        result = retriever.search(query, k=10, mode=effective)
        latency = (time.perf_counter() - started) * 1000
        ranked = [h.post_id for h in result.hits]
        if effective != "hybrid":
            result = retriever.search(query, k=10, mode="hybrid")
        return ranked, answerer.refusal.should_refuse(result), latency

    report: dict[str, Any] = dict(evaluate(run, items, progress=progress))
    report["mode"] = effective
    return report


def evaluate_answer_pipeline(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    app: App,
    items: list[Question],
    channel: str | None = None,
    use_llm: bool = True,
    progress: Tick | None = None,
    records_out: Path | None = None,
) -> dict[str, Any]:
    """Accuracy, answer modes, refusal and speed of the whole answer pipeline.

    ``records_out`` receives one JSON line per question (for fitting and replays).
    """
    answerer = app.answerer(channel, use_llm=use_llm)

    def run(query: str) -> AnswerOutcome:
        result = answerer.answer(query)
        return AnswerOutcome(
            result.mode,
            result.answer,
            result.draft,
            result.timings,
            result.tokens,
            result.lead,
            result.signals,
            tuple(source.id for source in result.sources),
        )

    metrics, records = evaluate_answers(run, items, progress=progress)
    report: dict[str, Any] = dict(metrics)
    generator = answerer.generator
    report["model"] = generator.name if generator is not None else "none (extractive)"
    # What sized the prompts on this machine (`AnswerSettings.prompt_seconds`).
    report["prompt_read_tokens_per_s"] = (generator.prompt_rate() if generator else None) or 0.0
    if records_out is not None:
        with records_out.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
    return report
