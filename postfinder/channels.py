"""Indexed channels: each one's posts, vectors and BM25 index behind one object."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from postfinder.channel_bm25 import ChannelBM25
from postfinder.embeddings.base import Vectors
from postfinder.errors import ChannelNotFoundError, EmbedderMismatchError
from postfinder.ingest.post import Post, post_link
from postfinder.lexical.bm25 import BM25Index
from postfinder.lexical.tokenize import Tokenizer
from postfinder.settings import Settings
from postfinder.store.documents import DocumentStore
from postfinder.store.vectors import ChunkMatch, ChunkRecord, VectorStore

DB_FILE = "posts.sqlite3"
REFUSAL_FILE = "refusal.json"


@dataclass(frozen=True)
class ChannelInfo:
    """Summary of an indexed channel."""

    id: int
    name: str
    username: str
    posts: int
    embedder: str
    dim: int
    language: str
    updated: str
    calibration: str


class Channel:
    """One indexed channel.

    Parameters
    ----------
    channel_id
        Numeric channel id.
    directory
        Directory with the channel's post database and BM25 index.
    vectors
        Shared vector store.
    settings
        Application settings (BM25 parameters).
    """

    def __init__(
        self, channel_id: int, directory: Path, vectors: VectorStore, settings: Settings
    ) -> None:
        self.id = channel_id
        self.directory = directory
        self.vectors = vectors
        self.settings = settings
        self.docs = DocumentStore(directory / DB_FILE, channel_id)
        self.bm25 = ChannelBM25(self.docs, directory, settings.lexical)

    @property
    def collection(self) -> str:
        """Name of the channel's vector collection."""
        return f"postfinder_channel_{self.id}"

    @property
    def meta(self) -> dict[str, str]:
        """Stored metadata of the channel."""
        return self.docs.get_meta()

    def link(self, post_id: int) -> str:
        """Return the link of one of the channel's posts (t.me, or the platform's own)."""
        meta = self.meta
        if meta.get("link_prefix"):
            return f"{meta['link_prefix']}/{post_id}"
        return post_link(self.id, post_id, meta.get("username") or None)

    def info(self) -> ChannelInfo:
        """Return a summary of the channel."""
        meta = self.meta
        return ChannelInfo(
            id=self.id,
            name=meta.get("name", ""),
            username=meta.get("username", ""),
            posts=self.docs.count(),
            embedder=meta.get("embedder", ""),
            dim=int(meta.get("dim", "0")),
            language=meta.get("languages") or meta.get("language", ""),
            updated=meta.get("updated", ""),
            calibration=self.calibration(),
        )

    def calibration(self) -> str:
        """How the channel's refusal decision was fitted, in one line."""
        path = self.directory / REFUSAL_FILE
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            return f"{stored.get('method', 'labelled')}: {stored.get('fitted_on', '')}"
        except FileNotFoundError:
            return "shipped (one benchmark channel); run 'postfinder calibrate --auto'"
        except (OSError, ValueError, AttributeError) as exc:
            return f"unreadable {path} ({exc}); run 'postfinder calibrate --auto'"

    def check_embedder(self, name: str, dim: int) -> None:
        """Raise `EmbedderMismatchError` unless the channel was built with this embedder."""
        meta = self.meta
        stored = meta.get("embedder")
        if stored and (stored != name or int(meta.get("dim", "0")) != dim):
            raise EmbedderMismatchError(
                f"Channel {self.id} was indexed with embedder {stored} (dim {meta.get('dim')}), "
                f"but the configured embedder is {name} (dim {dim}). Either configure the "
                f"original embedder again, or re-embed the channel with the new one: "
                f"postfinder reembed --channel {self.id}"
            )

    # -- posts and vectors: what callers use instead of the stores ----------------------
    def posts(self, post_ids: Iterable[int]) -> dict[int, Post]:
        """The stored posts with these ids (removed and unknown ones left out)."""
        return self.docs.get(post_ids)

    def has_post(self, post_id: int) -> bool:
        """Whether the post has a row in any state (so may have vectors)."""
        return bool(self.docs.present([post_id]))

    def post_count(self) -> int:
        """The number of searchable posts."""
        return self.docs.count()

    def neighbours(self, post_id: int, span: int) -> list[int]:
        """Ids of up to ``span`` posts before and after ``post_id`` (a comment thread's context)."""
        return self.docs.around(post_id, span)

    def dense(self, vector: Vectors, n: int) -> list[ChunkMatch]:
        """The ``n`` chunks nearest to a query vector."""
        return self.vectors.query(self.collection, vector, n)

    def vector_count(self) -> int:
        """The number of chunks the vector store holds for this channel."""
        return self.vectors.count(self.collection)

    def store_vectors(
        self, records: Sequence[ChunkRecord], vectors: Vectors, replacing: Sequence[int] = ()
    ) -> None:
        """Store chunk vectors, first dropping those of the posts in ``replacing``."""
        self.vectors.delete_posts(self.collection, replacing)
        self.vectors.add(self.collection, records, vectors)

    def drop_vectors(self, post_ids: Sequence[int] | None = None) -> None:
        """Drop the vectors of these posts, or (None) the channel's whole collection."""
        if post_ids is None:
            self.vectors.drop(self.collection)
        else:
            self.vectors.delete_posts(self.collection, post_ids)

    # -- writes, each in crash-safe order (the indexer's only way in) ------------------
    def add(
        self,
        chunked: Sequence[tuple[Post, Sequence[str]]],
        embed: Callable[[list[str]], Vectors],
    ) -> int:
        """Store posts (new or edited) with their chunks' vectors; return the chunk count.

        Order matters for crash safety: rows are marked pending, then their vectors are
        replaced, then the rows are marked embedded. Vectors are only ever written for
        pending rows, so an interrupted run heals on the next one (`unfinished`).
        """
        ids = [post.id for post, _ in chunked]
        stored = self.docs.present(ids)  # only these can have vectors to replace
        self.docs.upsert([(post, len(pieces)) for post, pieces in chunked])
        records = [
            ChunkRecord(post.id, i, piece)
            for post, pieces in chunked
            for i, piece in enumerate(pieces)
        ]
        vectors = embed([r.text for r in records])
        self.store_vectors(records, vectors, replacing=stored)
        self.docs.mark_embedded(ids)
        return len(records)

    def stage(self, counts: Sequence[tuple[Post, int]]) -> None:
        """Record posts as pending (to embed) on a connection of its own.

        For the bot's event loop, which must never share a connection with the worker
        thread; a crash before they are embedded leaves them for `unfinished`.
        """
        docs = DocumentStore(self.docs.path, self.id)
        try:
            docs.upsert(counts)
        finally:
            docs.close()

    def remove(self, post_ids: Sequence[int]) -> int:
        """Remove posts from the post table and the vectors; return how many were stored.

        The rows are hidden and flagged first, then their vectors go, then the rows: a
        crash in between leaves flagged rows that no search shows, finished by
        `finish_removals`.
        """
        removed = self.docs.mark_removing(post_ids)
        self.drop_vectors(post_ids)
        self.docs.delete(post_ids)
        return removed

    def unfinished(self) -> tuple[list[int], list[int]]:
        """Posts an interrupted writer left: waiting for vectors, and waiting for removal."""
        return self.docs.unfinished()

    def finish_removals(self, post_ids: Sequence[int]) -> None:
        """Finish removing posts flagged by an interrupted `remove`."""
        if post_ids:
            self.drop_vectors(post_ids)
            self.docs.delete(post_ids)

    def reset_vectors(self) -> None:
        """Drop every vector and mark every post as waiting for new ones."""
        self.docs.mark_all_unembedded()
        self.drop_vectors()

    def unembedded(self) -> list[Post]:
        """The posts waiting for vectors."""
        return list(self.docs.iter_posts(only_unembedded=True))

    def hashes(self) -> dict[int, str]:
        """Content hash of every stored post, by id (what an export is compared with)."""
        return self.docs.hashes()

    def expected_chunks(self) -> int:
        """How many chunk vectors the post table says the vector store should hold."""
        return self.docs.chunk_total()

    def iter_posts(self) -> Iterator[Post]:
        """Every searchable post, by id."""
        return self.docs.iter_posts()

    def post_ids(self) -> list[int]:
        """Ids of the searchable posts."""
        return self.docs.ids()

    def set_meta(self, **values: str) -> None:
        """Store metadata (name, username, embedder, ...)."""
        self.docs.set_meta(**values)

    def touch(self) -> None:
        """Record the time of the last change."""
        self.docs.set_meta(updated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    # -- lexical index (postfinder.channel_bm25) ----------------------------------------
    def tokenizer(self) -> Tokenizer:
        """The channel's tokenizer (its posts' languages detected once)."""
        return self.bm25.tokenizer()

    def lexical(self) -> BM25Index:
        """The BM25 index, rebuilt first if missing or out of date (not during a refresh)."""
        return self.bm25.index()

    def rebuild_lexical(self) -> BM25Index:
        """Rebuild the BM25 index from the stored posts now, and save it."""
        return self.bm25.rebuild()

    def refresh_lexical_soon(self) -> None:
        """Rebuild the BM25 index in the background; searches use the previous one."""
        self.bm25.refresh_soon()

    def wait_for_refresh(self, timeout: float | None = None) -> bool:
        """Wait until no background rebuild runs; False on timeout."""
        return self.bm25.wait_for_refresh(timeout)

    def close(self) -> None:
        """Close the post database."""
        self.docs.close()


class Catalog:
    """All indexed channels under the data directory.

    Parameters
    ----------
    settings
        Application settings.
    vectors
        The vector store shared by all channels.
    """

    def __init__(self, settings: Settings, vectors: VectorStore) -> None:
        self.settings = settings
        self.vectors = vectors
        self._open: dict[int, Channel] = {}

    def ids(self) -> list[int]:
        """Return the ids of indexed channels."""
        root = self.settings.channels_dir
        if not root.is_dir():
            return []
        return sorted(
            int(p.name) for p in root.iterdir() if p.name.isdigit() and (p / DB_FILE).is_file()
        )

    def all(self) -> list[Channel]:
        """Open every indexed channel."""
        return [self.get(channel_id) for channel_id in self.ids()]

    def get(self, channel_id: int, create: bool = False) -> Channel:
        """Open a channel by id.

        Raises
        ------
        ChannelNotFoundError
            If it is not indexed and ``create`` is false.
        """
        if channel_id not in self._open:
            directory = self.settings.channels_dir / str(channel_id)
            if not create and not (directory / DB_FILE).is_file():
                raise ChannelNotFoundError(self._not_found(str(channel_id)))
            self._open[channel_id] = Channel(channel_id, directory, self.vectors, self.settings)
        return self._open[channel_id]

    def resolve(self, selector: str | None) -> Channel:
        """Find a channel by id, ``@username`` or name; optional when only one is indexed.

        Raises
        ------
        ChannelNotFoundError
            If nothing or more than one channel matches.
        """
        ids = self.ids()
        if not ids:
            raise ChannelNotFoundError(
                "No channel is indexed yet. Index a Telegram export first: "
                "postfinder index path/to/result.json"
            )
        if selector is None:
            if len(ids) == 1:
                return self.get(ids[0])
            raise ChannelNotFoundError(
                "Several channels are indexed; choose one with --channel:\n" + self._listing()
            )
        wanted = selector.strip().lstrip("@").removeprefix("-100").casefold()
        for cid in ids:
            meta = self.get(cid).meta
            names = {str(cid), meta.get("username", "").casefold(), meta.get("name", "").casefold()}
            if wanted in names:
                return self.get(cid)
        raise ChannelNotFoundError(self._not_found(selector))

    def _listing(self) -> str:
        return "\n".join(
            f"  {info.id}  {info.name}  ({info.posts} posts)"
            for info in (self.get(cid).info() for cid in self.ids())
        )

    def _not_found(self, selector: str) -> str:
        listing = self._listing() if self.ids() else "  (none)"
        return f"Channel {selector!r} is not indexed. Indexed channels:\n{listing}"

    def close(self) -> None:
        """Close every open channel."""
        for channel in self._open.values():
            channel.close()
        self._open.clear()
