"""Build the configured vector store."""

from __future__ import annotations

from postfinder.settings import Settings
from postfinder.store.vectors import MemoryVectorStore, VectorStore


def build_vector_store(settings: Settings) -> VectorStore:
    """Return the vector store selected by ``settings.vector_store.mode``."""
    if settings.vector_store.mode == "memory":
        return MemoryVectorStore()
    from postfinder.store.chroma import (  # pylint: disable=import-outside-toplevel
        ChromaVectorStore,
    )

    return ChromaVectorStore(settings.vector_store, settings.chroma_dir)
