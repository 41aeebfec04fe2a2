"""Answering through the cache: the same steps for every front end and `postfinder ask`.

A question is looked up by its normal form first (no model, no embedding: a front end
does this before the question waits for the work queue); on the queue, by its
embedding; only then does the pipeline run, and its answer is stored unless the time
limit cut it short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from postfinder.answering.pipeline import Answer, Answerer
from postfinder.answering.question import focus_question
from postfinder.errors import StoreError
from postfinder.repeats.cache import AnswerCache, Hit, Scope
from postfinder.repeats.keys import normal_form

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """An answer and what the cache made of it.

    Attributes
    ----------
    answer
        The answer (``answer.cached`` when it came from the cache).
    entry_id
        The cache entry that gave it or now holds it (None: not cached).
    key, vector
        The question's normal form and embedding (recorded for the repeats report).
    """

    answer: Answer
    entry_id: int | None = None
    key: str = ""
    vector: npt.NDArray[np.float32] | None = None


def quick_lookup(cache: AnswerCache, scope: Scope, message: str, stamp: str) -> Hit | None:
    """The stored answer to exactly this question (same normal form), if any; None also
    when the cache fails (it is logged: the question is answered the usual way)."""
    key = normal_form(message)
    try:
        return cache.find_text(scope, key, stamp, message) if key else None
    except StoreError as exc:
        log.warning("%s", exc)
        return None


def answer_through_cache(  # pylint: disable=too-many-arguments
    cache: AnswerCache,
    answerer: Answerer,
    message: str,
    scope: Scope,
    stamp: str,
    *,
    asker: str | None = None,
    use_llm: bool = True,
    on_progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    context: Sequence[int] = (),
) -> Outcome:
    """Give the stored answer of the same question, else answer and store it.

    Parameters
    ----------
    cache
        The answer cache.
    answerer
        The channel's pipeline, run on a miss.
    message, scope, stamp
        The member's message, where its answer holds, and the conditions it is made
        under (`App.cache_stamp`).
    asker
        The member's pseudonym (their erasure removes the entry).
    use_llm, on_progress, cancel, context
        As `Answerer.answer`.
    """

    def fresh() -> Answer:
        return answerer.answer(message, use_llm, on_progress, cancel, scope.language, context)

    key = normal_form(message)
    if not key:
        return Outcome(fresh())
    try:
        generation = cache.generation(scope.channel_id)  # before anything is read
        hit = cache.find_text(scope, key, stamp, message)  # asked meanwhile by someone else
        vector = None
        if hit is None:
            vector = answerer.retriever.embedder.embed_queries([focus_question(message)])[0]
            hit = cache.find_similar(scope, key, vector, stamp, message)
    except StoreError as exc:  # the cache is an aid: its failure costs only speed
        log.warning("%s", exc)
        return Outcome(fresh())
    if hit is not None:
        return Outcome(hit.answer, hit.entry_id, key, vector)
    answer = fresh()
    if cancel is not None and cancel.is_set():
        return Outcome(answer, None, key, vector)  # cut short: not worth giving again
    try:
        entry = cache.put(scope, key, vector, answer, stamp, asker, generation)
    except StoreError as exc:
        log.warning("%s", exc)
        entry = None
    return Outcome(answer, entry, key, vector)
