"""ChromaDB vector store: embedded (PersistentClient) or a Chroma server (HttpClient).

Embeddings are always passed explicitly and collections get no embedding function, so
Chroma never downloads its default model; anonymized telemetry is turned off.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postfinder.embeddings.base import Vectors
from postfinder.errors import StoreError
from postfinder.settings import VectorStoreSettings
from postfinder.store.vectors import ChunkMatch, ChunkRecord


class ChromaVectorStore:
    """Chunk vectors in ChromaDB collections with cosine distance.

    Parameters
    ----------
    settings
        Vector store settings (mode ``persistent`` or ``http``).
    path
        Directory of the embedded database (mode ``persistent``).
    """

    def __init__(self, settings: VectorStoreSettings, path: Path) -> None:
        # Imported here: chromadb is heavy and only this backend needs it.
        # pylint: disable=import-outside-toplevel
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        # pylint: enable=import-outside-toplevel

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self._ef_search = settings.hnsw_ef_search
        self._exact_limit = settings.exact_search_limit
        self._collections: dict[str, Any] = {}
        # collection -> (chunk count, unit vectors, metadata, texts) for exact search
        self._exact: dict[str, tuple[int, Any, list[Any], list[str]]] = {}
        try:
            if settings.mode == "http":
                headers = {}
                if settings.auth_token is not None:
                    headers["Authorization"] = f"Bearer {settings.auth_token.get_secret_value()}"
                self._client: Any = chromadb.HttpClient(
                    host=settings.host,
                    port=settings.port,
                    ssl=settings.ssl,
                    headers=headers,
                    settings=chroma_settings,
                )
                self._client.heartbeat()
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:  # chromadb raises many kinds; all mean "store unavailable"
            where = (
                f"the Chroma server at {settings.host}:{settings.port}"
                if settings.mode == "http"
                else f"the vector database in {path}"
            )
            raise StoreError(
                f"Cannot open {where}: {exc}. Check that it is running and reachable "
                "(POSTFINDER_VECTOR_STORE__HOST/PORT), or use mode 'persistent'."
            ) from exc
        self._max_batch = int(getattr(self._client, "get_max_batch_size", lambda: 5000)())

    def _collection(self, name: str, create: bool = True) -> Any:
        if name not in self._collections:
            try:
                if create:
                    self._collections[name] = self._client.get_or_create_collection(
                        name=name,
                        embedding_function=None,
                        configuration={"hnsw": {"space": "cosine", "ef_search": self._ef_search}},
                    )
                else:
                    self._collections[name] = self._client.get_collection(
                        name=name, embedding_function=None
                    )
            except Exception as exc:  # pylint: disable=broad-exception-caught
                if not create:
                    return None
                raise StoreError(f"Cannot open Chroma collection {name}: {exc}") from exc
        return self._collections[name]

    def add(self, collection: str, records: Sequence[ChunkRecord], vectors: Vectors) -> None:
        """Store chunks with their vectors."""
        col = self._collection(collection)
        self._exact.pop(collection, None)
        for start in range(0, len(records), self._max_batch):
            part = records[start : start + self._max_batch]
            col.upsert(
                ids=[r.key for r in part],
                embeddings=np.asarray(vectors[start : start + len(part)], dtype=np.float32),
                documents=[r.text for r in part],
                metadatas=[{"post_id": r.post_id, "chunk": r.chunk} for r in part],
            )

    def delete_posts(self, collection: str, post_ids: Sequence[int]) -> None:
        """Remove every chunk of the given posts."""
        if not post_ids:
            return
        col = self._collection(collection)
        self._exact.pop(collection, None)
        for start in range(0, len(post_ids), self._max_batch):
            ids = [int(p) for p in post_ids[start : start + self._max_batch]]
            col.delete(where={"post_id": {"$in": ids}})

    def query(self, collection: str, vector: Vectors, n: int) -> list[ChunkMatch]:
        """Return the chunks nearest to ``vector``."""
        col = self._collection(collection, create=False)
        if col is None:
            return []
        total = col.count()
        if not total:
            return []
        if total <= self._exact_limit:
            return self._exact_query(collection, col, total, vector, n)
        result = col.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=min(n, total),
            include=["metadatas", "documents", "distances"],
        )
        return [
            ChunkMatch(int(meta["post_id"]), int(meta["chunk"]), str(doc or ""), 1.0 - float(dist))
            for meta, doc, dist in zip(
                result["metadatas"][0], result["documents"][0], result["distances"][0], strict=True
            )
        ]

    def _exact_query(
        self, name: str, col: Any, total: int, vector: Vectors, n: int
    ) -> list[ChunkMatch]:
        """Cosine similarity against every chunk: exact, and the same ranks on every run.

        HNSW is approximate and depends on insertion order; for a channel of a few
        thousand posts a full scan costs milliseconds and buys reproducible results.
        """
        cached = self._exact.get(name)
        if cached is None or cached[0] != total:
            cached = self._load_exact(col, total)
            self._exact[name] = cached
        _, matrix, metas, docs = cached
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        query = query / (np.linalg.norm(query) or 1.0)
        sims = matrix @ query
        top = min(n, len(sims))
        # Ties broken by position (the chunks' id order), so equal scores never swap.
        order = np.lexsort((np.arange(len(sims)), -sims))[:top]
        return [
            ChunkMatch(int(metas[i]["post_id"]), int(metas[i]["chunk"]), docs[i], float(sims[i]))
            for i in order
        ]

    def _load_exact(self, col: Any, total: int) -> tuple[int, Any, list[Any], list[str]]:
        ids: list[str] = []
        vectors: list[Any] = []
        metas: list[Any] = []
        docs: list[str] = []
        for offset in range(0, total, self._max_batch):
            part = col.get(
                include=["embeddings", "metadatas", "documents"],
                limit=self._max_batch,
                offset=offset,
            )
            ids.extend(part["ids"])
            vectors.extend(part["embeddings"])
            metas.extend(part["metadatas"])
            docs.extend(str(d or "") for d in part["documents"])
        order = sorted(range(len(ids)), key=ids.__getitem__)
        matrix = np.asarray([vectors[i] for i in order], dtype=np.float32).reshape(len(ids), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit = (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        return total, unit, [metas[i] for i in order], [docs[i] for i in order]

    def count(self, collection: str) -> int:
        """Return the number of chunks in the collection."""
        col = self._collection(collection, create=False)
        return int(col.count()) if col is not None else 0

    def post_ids(self, collection: str) -> list[int]:
        """Return the post id of every stored chunk, sorted."""
        col = self._collection(collection, create=False)
        if col is None:
            return []
        ids: list[int] = []
        for offset in range(0, col.count(), self._max_batch):
            part = col.get(include=["metadatas"], limit=self._max_batch, offset=offset)
            ids.extend(int(meta["post_id"]) for meta in part["metadatas"])
        return sorted(ids)

    def drop(self, collection: str) -> None:
        """Delete the collection if it exists."""
        self._collections.pop(collection, None)
        self._exact.pop(collection, None)
        try:
            self._client.delete_collection(collection)
        except Exception:  # pylint: disable=broad-exception-caught
            pass  # nothing to drop
