"""Split long posts into overlapping chunks that fit the embedder's window."""

from __future__ import annotations

from collections.abc import Callable

from postfinder.text import join_sentences, split_sentences


class Chunker:
    """Cuts text at sentence boundaries into chunks of at most ``max_tokens`` tokens.

    Consecutive chunks share up to ``overlap`` tokens of whole sentences, so a fact
    that straddles a boundary is still found. A sentence longer than a chunk is cut
    at word boundaries.

    Parameters
    ----------
    count_tokens
        The embedder's token counter.
    max_tokens
        Upper bound of tokens per chunk.
    overlap
        Tokens repeated from the end of one chunk at the start of the next.
    """

    def __init__(self, count_tokens: Callable[[str], int], max_tokens: int, overlap: int) -> None:
        if overlap >= max_tokens:
            raise ValueError("overlap must be smaller than max_tokens")
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap

    def split(self, text: str) -> list[str]:
        """Return the chunks of ``text`` (the text itself when it fits)."""
        text = text.strip()
        if not text:
            return []
        if self.count_tokens(text) <= self.max_tokens:
            return [text]
        units = self._units(text)
        chunks: list[str] = []
        current: list[tuple[str, int]] = []
        size = 0
        for unit, tokens in units:
            if current and size + tokens > self.max_tokens:
                chunks.append(join_sentences([u for u, _ in current]))
                current, size = self._tail(current)
                while current and size + tokens > self.max_tokens:
                    size -= current.pop(0)[1]
            current.append((unit, tokens))
            size += tokens
        if current:
            chunks.append(join_sentences([u for u, _ in current]))
        return chunks

    def _units(self, text: str) -> list[tuple[str, int]]:
        """Sentences with token counts; over-long sentences cut into word windows."""
        units: list[tuple[str, int]] = []
        for sentence in split_sentences(text):
            tokens = self.count_tokens(sentence)
            if tokens <= self.max_tokens:
                units.append((sentence, tokens))
            else:
                units.extend(self._cut_words(sentence))
        return units

    def _cut_words(self, sentence: str) -> list[tuple[str, int]]:
        """Cut an over-long sentence into pieces of whole words (or characters for CJK)."""
        words = sentence.split()
        joiner = " "
        if len(words) <= 1:
            # No spaces (e.g. Chinese): cut by characters, proportionally to the token count.
            step = max(1, len(sentence) * self.max_tokens // max(self.count_tokens(sentence), 1))
            words, joiner = [sentence[i : i + step] for i in range(0, len(sentence), step)], ""
        pieces: list[tuple[str, int]] = []
        current: list[str] = []
        size = 0
        for word in words:
            tokens = self.count_tokens(word)
            if current and size + tokens > self.max_tokens:
                pieces.append((joiner.join(current), size))
                current, size = [], 0
            current.append(word)
            size += tokens
        if current:
            pieces.append((joiner.join(current), size))
        return pieces

    def _tail(self, units: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], int]:
        """Return the trailing units that fit in ``overlap`` tokens, and their size."""
        tail: list[tuple[str, int]] = []
        size = 0
        for unit, tokens in reversed(units):
            if size + tokens > self.overlap:
                break
            tail.insert(0, (unit, tokens))
            size += tokens
        return tail, size
