"""Stores agree after interrupted writes: pending rows heal, removals finish, repair rebuilds."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from conftest import CHANNEL_ID, message
from typer.testing import CliRunner

from postfinder.app import App
from postfinder.channel_bm25 import ChannelBM25
from postfinder.channels import Channel
from postfinder.cli import cli
from postfinder.embeddings.base import Vectors
from postfinder.health import channel_problems
from postfinder.ingest.post import Post
from postfinder.store.vectors import ChunkRecord, MemoryVectorStore

runner = CliRunner()


class FailingStore(MemoryVectorStore):
    """A vector store that dies on the n-th add or delete, like a process killed there."""

    def __init__(self, fail_add: int = 0, fail_delete: int = 0) -> None:
        super().__init__()
        self.fail_add, self.fail_delete = fail_add, fail_delete
        self.adds = self.deletes = 0

    def add(self, collection: str, records: Sequence[ChunkRecord], vectors: Vectors) -> None:
        """Store chunks, or die."""
        self.adds += 1
        if self.adds == self.fail_add:
            super().add(collection, records[:1], vectors[:1])  # half written
            raise KeyboardInterrupt
        super().add(collection, records, vectors)

    def delete_posts(self, collection: str, post_ids: Sequence[int]) -> None:
        """Delete chunks, or die."""
        self.deletes += 1
        if self.deletes == self.fail_delete:
            raise KeyboardInterrupt
        super().delete_posts(collection, post_ids)


def stores(channel: Channel) -> tuple[list[int], list[int], list[int]]:
    """Post ids in the post table, in the vector store (one per post) and in BM25."""
    vectors = sorted(set(channel.vectors.post_ids(channel.collection)))
    return channel.docs.ids(), vectors, sorted(channel.lexical().doc_ids.tolist())


POSTS = [message(i, f"пост номер {i} о теме {i % 7} и подробностях {i * 13}") for i in range(1, 41)]


def test_write_interrupted_between_rows_and_vectors_heals_on_rerun(make_app, write_export) -> None:
    path = write_export(POSTS)
    store = FailingStore(fail_add=2)
    broken = make_app(vectors=store)
    indexer = broken.indexer()
    indexer.batch_size = indexer.bulk_batch_size = 10
    with pytest.raises(KeyboardInterrupt):
        indexer.index_export(path, progress=False)
    channel = broken.catalog.get(CHANNEL_ID)
    assert channel.docs.unfinished() == (list(range(11, 21)), [])
    assert any("10 posts wait for vectors" in p for p in channel_problems(channel, broken.embedder))
    broken.close()

    healthy = make_app(vectors=store)
    report = healthy.indexer().index_export(path, progress=False)
    channel = healthy.catalog.get(CHANNEL_ID)
    # The 10 pending posts are healed first; the 20 never written are added.
    assert (report.added, report.unchanged) == (20, 20)
    docs, vectors, bm25 = stores(channel)
    assert docs == vectors == bm25 == list(range(1, 41))
    assert len(channel.vectors.post_ids(channel.collection)) == 40  # no duplicate chunks
    assert channel_problems(channel, healthy.embedder) == []


def test_interrupted_removal_hides_the_post_and_finishes_later(make_app, write_export) -> None:
    store = FailingStore(fail_delete=2)  # the first delete is the indexing batch's
    app = make_app(vectors=store)
    indexer = app.indexer()
    indexer.batch_size = indexer.bulk_batch_size = 100
    indexer.index_export(write_export(POSTS), progress=False)
    channel = app.catalog.get(CHANNEL_ID)
    with pytest.raises(KeyboardInterrupt):
        indexer.remove_posts(channel, [5])
    # Hidden at once from every read, although its vectors are still stored.
    assert channel.docs.get([5]) == {} and 5 not in channel.docs.ids()
    assert 5 not in [hit.post_id for hit in app.retriever().search("пост номер 5", k=40).hits]
    assert channel.docs.unfinished() == ([], [5])
    assert indexer.heal(channel) == (0, 1)
    docs, vectors, bm25 = stores(channel)
    assert 5 not in docs and docs == vectors == bm25


def test_repair_rebuilds_lost_vectors(app: App, write_export) -> None:
    app.indexer().index_export(write_export(POSTS), progress=False)
    channel = app.catalog.get(CHANNEL_ID)
    channel.vectors.drop(channel.collection)  # a damaged or deleted vector database
    problems = channel_problems(channel, app.embedder)
    assert problems[0] == (
        "the vector store holds 0 chunks, the post table expects 40; "
        "run 'postfinder repair' (with the bot stopped)"
    )
    assert app.indexer().repair(channel, progress=False) == 40
    assert channel_problems(channel, app.embedder) == []


def test_health_and_repair_commands(write_export, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTFINDER_EMBEDDING__MODE", "fake")
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "none")
    assert runner.invoke(cli, ["index", str(write_export(POSTS))]).exit_code == 0
    result = runner.invoke(cli, ["health"])
    assert (result.exit_code, result.stdout) == (0, "ok: 1 channel(s)\n")
    # Each command is a process of its own; here they share Chroma's client cache.
    SharedSystemClient.clear_system_cache()
    result = runner.invoke(cli, ["repair", "--reset-vectors"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        f"Channel {CHANNEL_ID}: 40 posts, 40 chunks embedded with fake-64, BM25 rebuilt."
    )
    assert runner.invoke(cli, ["health"]).exit_code == 0
    result = runner.invoke(cli, ["repair", "--reset-vectors", "--channel", str(CHANNEL_ID)])
    assert result.exit_code == 1 and "leave out --channel" in result.stderr


def test_heartbeat_only_health_needs_no_index(isolated_state) -> None:
    result = runner.invoke(cli, ["health", "--heartbeat-only", "--max-age", "60"])
    assert result.exit_code == 1
    assert "heartbeat is missing or older than 60 s" in result.stderr
    isolated_state.mkdir(parents=True)
    (isolated_state / "bot.heartbeat").write_text(str(time.time()), encoding="utf-8")
    result = runner.invoke(cli, ["health", "--heartbeat-only", "--max-age", "60"])
    assert (result.exit_code, result.stdout) == (0, "ok: the bot is alive\n")


def test_live_post_rebuilds_bm25_in_the_background(
    app: App, write_export, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.indexer().index_export(write_export(POSTS), progress=False)
    channel = app.catalog.get(CHANNEL_ID)
    channel.lexical()
    gate = threading.Event()
    original = ChannelBM25.rebuild

    def slow_rebuild(self: ChannelBM25, fingerprint: str | None = None) -> object:
        gate.wait(10)  # a big channel: the rebuild takes a while
        return original(self, fingerprint)

    monkeypatch.setattr(ChannelBM25, "rebuild", slow_rebuild)
    live = Post(channel_id=CHANNEL_ID, id=99, date=1_700_100_000, text="электрички отменены")
    app.indexer().add_posts(channel, [live], refresh_lexical=False)
    channel.refresh_lexical_soon()
    started = time.perf_counter()
    bm25 = app.retriever().search("электрички отменены", mode="bm25")
    assert time.perf_counter() - started < 2  # answered with the previous index
    assert 99 not in [hit.post_id for hit in bm25.hits]
    dense = app.retriever().search("электрички отменены", mode="dense")
    assert dense.hits[0].post_id == 99  # found meanwhile by meaning
    gate.set()
    assert channel.wait_for_refresh(10)
    bm25 = app.retriever().search("электрички отменены", mode="bm25")
    assert [hit.post_id for hit in bm25.hits] == [99]
    assert channel.lexical() is channel.lexical()  # no further rebuild
