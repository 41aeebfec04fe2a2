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


def refuses(
    retrieval_probability: float,
    no_answer_probability: float,
    refuse_above: float,
    retrieval_weight: float,
) -> bool:
    """Whether the model's doubt refuses: its probability of "the posts do not say"
    reaches ``refuse_above`` plus ``retrieval_weight`` times the retrieval probability.

    Strong retrieval evidence lets the model's doubt weigh less: an exact post match
    with a hesitant "no answer" is more often a hard question than a missing answer.
    """
    if refuse_above >= 1.0:
        return False  # off
    limit = min(refuse_above + retrieval_weight * retrieval_probability, 0.999)
    return no_answer_probability >= limit


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
    if refuses(
        retrieval_probability,
        no_answer_probability,
        settings.span_refuse_above,
        settings.span_retrieval_weight,
    ):
        return "refuse"
    if confidence < settings.span_min_confidence:
        return "extract"
    return "answer"
