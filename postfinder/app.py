"""One wiring function builds every component from the settings."""

from __future__ import annotations

from functools import cached_property

from postfinder.channels import Catalog
from postfinder.chunking import Chunker
from postfinder.embeddings.base import Embedder
from postfinder.embeddings.factory import build_embedder
from postfinder.indexer import Indexer
from postfinder.retrieval import HybridRetriever
from postfinder.settings import Settings
from postfinder.store.factory import build_vector_store
from postfinder.store.vectors import VectorStore


class App:
    """The components of PostFinder, created on first use.

    Parameters
    ----------
    settings
        Settings, built once by the caller.
    embedder, vectors
        Ready components to use instead of building them (tests pass fakes here).
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        vectors: VectorStore | None = None,
    ) -> None:
        self.settings = settings
        if embedder is not None:
            self.__dict__["embedder"] = embedder
        if vectors is not None:
            self.__dict__["vectors"] = vectors

    @cached_property
    def embedder(self) -> Embedder:
        """The configured embedder (loaded lazily: listing channels needs none)."""
        return build_embedder(self.settings)

    @cached_property
    def vectors(self) -> VectorStore:
        """The configured vector store."""
        return build_vector_store(self.settings)

    @cached_property
    def catalog(self) -> Catalog:
        """The indexed channels."""
        return Catalog(self.settings, self.vectors)

    def indexer(self) -> Indexer:
        """Return an indexer using the configured embedder and chunking."""
        cfg = self.settings.embedding
        max_tokens = min(cfg.chunk_tokens, self.embedder.max_tokens)
        chunker = Chunker(
            self.embedder.count_tokens, max_tokens, min(cfg.chunk_overlap, max_tokens // 2)
        )
        return Indexer(self.catalog, self.embedder, chunker, batch_size=cfg.batch_size)

    def retriever(self, channel: str | None = None) -> HybridRetriever:
        """Return a retriever for a channel chosen by id, name or username."""
        return HybridRetriever(
            self.catalog.resolve(channel), self.embedder, self.settings.retrieval
        )

    def close(self) -> None:
        """Release open channel databases."""
        if "catalog" in self.__dict__:
            self.catalog.close()


def build_app(settings: Settings) -> App:
    """Build the application from settings."""
    return App(settings)
