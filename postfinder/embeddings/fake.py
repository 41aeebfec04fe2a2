"""A deterministic embedder for tests and for trying the pipeline without a model."""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Sequence

import numpy as np

from postfinder.embeddings.base import Vectors, normalise

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Hashes lower-cased words (and their 4-letter stems) into a bag-of-words vector.

    Texts that share words get similar vectors, so retrieval tests behave sensibly;
    the same text always gives the same vector. ``calls`` records the last 32
    batches embedded (bounded: indexing a big channel with it must not grow memory).

    Parameters
    ----------
    dim
        Vector length.
    max_tokens
        Longest input in words before a chunk must be split.
    """

    def __init__(self, dim: int = 64, max_tokens: int = 512) -> None:
        self.name = f"fake-{dim}"
        self.dim = dim
        self.max_tokens = max_tokens
        self.calls: deque[tuple[str, list[str]]] = deque(maxlen=32)

    def _vector(self, text: str) -> Vectors:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            for feature in (word, word[:4]):
                slot = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=4).digest())
                vec[slot % self.dim] += 1.0
        return vec

    def _embed(self, kind: str, texts: Sequence[str]) -> Vectors:
        self.calls.append((kind, list(texts)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(np.stack([self._vector(t) for t in texts]))

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed queries."""
        return self._embed("query", texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages."""
        return self._embed("passage", texts)

    def count_tokens(self, text: str) -> int:
        """Count words as tokens."""
        return len(_WORD.findall(text))
