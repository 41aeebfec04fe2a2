"""Tokenisation and the BM25 index."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from postfinder.errors import ConfigError
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
from postfinder.lexical.bm25 import BM25Index
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
