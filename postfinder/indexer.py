"""Indexing: exports and live posts go through the same path into one channel index."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from postfinder.channels import Catalog, Channel
from postfinder.chunking import Chunker
from postfinder.embeddings.base import Embedder
from postfinder.ingest.discord_export import DiscordExport, is_discord_export
from postfinder.ingest.post import Post
from postfinder.ingest.telegram_export import ChatInfo, TelegramExport, check_chat_kind
from postfinder.progress import Progress


@dataclass(frozen=True)
class IndexReport:
    """What an indexing run did."""

    channel_id: int
    channel_name: str
    posts_in_export: int
    added: int
    updated: int
    unchanged: int
    chunks: int
    seconds: float
    removed: int = 0

    @property
    def embedded_per_second(self) -> float:
        """Chunks embedded and stored per second of wall time."""
        return self.chunks / self.seconds if self.seconds > 0 else 0.0


class Indexer:
    """Adds posts to channels: chunk, embed, store vectors, record posts, refresh BM25.

    Parameters
    ----------
    catalog
        The indexed channels.
    embedder
        Embedder for passages.
    chunker
        Splits long posts.
    batch_size
        Posts embedded and committed together by steps that share a queue with
        members' questions (live posts, exports handed to the bot).
    bulk_batch_size
        Posts committed together by `index_export`: each vector store write has a fixed
        cost, so large batches index a big channel twice as fast. Nothing is lost when a
        run is interrupted, whatever the size: rows wait as pending for the next run.
    """

    def __init__(
        self,
        catalog: Catalog,
        embedder: Embedder,
        chunker: Chunker,
        batch_size: int = 32,
        bulk_batch_size: int = 256,
    ) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.chunker = chunker
        self.batch_size = batch_size
        self.bulk_batch_size = max(bulk_batch_size, batch_size)

    def open_channel(self, chat: ChatInfo, username: str | None = None) -> Channel:
        """Open (or create) the channel for ``chat``, checking the embedder matches."""
        channel = self.catalog.get(chat.id, create=True)
        channel.check_embedder(self.embedder.name, self.embedder.dim)
        meta = {
            "name": chat.name,
            "type": chat.type,
            "embedder": self.embedder.name,
            "dim": str(self.embedder.dim),
        }
        if username:
            meta["username"] = username.lstrip("@")
        if chat.link_prefix:
            meta["link_prefix"] = chat.link_prefix
        channel.set_meta(**meta)
        return channel

    def index_export(
        self,
        path: Path,
        chat: str | None = None,
        username: str | None = None,
        progress: bool = True,
        keep_missing: bool = False,
        allow_non_channel: bool = False,
    ) -> IndexReport:
        """Index a Telegram Desktop or DiscordChatExporter export: add new posts, update edited.

        The whole export is read and validated before anything is written, so a
        malformed file leaves the index untouched. Posts are committed in batches, and
        a post counts as indexed only once its vectors are stored: an interrupted run
        can simply be repeated.

        Parameters
        ----------
        path
            ``result.json`` or its folder, or a DiscordChatExporter ``.json`` (told apart by
            content).
        chat
            Chat id or name for full-account exports.
        username
            Public username of the channel, for ``t.me/<username>/<id>`` links.
        progress
            Show a progress bar on stderr.
        allow_non_channel
            Also index personal chats, private groups and saved messages.
        keep_missing
            Keep indexed posts that the export lacks within its range of post ids.
            By default they are removed: the owner deleted them (the Bot API sends no
            event for deletions, so a newer export is how PostFinder learns of them).

        Returns
        -------
        IndexReport
            Counts and timing.
        """
        steps = self.index_steps(
            path, chat, username, keep_missing, allow_non_channel, self.bulk_batch_size
        )
        with Progress("Indexing", unit="posts", disable=not progress) as progress_bar:
            while True:
                try:
                    done, total = next(steps)
                except StopIteration as finished:
                    report: IndexReport = finished.value
                    return report
                progress_bar.set(done, total)

    def index_steps(
        self,
        path: Path,
        chat: str | None = None,
        username: str | None = None,
        keep_missing: bool = False,
        allow_non_channel: bool = False,
        batch_size: int | None = None,
    ) -> Generator[tuple[int, int], None, IndexReport]:
        """Index an export one batch at a time (see `index_export`).

        Yields ``(posts done, posts to do)`` after validation and after each batch of
        ``batch_size`` posts (default: the indexer's), so a running bot can interleave
        members' questions with an update; the generator's return value is the
        `IndexReport`.
        """
        batch_size = batch_size or self.batch_size
        started = time.perf_counter()
        export: TelegramExport | DiscordExport = (
            DiscordExport(path) if is_discord_export(path) else TelegramExport(path)
        )
        info = export.select_chat(chat)
        check_chat_kind(info, allow_non_channel)
        # First pass: validate the whole file and learn what changed, writing nothing.
        new_hashes = {post.id: post.content_hash for post in export.iter_posts(info)}
        channel = self.open_channel(info, username)
        self.heal(channel)
        stored = channel.hashes()
        todo = {pid for pid, digest in new_hashes.items() if stored.get(pid) != digest}
        updated = sum(1 for pid in todo if pid in stored)
        chunks = done = 0
        yield done, len(todo)
        batch: dict[int, Post] = {}
        for post in export.iter_posts(info):
            if post.id not in todo:
                continue
            batch[post.id] = post
            if len(batch) >= batch_size:
                chunks += self.add_posts(channel, batch.values(), refresh_lexical=False)
                done += len(batch)
                batch = {}
                yield done, len(todo)
        if batch:
            chunks += self.add_posts(channel, batch.values(), refresh_lexical=False)
            done += len(batch)
            yield done, len(todo)
        removed = 0
        if new_hashes and not keep_missing:
            low, high = min(new_hashes), max(new_hashes)
            missing = [p for p in channel.post_ids() if low <= p <= high and p not in new_hashes]
            removed = self.remove_posts(channel, missing, refresh_lexical=False)
        posts_in_export, changed = len(new_hashes), len(todo)
        del new_hashes, stored, todo  # a big export's tables: not kept through the BM25 build
        if changed or removed or not (channel.directory / "bm25").is_dir():
            channel.rebuild_lexical()
        channel.touch()
        return IndexReport(
            channel_id=info.id,
            channel_name=info.name,
            posts_in_export=posts_in_export,
            added=changed - updated,
            updated=updated,
            unchanged=posts_in_export - changed,
            chunks=chunks,
            seconds=time.perf_counter() - started,
            removed=removed,
        )

    def add_posts(
        self, channel: Channel, posts: Iterable[Post], refresh_lexical: bool = True
    ) -> int:
        """Embed and store posts (new or edited), replacing their previous chunks.

        Parameters
        ----------
        channel
            Target channel.
        posts
            Posts to add; a post with a known id replaces the stored one.
        refresh_lexical
            Rebuild the BM25 index afterwards (live posts); bulk runs do it once at the end.

        Returns
        -------
        int
            Number of chunks stored.
        """
        posts = list({p.id: p for p in posts}.values())
        if not posts:
            return 0
        chunked = [(post, self.chunker.split(post.search_text)) for post in posts]
        chunks = channel.add(chunked, self.embedder.embed_passages)
        if refresh_lexical:
            channel.rebuild_lexical()
            channel.touch()
        return chunks

    def stage(self, channel: Channel, posts: Iterable[Post]) -> None:
        """Record live posts as pending at once, before they wait for the work queue.

        A connection of its own, so the event loop never shares one with the worker
        thread; if the process dies before the posts are embedded, the next start
        (`heal`) embeds them, so a received post is never lost.
        """
        channel.stage([(post, len(self.chunker.split(post.search_text))) for post in posts])

    def remove_posts(
        self, channel: Channel, post_ids: Iterable[int], refresh_lexical: bool = True
    ) -> int:
        """Remove posts from every store of the channel: vectors, documents, BM25.

        The rows are hidden and flagged first, then their vectors go, then the rows:
        a crash in between leaves flagged rows that no search shows and the next run
        (or `heal`) finishes removing.

        Returns
        -------
        int
            Number of posts that were stored.
        """
        ids = sorted(set(post_ids))
        if not ids:
            return 0
        removed = channel.remove(ids)
        if refresh_lexical:
            channel.rebuild_lexical()
            channel.touch()
        return removed

    def heal(self, channel: Channel) -> tuple[int, int]:
        """Finish what an interrupted writer left: embed pending posts, drop removed ones.

        Returns
        -------
        tuple of int
            Posts re-embedded and posts removed.
        """
        pending, removing = channel.unfinished()
        channel.finish_removals(removing)
        if pending:
            posts = list(channel.posts(pending).values())
            for start in range(0, len(posts), self.batch_size):
                self.add_posts(channel, posts[start : start + self.batch_size], False)
        return len(pending), len(removing)

    def repair(self, channel: Channel, progress: bool = True) -> int:
        """Rebuild the channel's vectors and BM25 index from its post table.

        Returns
        -------
        int
            Number of chunks stored.
        """
        # Everything is re-embedded below (reembed also finishes pending removals).
        channel.reset_vectors()
        chunks = self.reembed(channel, progress)
        channel.rebuild_lexical()
        return chunks

    def reembed(self, channel: Channel, progress: bool = True) -> int:
        """Recompute every vector of a channel with the configured embedder.

        Safe to interrupt: posts still waiting for vectors are picked up by the next run.

        Returns
        -------
        int
            Number of chunks stored.
        """
        meta = channel.meta
        if meta.get("embedder") != self.embedder.name or meta.get("dim") != str(self.embedder.dim):
            channel.reset_vectors()
            channel.set_meta(embedder=self.embedder.name, dim=str(self.embedder.dim))
        channel.finish_removals(channel.unfinished()[1])
        pending: Sequence[Post] = channel.unembedded()
        chunks = 0
        with Progress(
            "Re-embedding", total=len(pending), unit="posts", disable=not progress
        ) as progress_bar:
            for start in range(0, len(pending), self.batch_size):
                part = pending[start : start + self.batch_size]
                chunks += self.add_posts(channel, part, refresh_lexical=False)
                progress_bar.update(len(part))
        channel.touch()
        return chunks
