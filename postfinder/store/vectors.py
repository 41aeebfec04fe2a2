"""The vector store protocol and an in-memory implementation for tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from postfinder.embeddings.base import Vectors


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk of a post, as stored next to its vector."""

    post_id: int
    chunk: int
    text: str

    @property
    def key(self) -> str:
        """Stable id of the chunk inside its collection."""
        return f"{self.post_id}:{self.chunk}"


@dataclass(frozen=True)
class ChunkMatch:
    """A chunk found by vector similarity."""

    post_id: int
    chunk: int
    text: str
    similarity: float


class VectorStore(Protocol):
    """Chunk vectors, one collection per channel, searched by cosine similarity."""

    def add(self, collection: str, records: Sequence[ChunkRecord], vectors: Vectors) -> None:
        """Store chunks with their vectors (replacing chunks with the same key)."""

    def delete_posts(self, collection: str, post_ids: Sequence[int]) -> None:
        """Remove every chunk of the given posts."""

    def query(self, collection: str, vector: Vectors, n: int) -> list[ChunkMatch]:
        """Return up to ``n`` chunks most similar to ``vector``, best first."""

    def count(self, collection: str) -> int:
        """Return the number of chunks in the collection (0 if it does not exist)."""

    def post_ids(self, collection: str) -> list[int]:
        """Return the post id of every stored chunk, sorted (for consistency checks)."""

    def drop(self, collection: str) -> None:
        """Delete the collection if it exists."""


class MemoryVectorStore:
    """Brute-force cosine search in memory: a fake for tests and tiny channels."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, tuple[ChunkRecord, Vectors]]] = {}

    def add(self, collection: str, records: Sequence[ChunkRecord], vectors: Vectors) -> None:
        """Store chunks."""
        col = self._data.setdefault(collection, {})
        for record, vector in zip(records, vectors, strict=True):
            col[record.key] = (record, np.asarray(vector, dtype=np.float32))

    def delete_posts(self, collection: str, post_ids: Sequence[int]) -> None:
        """Remove chunks of posts."""
        wanted = set(post_ids)
        col = self._data.get(collection, {})
        for key in [k for k, (rec, _) in col.items() if rec.post_id in wanted]:
            del col[key]

    def query(self, collection: str, vector: Vectors, n: int) -> list[ChunkMatch]:
        """Search by cosine similarity."""
        col = list(self._data.get(collection, {}).values())
        if not col:
            return []
        matrix = np.stack([vec for _, vec in col])
        sims = matrix @ np.asarray(vector, dtype=np.float32).reshape(-1)
        order = np.argsort(-sims, kind="stable")[:n]
        return [
            ChunkMatch(col[i][0].post_id, col[i][0].chunk, col[i][0].text, float(sims[i]))
            for i in order
        ]

    def count(self, collection: str) -> int:
        """Count chunks."""
        return len(self._data.get(collection, {}))

    def post_ids(self, collection: str) -> list[int]:
        """List the post id of every chunk."""
        return sorted(rec.post_id for rec, _ in self._data.get(collection, {}).values())

    def drop(self, collection: str) -> None:
        """Forget a collection."""
        self._data.pop(collection, None)
