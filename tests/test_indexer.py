"""Indexing exports: updates, idempotence, interruption, errors."""

from __future__ import annotations

import shutil

import pytest
from conftest import CHANNEL_ID, NEWS, message, service

from postfinder.app import App
from postfinder.embeddings.fake import FakeEmbedder
from postfinder.errors import EmbedderMismatchError, ExportError
from postfinder.store.vectors import MemoryVectorStore


def test_index_then_reindex_adds_updates_and_never_duplicates(app: App, write_export) -> None:
    path = write_export()
    first = app.indexer().index_export(path, progress=False)
    assert (first.added, first.updated, first.unchanged) == (len(NEWS), 0, 0)
    channel = app.catalog.get(CHANNEL_ID)
    chunks_before = app.vectors.count(channel.collection)

    again = app.indexer().index_export(path, progress=False)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, len(NEWS), 0)
    assert app.vectors.count(channel.collection) == chunks_before

    messages = [service(1)] + [message(i + 2, t) for i, t in enumerate(NEWS)]
    messages[1] = message(2, "Метро: станцию Лесная откроют 8 марта.", edited_unixtime="1700099999")
    messages.append(message(50, "Новый пост про велодорожки на набережной."))
    newer = app.indexer().index_export(write_export(messages), progress=False)
    assert (newer.added, newer.updated, newer.unchanged) == (1, 1, len(NEWS) - 1)
    assert channel.docs.count() == len(NEWS) + 1
    assert app.vectors.count(channel.collection) == chunks_before + 1
    hits = app.retriever().search("велодорожки набережная", k=1).hits
    assert hits[0].post_id == 50
    assert "8 марта" in channel.docs.get([2])[2].text


def test_malformed_export_leaves_index_untouched(app: App, write_export) -> None:
    app.indexer().index_export(write_export(), progress=False)
    channel = app.catalog.get(CHANNEL_ID)
    before = (
        channel.docs.count(),
        channel.docs.fingerprint(),
        app.vectors.count(channel.collection),
    )
    broken = write_export(name="broken.json")
    broken.write_text(broken.read_text(encoding="utf-8")[:-30] + "]]}", encoding="utf-8")
    with pytest.raises(ExportError):
        app.indexer().index_export(broken, progress=False)
    after = (
        channel.docs.count(),
        channel.docs.fingerprint(),
        app.vectors.count(channel.collection),
    )
    assert after == before


class ExplodingEmbedder(FakeEmbedder):
    """Fails on the n-th passage batch, like a process killed mid-run."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__(dim=64)
        self.fail_on_call = fail_on_call

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        if len(self.calls) + 1 == self.fail_on_call:
            self.calls.append(("boom", []))
            raise KeyboardInterrupt
        return super().embed_passages(texts)


def test_interrupted_run_is_completed_by_rerun(make_app, write_export) -> None:
    store = MemoryVectorStore()
    path = write_export([message(i, f"пост номер {i} про разное {i * 7}") for i in range(1, 101)])
    broken = make_app(embedder=ExplodingEmbedder(fail_on_call=2), vectors=store)
    indexer = broken.indexer()
    indexer.batch_size = indexer.bulk_batch_size = 30
    with pytest.raises(KeyboardInterrupt):
        indexer.index_export(path, progress=False)
    channel = broken.catalog.get(CHANNEL_ID)
    assert channel.docs.count() == 60  # first batch embedded, second waiting for vectors
    assert channel.docs.unfinished() == (list(range(31, 61)), [])
    broken.close()

    healthy = make_app(vectors=store)
    report = healthy.indexer().index_export(path, progress=False)
    assert (report.added, report.unchanged) == (40, 60)  # the waiting batch healed first
    assert store.count(healthy.catalog.get(CHANNEL_ID).collection) == 100


def test_query_with_another_embedder_is_refused(app: App, make_app, write_export) -> None:
    app.indexer().index_export(write_export(), progress=False)
    other = make_app(embedder=FakeEmbedder(dim=32), vectors=app.vectors)
    with pytest.raises(EmbedderMismatchError, match="postfinder reembed --channel"):
        other.retriever()
    with pytest.raises(EmbedderMismatchError):
        other.indexer().index_export(write_export(), progress=False)
    channel = other.catalog.get(CHANNEL_ID)
    chunks = other.indexer().reembed(channel, progress=False)
    assert chunks == len(NEWS)
    assert other.retriever().search("загранпаспорт", k=1).hits[0].post_id == 3


def test_bm25_index_is_rebuilt_when_missing(app: App, make_app, write_export) -> None:
    app.indexer().index_export(write_export(), progress=False)
    channel = app.catalog.get(CHANNEL_ID)
    shutil.rmtree(channel.directory / "bm25")
    fresh = make_app(embedder=app.embedder, vectors=app.vectors)
    hits = fresh.retriever().search("загранпаспорт", mode="bm25").hits
    assert hits[0].post_id == 3
    assert (channel.directory / "bm25").is_dir()


def test_posts_missing_from_a_newer_export_are_removed_everywhere(app, write_export) -> None:

    first = write_export()
    app.indexer().index_export(first, username="testchan", progress=False)
    newer = [service(1)] + [message(i + 2, t) for i, t in enumerate(NEWS) if i + 2 != 3]
    report = app.indexer().index_export(write_export(newer, name="b.json"), progress=False)
    assert report.removed == 1
    retriever = app.retriever(None)
    for mode in ("bm25", "dense", "hybrid"):
        hits = retriever.search("загранпаспорт пошлина", k=10, mode=mode).hits  # type: ignore[arg-type]
        assert 3 not in [h.post_id for h in hits], mode
    assert app.catalog.get(CHANNEL_ID).vectors.count(retriever.channel.collection) == 5
    # A partial export (only the newest posts) removes nothing older than its range.
    partial = [message(7, NEWS[5])]
    report = app.indexer().index_export(write_export(partial, name="c.json"), progress=False)
    assert report.removed == 0 and retriever.channel.docs.count() == 5
    ends = write_export([message(2, NEWS[0]), message(7, NEWS[5])], name="d.json")
    kept = app.indexer().index_export(ends, progress=False, keep_missing=True)
    assert kept.removed == 0 and retriever.channel.docs.count() == 5
    assert app.indexer().index_export(ends, progress=False).removed == 3
