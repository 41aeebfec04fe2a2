"""Language-aware tokenisation for BM25, with the language decided per text.

Each post (and each query) is stemmed in its own language: words are split by script,
Cyrillic words go through the Russian stemmer, Arabic-script, Greek, Armenian,
Devanagari and Tamil words through their script's stemmer, Latin words through the
language the text's function words point to (the channel's main Latin language when a
text has too few of them), and CJK runs become overlapping character bigrams, since
Chinese and Japanese have no spaces. A short query whose Latin language cannot be told
is stemmed in each Latin language the channel uses, so a French question still meets
French posts in a mostly English group.

Languages are told by `postfinder.language`, as ISO codes, and become Snowball names
here, at the stemmer: a `Tokenizer` is configured with Snowball names, as the settings
and channel metadata store them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import Stemmer

from postfinder.errors import ConfigError
from postfinder.language import (
    CJK_CHARS,
    CJK_RE,
    CYRILLIC_RE,
    LATIN_RE,
    PERSIAN,
    PERSIAN_RE,
    SCRIPTS,
    detect_language,
    latin_language_of,
    snowball_name,
)

TOKEN_RE = re.compile(rf"[{CJK_CHARS}]+|[^\W_]+", re.UNICODE)
CYRILLIC_LANGUAGE = snowball_name("ru")
DEFAULT_LATIN = snowball_name("en")


def available_languages() -> list[str]:
    """Return the Snowball stemmer names PyStemmer provides."""
    return sorted(str(name) for name in Stemmer.algorithms())


class Tokenizer:
    """Turns text into BM25 terms, stemming each text in its own language.

    Parameters
    ----------
    latin_language
        Latin-script language of texts whose function words say nothing (the channel's
        main Latin language).
    latin_languages
        Every Latin-script language the channel's posts use; a query that cannot be
        told apart is stemmed in each of them.
    """

    def __init__(
        self, latin_language: str = DEFAULT_LATIN, latin_languages: Sequence[str] = ()
    ) -> None:
        for language in (latin_language, *latin_languages):
            if language not in Stemmer.algorithms():
                raise ConfigError(
                    f"Unknown stemmer language {language!r}; use one of: "
                    + ", ".join(available_languages())
                )
        self.latin_language = latin_language
        self.latin_languages = tuple(dict.fromkeys((latin_language, *latin_languages)))
        self._stemmers: dict[str, Stemmer.Stemmer] = {}
        self._stem = lru_cache(maxsize=200_000)(self._stem_uncached)

    def _stemmer(self, language: str) -> Stemmer.Stemmer:
        if language not in self._stemmers:
            self._stemmers[language] = Stemmer.Stemmer(language)
        return self._stemmers[language]

    def _stem_uncached(self, word: str, latin: str) -> str:
        if LATIN_RE.search(word):
            return str(self._stemmer(latin).stemWord(word))
        if CYRILLIC_RE.search(word):
            return str(self._stemmer(CYRILLIC_LANGUAGE).stemWord(word.replace("ё", "е")))
        for pattern, code in SCRIPTS[1:]:
            if pattern.search(word):
                if code == "ar" and PERSIAN_RE.search(word):
                    code = PERSIAN
                return str(self._stemmer(snowball_name(code)).stemWord(word))
        return word

    def language(self, text: str) -> str:
        """Return the language ``text`` is stemmed in, by its Snowball name.

        See `postfinder.language.detect_language`; ``"cjk"`` for Chinese, Japanese and
        Korean, the channel's main Latin language when the text's Latin words say nothing.
        """
        code = detect_language(text, default_latin="")
        return snowball_name(code) if code else self.latin_language

    def tokenize(self, text: str, query: bool = False) -> list[str]:
        """Return the stemmed terms of ``text``.

        Parameters
        ----------
        text
            Any text.
        query
            When true and the text's Latin language cannot be told, Latin words are
            stemmed in every language of the channel (each distinct stem once).

        Returns
        -------
        list of str
            Lower-cased stems; CJK runs as single characters and bigrams.
        """
        lowered = text.lower()
        detected = latin_language_of(lowered)
        latins: tuple[str, ...] = (snowball_name(detected),) if detected else (self.latin_language,)
        if query and not detected:
            latins = self.latin_languages
        terms: list[str] = []
        for match in TOKEN_RE.finditer(lowered):
            word = match.group()
            if CJK_RE.match(word):
                terms.extend(word)
                terms.extend(word[i : i + 2] for i in range(len(word) - 1))
            else:
                terms.extend(dict.fromkeys(self._stem(word, latin) for latin in latins))
        return terms
