"""Retrieval metrics over a labelled question file (``questions.jsonl``)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from postfinder.errors import PostfinderError


class QuestionsError(PostfinderError):
    """The questions file is missing or malformed."""


@dataclass(frozen=True)
class Question:
    """One labelled question."""

    query: str
    relevant: tuple[int, ...]
    should_refuse: bool


def load_questions(path: Path) -> list[Question]:
    """Read ``{"query", "relevant", "should_refuse"}`` objects, one per line.

    Raises
    ------
    QuestionsError
        Naming the line and the field that is wrong.
    """
    if not path.is_file():
        raise QuestionsError(f"Questions file {path} does not exist.")
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                query = item["query"]
                relevant = tuple(int(x) for x in item.get("relevant") or [])
                refuse = bool(item.get("should_refuse", False))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise QuestionsError(
                    f"{path}, line {number}: expected a JSON object with 'query' (text), "
                    f"'relevant' (list of post ids) and optional 'should_refuse' ({exc})."
                ) from exc
            if not isinstance(query, str) or not query.strip():
                raise QuestionsError(f"{path}, line {number}: 'query' must be non-empty text.")
            questions.append(Question(query, relevant, refuse))
    return questions


def dcg(relevances: Sequence[int]) -> float:
    """Discounted cumulative gain of binary relevances in rank order."""
    return sum(rel / math.log2(rank + 1) for rank, rel in enumerate(relevances, start=1))


@dataclass
class RetrievalMetrics:
    """Accumulates rank metrics per question."""

    k: int = 10
    n: int = 0
    hits1: int = 0
    hits5: int = 0
    hits10: int = 0
    mrr: float = 0.0
    ndcg: float = 0.0

    def add(self, ranked: Sequence[int], relevant: Sequence[int]) -> None:
        """Record the ranked post ids returned for one question."""
        wanted = set(relevant)
        flags = [1 if pid in wanted else 0 for pid in ranked[: self.k]]
        self.n += 1
        first = next((i for i, flag in enumerate(flags, start=1) if flag), None)
        if first is not None:
            self.hits1 += first <= 1
            self.hits5 += first <= 5
            self.hits10 += first <= 10
            self.mrr += 1.0 / first
        ideal = dcg([1] * min(len(wanted), self.k))
        self.ndcg += dcg(flags) / ideal if ideal else 0.0

    def as_dict(self) -> dict[str, float]:
        """Return averaged metrics."""
        n = max(self.n, 1)
        return {
            "hit@1": self.hits1 / n,
            "hit@5": self.hits5 / n,
            "hit@10": self.hits10 / n,
            "mrr@10": self.mrr / n,
            "ndcg@10": self.ndcg / n,
            "n": self.n,
        }


def evaluate(
    search: Callable[[str], tuple[Sequence[int], bool, float]],
    questions: Sequence[Question],
    k: int = 10,
    progress: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Run every answerable question through ``search`` and report metrics and latency.

    Parameters
    ----------
    search
        Returns ranked post ids for a query, whether the bot would refuse to answer, and
        the search latency in milliseconds.
    questions
        Labelled questions; those with ``should_refuse`` count only for refusal rates.
    k
        Cut-off for the metrics.
    progress
        Called with 1 after each question.

    Returns
    -------
    dict
        ``hit@1``, ``hit@5``, ``hit@10``, ``mrr@10``, ``ndcg@10``, ``n``,
        ``latency_ms_p50``, ``latency_ms_p95``, ``refusal_rate`` (share of
        ``should_refuse`` questions refused), ``false_refusal_rate`` (share of answerable
        ones refused), ``n_refuse``.
    """
    metrics = RetrievalMetrics(k=k)
    latencies = []
    refused = {True: 0, False: 0}
    counts = {True: 0, False: 0}
    for question in questions:
        ranked, refuse, latency_ms = search(question.query)
        counts[question.should_refuse] += 1
        refused[question.should_refuse] += refuse
        if not question.should_refuse:
            latencies.append(latency_ms)
            metrics.add(ranked, question.relevant)
        if progress:
            progress(1)
    result = metrics.as_dict()
    result["n_refuse"] = counts[True]
    result["refusal_rate"] = refused[True] / counts[True] if counts[True] else 0.0
    result["false_refusal_rate"] = refused[False] / counts[False] if counts[False] else 0.0
    result["latency_ms_p50"] = float(np.percentile(latencies, 50)) if latencies else 0.0
    result["latency_ms_p95"] = float(np.percentile(latencies, 95)) if latencies else 0.0
    return result
