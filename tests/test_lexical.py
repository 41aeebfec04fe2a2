"""Tokenisation and the BM25 index."""

from __future__ import annotations

import json
import math
import random
from array import array
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np
import pytest
from bm25s.tokenization import Tokenized
from conftest import CHANNEL_ID
from rank_bm25 import BM25Okapi

from postfinder.app import App
from postfinder.errors import ConfigError, StoreError
from postfinder.language import (
    CJK,
    LATIN_LANGUAGES,
    PERSIAN,
    SCRIPTS,
    SNOWBALL_NAMES,
    detect_language,
    language_code,
    main_latin_language,
    reply_language,
    snowball_name,
)
from postfinder.lexical.bm25 import FORMAT, META_FILE, BM25Index, _TokenRows
from postfinder.lexical.tokenize import Tokenizer, available_languages


def test_russian_words_are_stemmed() -> None:
    tok = Tokenizer()
    assert tok.tokenize("Новые станции метро") == tok.tokenize("новая станция метро")
    assert tok.tokenize("ёлка") == tok.tokenize("елка")


def test_latin_language_and_hashtags_and_urls() -> None:
    assert Tokenizer("english").tokenize("Running #Weather https://ex.org/a") == [
        "run",
        "weather",
        "https",
        "ex",
        "org",
        "a",
    ]
    assert Tokenizer("german").tokenize("Häuser")[0] == "haus"


def test_cjk_becomes_characters_and_bigrams() -> None:
    assert Tokenizer().tokenize("图书馆") == ["图", "书", "馆", "图书", "书馆"]


def test_main_latin_language() -> None:
    assert main_latin_language(["Der Hund und die Katze sind nicht da"]) == "de"
    assert main_latin_language(["Только кириллица"]) == "en"


def test_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Unknown stemmer language 'klingon'"):
        Tokenizer("klingon")


def _random_corpus(seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    common = ["и", "в", "на"]  # in most documents: negative Okapi idf
    vocab = [f"w{i}" for i in range(40)]
    return [
        rng.sample(common, 2) + [rng.choice(vocab) for _ in range(rng.randint(1, 15))]
        for _ in range(60)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ranks_exactly_like_rank_bm25(seed: int) -> None:
    corpus = _random_corpus(seed)
    reference = BM25Okapi(corpus)
    index = BM25Index()
    index.build(list(range(100, 100 + len(corpus))), corpus)
    rng = random.Random(seed + 10)
    for _ in range(20):
        query = rng.sample(corpus[rng.randrange(len(corpus))], 2) + ["и"]
        expected = reference.get_scores(query)
        got = index.scores(query)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        ranked = [doc - 100 for doc, _ in index.search(query, 10)]
        # Same order as the reference; documents with equal scores may swap places.
        best = np.sort(expected[expected > 0])[::-1][:10]
        np.testing.assert_allclose(expected[ranked], best, rtol=1e-5)


def _lucene_scores(corpus: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75):
    """BM25 with Lucene's idf, straight from the formula."""
    n_docs, avgdl = len(corpus), np.mean([len(doc) for doc in corpus])
    df = Counter(term for doc in corpus for term in set(doc))
    scores = np.zeros(n_docs)
    for term in query:
        if term not in df:
            continue
        idf = math.log1p((n_docs - df[term] + 0.5) / (df[term] + 0.5))
        for i, doc in enumerate(corpus):
            tf = doc.count(term)
            scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
    return scores


def test_bm25s_scores_a_term_as_okapi_tf_times_lucene_idf() -> None:
    # BM25Index rescales each term's bm25s scores to Okapi's idf: this is what it relies
    # on (bm25s's README: method="atire", idf_method="lucene" is bm25-pt). If a bm25s
    # release changes it, this fails, and so does the rank-bm25 parity above.
    corpus = _random_corpus(5)
    vocab = {term: i for i, term in enumerate(dict.fromkeys(t for doc in corpus for t in doc))}
    retriever = bm25s.BM25(k1=1.2, b=0.6, method="atire", idf_method="lucene")
    retriever.index(
        Tokenized(ids=[[vocab[t] for t in doc] for doc in corpus], vocab=vocab),
        create_empty_token=False,
        show_progress=False,
    )
    for term in ["и", "w3", "w17"]:
        got = retriever.get_scores(retriever.get_tokens_ids([term]))
        np.testing.assert_array_equal(got, retriever.get_scores([term]))
        expected = _lucene_scores(corpus, [term], k1=1.2, b=0.6)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        assert (got > 0).sum() == sum(term in doc for doc in corpus)


@pytest.mark.parametrize("seed", [1, 2])
def test_lucene_idf_scores_follow_the_formula(seed: int) -> None:
    corpus = _random_corpus(seed)
    index = BM25Index(k1=1.2, b=0.6, idf="lucene")
    index.build(list(range(len(corpus))), corpus)
    rng = random.Random(seed)
    for _ in range(10):
        query = rng.sample(corpus[rng.randrange(len(corpus))], 2) + ["и", "unknown"]
        expected = _lucene_scores(corpus, query, k1=1.2, b=0.6)
        np.testing.assert_allclose(index.scores(query), expected, rtol=1e-5, atol=1e-6)


def test_repeated_query_terms_count_each_time_like_rank_bm25() -> None:
    corpus = _random_corpus(6)
    index = BM25Index()
    index.build(list(range(len(corpus))), corpus)
    query = ["w5", "w5", "и", "w9", "и", "w5"]
    np.testing.assert_allclose(
        index.scores(query), BM25Okapi(corpus).get_scores(query), rtol=1e-5, atol=1e-5
    )


def test_coverage_weighs_distinct_terms_by_idf() -> None:
    # "half" is in exactly half of the documents: its Okapi idf is 0 (it adds nothing to
    # the scores) but coverage still sees where it is.
    corpus = [["a", "half", "x"], ["b", "half"], ["c", "x"], ["d", "x", "x"]]
    index = BM25Index()
    index.build([10, 11, 12, 13], corpus)
    assert index.scores(["half"]).tolist() == [0.0] * 4

    def weight(df: int) -> float:
        return math.log1p((4 - df + 0.5) / (df + 0.5))

    query = ["a", "half", "zzz", "half"]
    total = weight(1) + weight(2) + weight(0)
    assert index.coverage(query, 10) == pytest.approx((weight(1) + weight(2)) / total)
    assert index.coverage(query, 11) == pytest.approx(weight(2) / total)
    assert index.coverage(query, 12) == 0.0
    assert index.coverage(query, 99) == 0.0  # not indexed
    assert index.coverage(["x"], 13) == 1.0 and index.coverage([], 13) == 0.0
    # After a search (the per-term scores are reused) the answers are the same.
    index.search(query, 3)
    assert index.coverage(query, 10) == pytest.approx((weight(1) + weight(2)) / total)


def test_build_reads_ids_filled_while_the_tokens_stream() -> None:
    corpus = _random_corpus(7)
    ids: list[int] = []

    def tokens():  # as ChannelBM25.rebuild does
        for i, doc in enumerate(corpus):
            ids.append(1000 + i)
            yield doc

    index = BM25Index()
    index.build(ids, tokens())
    assert index.doc_ids.tolist() == ids and len(index) == len(corpus)
    with pytest.raises(StoreError, match="2 documents for 3 ids"):
        BM25Index().build([1, 2, 3], iter(corpus[:2]))


def test_token_rows_behave_as_a_sequence_of_lists() -> None:
    rows = _TokenRows(array("i", [1, 2, 3, 4, 5]), array("q", [0, 2, 2, 5]))
    assert list(rows) == [[1, 2], [], [3, 4, 5]] and len(rows) == 3
    assert rows[-1] == [3, 4, 5] and rows[1:] == [[], [3, 4, 5]]
    with pytest.raises(IndexError):
        rows[3]  # pylint: disable=pointless-statement


@pytest.mark.parametrize("corpus", [[], [[], []]], ids=["no documents", "no terms"])
def test_empty_indexes_search_save_and_load(tmp_path: Path, corpus: list[list[str]]) -> None:
    index = BM25Index()
    index.build(list(range(len(corpus))), corpus)
    assert len(index) == len(corpus) and index.search(["a"], 5) == []
    assert index.scores(["a"]).tolist() == [0.0] * len(corpus)
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert len(loaded) == len(corpus) and loaded.search(["a"], 5) == []
    assert loaded.coverage(["a"], 0) == 0.0


def test_an_index_of_an_older_format_is_refused(tmp_path: Path) -> None:
    index = BM25Index()
    with pytest.raises(StoreError, match="build it first"):
        index.save(tmp_path / "bm25")
    corpus = _random_corpus(8)
    index.build(list(range(len(corpus))), corpus)
    index.save(tmp_path / "bm25")
    meta_path = tmp_path / "bm25" / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["format"] == FORMAT
    del meta["format"]  # as the first version wrote it
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(StoreError, match="format 1, not 2; it must be rebuilt"):
        BM25Index.load(tmp_path / "bm25")
    meta.update(format=FORMAT, doc_ids=meta["doc_ids"][1:])
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(StoreError, match="does not match its document ids"):
        BM25Index.load(tmp_path / "bm25")


def test_a_channel_rebuilds_an_index_of_an_older_format(app: App, write_export) -> None:
    app.indexer().index_export(write_export(), progress=False)
    directory = app.catalog.get(CHANNEL_ID).directory / "bm25"
    expected = app.retriever().search("загранпаспорт", mode="bm25").hits[0].post_id
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    del meta["format"]
    (directory / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    fresh = App(app.settings, embedder=app.embedder, vectors=app.vectors)
    assert fresh.retriever().search("загранпаспорт", mode="bm25").hits[0].post_id == expected
    rebuilt = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    assert rebuilt["format"] == FORMAT and rebuilt["fingerprint"] == meta["fingerprint"]
    fresh.close()


def test_save_and_load_roundtrip(tmp_path: Path) -> None:
    corpus = _random_corpus(4)
    index = BM25Index(idf="lucene")
    index.build(list(range(len(corpus))), corpus)
    index.meta = {"fingerprint": "x"}
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.meta["fingerprint"] == "x" and loaded.idf == "lucene"
    assert loaded.search(["w3", "w7"], 5) == index.search(["w3", "w7"], 5)
    assert loaded.search(["unknown"], 5) == []


def test_each_text_is_stemmed_in_its_own_language() -> None:
    tok = Tokenizer("english", ["english", "french"])
    assert tok.language("Les trains partent de la gare du nord") == "french"
    assert tok.language("Новые станции метро and the trains") == "russian"
    assert tok.language("图书馆在哪里") == "cjk"
    assert tok.language("مرحبا بكم في المكتبة") == "arabic"
    # French function words select the French stemmer for the whole text.
    assert "gar" in tok.tokenize("La gare est fermée pour les travaux")
    assert "travaux" in Tokenizer("english").tokenize("the travaux")


def test_undecided_query_is_stemmed_in_every_channel_language() -> None:
    tok = Tokenizer("english", ["english", "french"])
    terms = tok.tokenize("abonnements mensuels", query=True)
    assert terms == ["abonn", "abon", "mensuel"]  # French, English; "mensuel" in both
    assert tok.tokenize("abonnements mensuels") == Tokenizer("english").tokenize(
        "abonnements mensuels"
    )


def test_every_detected_language_has_a_stemmer_name() -> None:
    codes = LATIN_LANGUAGES | {code for _, code in SCRIPTS} | {CJK, PERSIAN}
    assert codes == set(SNOWBALL_NAMES)
    assert {snowball_name(code) for code in codes} - {"cjk"} <= set(available_languages())
    assert all(language_code(snowball_name(code)) == code for code in codes)
    assert language_code("porter") == "porter"  # configured stemmers without a code


def test_reply_language_follows_a_script_with_30_percent_of_the_letters() -> None:
    question = "Что такое Kubernetes и Docker?"
    assert reply_language(question) == "ru"
    assert detect_language(question) == "en"  # mostly Latin letters: stemmed as English
    assert reply_language("Їжак і ґанок") == "uk" and detect_language("Їжак і ґанок") == "ru"
    assert reply_language("東京の駅") == detect_language("東京の駅") == "zh"
