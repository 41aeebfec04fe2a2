"""Language-aware tokenisation for BM25.

Words are split by script: Cyrillic words go through the Russian stemmer, Latin words
through the channel's Latin-script language (detected or configured), and CJK runs
become overlapping character bigrams, since Chinese and Japanese have no spaces.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

from postfinder.errors import ConfigError

TOKEN_RE = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+|[^\W_]+", re.UNICODE
)
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
LATIN_RE = re.compile(r"[a-zA-Z\u00c0-\u024f]")

# A few very frequent function words per Latin-script language, enough to tell them apart.
_LATIN_MARKERS: dict[str, frozenset[str]] = {
    "english": frozenset("the and of to is in that for with on are this was".split()),
    "german": frozenset("der die und das ist nicht mit den ein zu von sich".split()),
    "french": frozenset("le la les et des est une pour dans que qui pas".split()),
    "spanish": frozenset("el la los las y que es una por para con del".split()),
    "italian": frozenset("il la che di e per una sono con non gli della".split()),
    "portuguese": frozenset("o a os as e que uma para com não do da".split()),
    "dutch": frozenset("de het een en van is dat niet met voor zijn op".split()),
}
CYRILLIC_LANGUAGE = "russian"
DEFAULT_LATIN = "english"


def available_languages() -> list[str]:
    """Return the Snowball stemmer names PyStemmer provides."""
    return sorted(str(name) for name in Stemmer.algorithms())


def detect_latin_language(texts: Iterable[str], limit: int = 2000) -> str:
    """Guess the Latin-script language of a channel from function-word counts.

    Parameters
    ----------
    texts
        Sample of the channel's texts.
    limit
        Stop after this many texts.

    Returns
    -------
    str
        A Snowball language name; English when nothing is conclusive.
    """
    counts: Counter[str] = Counter()
    for i, text in enumerate(texts):
        if i >= limit:
            break
        for word in re.findall(r"[^\W\d_]+", text.lower()):
            for language, markers in _LATIN_MARKERS.items():
                if word in markers:
                    counts[language] += 1
    if not counts:
        return DEFAULT_LATIN
    return counts.most_common(1)[0][0]


class Tokenizer:
    """Turns text into BM25 terms.

    Parameters
    ----------
    latin_language
        Snowball stemmer for Latin-script words.
    """

    def __init__(self, latin_language: str = DEFAULT_LATIN) -> None:
        if latin_language not in Stemmer.algorithms():
            raise ConfigError(
                f"Unknown stemmer language {latin_language!r}; use one of: "
                + ", ".join(available_languages())
            )
        self.latin_language = latin_language
        self._cyrillic = Stemmer.Stemmer(CYRILLIC_LANGUAGE)
        self._latin = Stemmer.Stemmer(latin_language)
        self._stem = lru_cache(maxsize=200_000)(self._stem_uncached)

    def _stem_uncached(self, word: str) -> str:
        if CYRILLIC_RE.search(word):
            return str(self._cyrillic.stemWord(word.replace("ё", "е")))
        if LATIN_RE.search(word):
            return str(self._latin.stemWord(word))
        return word

    def tokenize(self, text: str) -> list[str]:
        """Return the stemmed terms of ``text``.

        Parameters
        ----------
        text
            Any text.

        Returns
        -------
        list of str
            Lower-cased stems; CJK runs as single characters and bigrams.
        """
        terms: list[str] = []
        for match in TOKEN_RE.finditer(text.lower()):
            word = match.group()
            if CJK_RE.match(word):
                terms.extend(word)
                terms.extend(word[i : i + 2] for i in range(len(word) - 1))
            else:
                terms.append(self._stem(word))
        return terms
