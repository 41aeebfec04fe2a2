"""Hybrid retrieval and fusion."""

from __future__ import annotations

from conftest import message

from postfinder.app import App
from postfinder.retrieval import convex_fuse, make_snippet, minmax, rrf_fuse


def test_rrf_fuse_scores() -> None:
    fused = rrf_fuse([[1, 2, 3], [3, 1]], k=60)
    assert [doc for doc, _ in fused] == [1, 3, 2]
    assert fused[0][1] == 1 / 61 + 1 / 62
    assert fused[2][1] == 1 / 62


def test_convex_fuse_keeps_score_gaps() -> None:
    assert minmax({1: 2.0, 2: 4.0, 3: 3.0}) == {1: 0.0, 2: 1.0, 3: 0.5}
    assert minmax({7: 0.3}) == {7: 1.0}
    dense = {1: 0.90, 2: 0.89, 3: 0.50}
    lexical = {2: 30.0, 4: 3.0, 1: 2.0}
    fused = convex_fuse(dense, lexical, 0.5)
    assert [doc for doc, _ in fused] == [2, 1, 4, 3]
    assert fused[0][1] == 0.5 * (0.39 / 0.40) + 0.5 * 1.0
    assert [doc for doc, _ in convex_fuse({}, lexical, 0.5)] == [2, 4, 1]


def test_rrf_setting_is_honoured(app: App, write_export) -> None:
    app.indexer().index_export(write_export(), progress=False)
    app.settings.retrieval.fusion = "rrf"
    hits = app.retriever().search("продлить загранпаспорт пошлина", k=2).hits
    assert hits[0].post_id == 3 and hits[0].score == 2 / (app.settings.retrieval.rrf_k + 1)


def test_snippet_cut_at_word() -> None:
    assert make_snippet("a  b\n c", 10) == "a b c"
    assert make_snippet("alpha beta gamma delta", 12) == "alpha beta…"


def test_modes_and_component_scores(app: App, write_export) -> None:
    app.indexer().index_export(write_export(), progress=False)
    retriever = app.retriever()
    hybrid = retriever.search("продлить загранпаспорт пошлина", k=3)
    top = hybrid.hits[0]
    assert top.post_id == 3 and top.link == "https://t.me/c/1700000001/3"  # no username
    assert top.dense_rank == 1 and top.bm25_rank == 1 and top.bm25_score and top.dense_similarity
    assert set(hybrid.timings_ms) == {"embed_ms", "vector_ms", "bm25_ms", "fusion_ms"}
    bm25 = retriever.search("продлить загранпаспорт", mode="bm25")
    assert all(h.dense_rank is None for h in bm25.hits) and bm25.hits[0].post_id == 3
    dense = retriever.search("продлить загранпаспорт", mode="dense")
    assert all(h.bm25_rank is None for h in dense.hits)


def test_long_post_is_one_hit(app: App, write_export) -> None:
    long_text = " ".join(f"Абзац {i}: правила парковки у дома номер {i}." for i in range(200))
    path = write_export([message(2, long_text), message(3, "Про парковку коротко.")])
    report = app.indexer().index_export(path, progress=False)
    assert report.chunks > 3
    hits = app.retriever().search("правила парковки", k=10).hits
    assert sorted(h.post_id for h in hits) == [2, 3]


def test_username_gives_public_links(app: App, write_export) -> None:
    app.indexer().index_export(write_export(), username="@city_news", progress=False)
    hit = app.retriever("@city_news").search("метро", k=1).hits[0]
    assert (hit.post_id, hit.link) == (2, "https://t.me/city_news/2")
