"""A deterministic generator for tests: canned replies, recorded prompts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from postfinder.generation.base import ChatMessage, Choice, Constraint, Token


class FakeGenerator:
    """Replies with queued texts (or a default) and records every prompt in ``history``.

    Parameters
    ----------
    default
        Reply used when nothing is queued.
    delay
        Seconds to sleep per streamed piece (to exercise timeouts and queues).
    context_size
        Pretended window size, in whitespace-separated tokens.
    """

    name = "fake-llm"

    def __init__(self, default: str = "", delay: float = 0.0, context_size: int = 4096) -> None:
        # What `first_token_probability` answers for the refusal ("NO_ANSWER") next.
        self.no_answer = 0.0
        # The log probability each streamed word gets (0: the model was certain of it).
        self.logprob = 0.0
        self.probes: list[list[ChatMessage]] = []
        # What `prompt_rate` reports (prompt tokens per second; None: not yet measured).
        self.rate: float | None = None
        self.constraints: list[Constraint] = []
        self.default = default
        self.delay = delay
        self.context_size = context_size
        self.history: list[list[ChatMessage]] = []
        self.prefilled: list[list[ChatMessage]] = []
        self._queue: list[str] = []
        self._lock = threading.Lock()

    def enqueue(self, *replies: str) -> None:
        """Queue replies, used in order by the next calls."""
        with self._lock:
            self._queue.extend(replies)

    def count_tokens(self, text: str) -> int:
        """Count whitespace-separated words."""
        return len(text.split())

    def prefill(self, messages: Sequence[ChatMessage]) -> None:
        """Record the prefix (a real model would evaluate it once)."""
        self.prefilled.append(list(messages))

    def prompt_rate(self) -> float | None:
        """The set ``rate``."""
        return self.rate

    def first_token_probability(self, messages: Sequence[ChatMessage], text: str) -> float:
        """``no_answer`` when the next queued reply refuses (starts with ``text``): 1, else
        the set value; the prompt is recorded in ``probes``."""
        with self._lock:
            self.probes.append(list(messages))
            reply = self._queue[0] if self._queue else self.default
        return 1.0 if text and reply.strip().startswith(text) else self.no_answer

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, avoid: str = ""
    ) -> Iterator[Token]:
        """Yield the next reply word by word (each with ``logprob``), at most ``max_tokens``
        words; a reply that starts with ``avoid`` yields nothing (a real model would write
        something else)."""
        with self._lock:
            self.history.append(list(messages))
            reply = self._queue.pop(0) if self._queue else self.default
        if avoid and reply.strip().startswith(avoid):
            return
        for i, word in enumerate(reply.split(" ")[:max_tokens]):
            if self.delay:
                time.sleep(self.delay)
            yield Token(word if i == 0 else " " + word, self.logprob)

    def choose(
        self,
        messages: Sequence[ChatMessage],
        constraint: Constraint,
        refusal: str,
        max_tokens: int,
        cancel: threading.Event | None = None,
    ) -> Choice:
        """Decode the next reply word by word as a constrained decoder would.

        Words are taken while ``constraint`` accepts them, and the reply is cut back to
        the last point where it may end; the probability of refusing is 1 when the reply
        is ``refusal``. ``delay`` is slept per word; ``cancel`` stops early.
        """
        with self._lock:
            self.history.append(list(messages))
            self.constraints.append(constraint)
            reply = self._queue.pop(0) if self._queue else self.default
        text, kept = b"", b""
        for i, word in enumerate(reply.split(" ")[:max_tokens]):
            if self.delay:
                time.sleep(self.delay)
            if cancel is not None and cancel.is_set():
                break
            piece = (word if i == 0 else " " + word).encode("utf-8")
            if not constraint.accepts(text + piece):
                break
            text += piece
            if constraint.complete(text):
                kept = text
        refused = 1.0 if kept.strip() == refusal.encode() else 0.0
        decoded = kept.decode("utf-8")
        return Choice(decoded, refused, tuple(0.0 for _ in decoded.split()))
