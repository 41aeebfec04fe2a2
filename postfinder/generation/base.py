"""The generator protocol."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat prompt."""

    role: str  # "system", "user" or "assistant"
    content: str


class Constraint(Protocol):
    """What a constrained reply may be, judged on its UTF-8 bytes."""

    def accepts(self, reply: bytes) -> bool:
        """True when ``reply`` begins an allowed reply."""

    def complete(self, reply: bytes) -> bool:
        """True when ``reply`` is an allowed reply as it stands."""

    def continuations(self, reply: bytes) -> list[bytes]:
        """Allowed next pieces, for when none of the model's likely tokens is allowed."""


@dataclass(frozen=True)
class Token:
    """One streamed piece of a reply and the model's log probability of it.

    ``logprob`` is read from the model's own distribution (at temperature 1) over the
    tokens of the piece, so a reply it was unsure of shows low values.
    """

    text: str
    logprob: float = 0.0


@dataclass(frozen=True)
class Choice:
    """A constrained reply and what the model itself thought of it.

    ``refused`` is the model's probability of starting with the ``refusal`` string among
    the allowed first tokens; ``logprobs`` are its raw log probabilities of the reply's
    tokens (low where the constraint forced words it did not want).
    """

    text: str
    refused: float
    logprobs: tuple[float, ...]


@runtime_checkable
class Generator(Protocol):
    """A chat model that streams its reply token by token.

    ``context_size`` is the model's window in tokens; prompts are trimmed to fit it.
    """

    name: str
    context_size: int

    def count_tokens(self, text: str) -> int:
        """Return how many model tokens ``text`` takes."""

    def prefill(self, messages: Sequence[ChatMessage]) -> None:
        """Prepare a fixed prompt prefix so that prompts starting with it begin faster."""

    def prompt_rate(self) -> float | None:
        """Prompt tokens per second this model last evaluated at on this machine, or
        ``None`` before it has evaluated enough to tell."""

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, avoid: str = ""
    ) -> Iterator[Token]:
        """Yield pieces of the reply to ``messages`` as they are generated, each with the
        model's log probability; the reply does not start with ``avoid`` when one is given."""

    def first_token_probability(self, messages: Sequence[ChatMessage], text: str) -> float:
        """The model's probability that its reply to ``messages`` begins with ``text``,
        read from its first token (the prompt stays evaluated for the reply that follows)."""

    def choose(
        self,
        messages: Sequence[ChatMessage],
        constraint: Constraint,
        refusal: str,
        max_tokens: int,
        cancel: threading.Event | None = None,
    ) -> Choice:
        """Decode greedily, each token allowed by ``constraint``, until done, ``max_tokens``
        or ``cancel``; see `Choice`."""
