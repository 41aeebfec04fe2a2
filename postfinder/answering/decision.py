"""Answer, extract or refuse: one decision from the model's own probabilities.

Retrieval has already judged that the channel is about the question; here the model's
probability of "no sentence answers" (read from its logits before the grammar masks
anything) refuses near-misses, and the mean log probability of the phrase it copied
tells a confident pointer from one the grammar forced. Thresholds are settings, fitted
on labelled questions of several channels (``scripts/fit_span.py``, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from postfinder.settings import AnswerSettings

Decision = Literal["answer", "extract", "refuse"]


def span_confidence(logprobs: Sequence[float]) -> float:
    """Mean log probability of the reply's tokens after the sentence number (0 if none)."""
    rest = list(logprobs[1:])
    return sum(rest) / len(rest) if rest else 0.0


def decide(
    retrieval_probability: float,
    no_answer_probability: float,
    confidence: float,
    settings: AnswerSettings,
) -> Decision:
    """Choose what the member gets.

    Parameters
    ----------
    retrieval_probability
        The refusal model's probability that the channel answers (already above its
        threshold when this is called).
    no_answer_probability
        The model's probability of replying "no sentence answers".
    confidence
        `span_confidence` of its reply.
    settings
        ``span_refuse_above`` and ``span_min_confidence``.

    Returns
    -------
    str
        ``"refuse"``, ``"extract"`` (quote the sentence it pointed at) or ``"answer"``.
    """
    # Strong retrieval evidence lets the model's doubt weigh less: an exact post match
    # with a hesitant "0" is more often a hard question than a missing answer.
    limit = settings.span_refuse_above + settings.span_retrieval_weight * retrieval_probability
    if no_answer_probability >= min(limit, 0.999):
        return "refuse"
    if confidence < settings.span_min_confidence:
        return "extract"
    return "answer"
