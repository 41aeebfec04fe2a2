"""The embedder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors.

    ``name`` identifies the model (recorded in each index, so that an index is never
    queried with vectors of another model); ``dim`` is the vector length;
    ``max_tokens`` is the longest input the model reads in full.
    """

    name: str
    dim: int
    max_tokens: int

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed search queries; returns an array of shape ``(len(texts), dim)``."""

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages (post chunks); returns an array of shape ``(len(texts), dim)``."""

    def count_tokens(self, text: str) -> int:
        """Return how many model tokens ``text`` takes (without special tokens)."""


def normalise(vectors: npt.NDArray[np.floating]) -> Vectors:
    """Return row-wise L2-normalised float32 vectors (zero rows stay zero)."""
    arr = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (arr / norms).astype(np.float32)
    return out


def e5_prefixes(model_name: str) -> tuple[str, str]:
    """Return the (query, passage) prefixes a model expects: e5 models need them."""
    if "e5" in model_name.lower():
        return "query: ", "passage: "
    return "", ""
