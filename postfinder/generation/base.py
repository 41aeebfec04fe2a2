"""The generator protocol."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat prompt."""

    role: str  # "system", "user" or "assistant"
    content: str


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

    def stream(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]:
        """Yield pieces of the reply to ``messages`` as they are generated."""
