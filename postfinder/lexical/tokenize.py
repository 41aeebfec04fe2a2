"""Language-aware tokenisation for BM25, with the language decided per text.

Each post (and each query) is stemmed in its own language: words are split by script,
Cyrillic words go through the Russian stemmer, Arabic-script, Greek, Armenian,
Devanagari and Tamil words through their script's stemmer, Latin words through the
language the text's function words point to (the channel's main Latin language when a
text has too few of them), and CJK runs become overlapping character bigrams, since
Chinese and Japanese have no spaces. A short query whose Latin language cannot be told
is stemmed in each Latin language the channel uses, so a French question still meets
French posts in a mostly English group.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import Stemmer

from postfinder.errors import ConfigError

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_]+", re.UNICODE)
CJK_RE = re.compile(rf"[{_CJK}]")
CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
LATIN_RE = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_PERSIAN_RE = re.compile(r"[\u067e\u0686\u0698\u06af\u06a9\u06cc]")
# Non-Latin scripts whose language follows from the script alone.
_SCRIPTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (CYRILLIC_RE, "russian"),
    (re.compile(r"[\u0600-\u06ff\u0750-\u077f]"), "arabic"),
    (re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]"), "greek"),
    (re.compile(r"[\u0530-\u058f]"), "armenian"),
    (re.compile(r"[\u0900-\u097f]"), "hindi"),
    (re.compile(r"[\u0b80-\u0bff]"), "tamil"),
)

# Very frequent function words per Latin-script language, enough to tell them apart.
# Frequent function words of two letters or more per Latin-script language, enough to
# tell them apart (one-letter words such as "a", "o", "e" also appear in URLs and code).
_LATIN_MARKERS: dict[str, frozenset[str]] = {
    "english": frozenset("the and of to is in that for with on are this was you what how".split()),
    "german": frozenset("der die und das ist nicht mit den ein zu von sich ich wie".split()),
    "french": frozenset("le la les et des est une pour dans que qui pas du au je".split()),
    "spanish": frozenset("el la los las que es una por para con del cómo qué".split()),
    "italian": frozenset("il la che di per una sono con non gli della come".split()),
    "portuguese": frozenset("os as que uma para com não do da em como".split()),
    "dutch": frozenset("de het een en van is dat niet met voor zijn op".split()),
    "turkish": frozenset("bir ve bu da de için ile ne mi nasıl".split()),
    "polish": frozenset("nie na się jest że do to jak czy".split()),
}
LATIN_LANGUAGES = frozenset(_LATIN_MARKERS)
CYRILLIC_LANGUAGE = "russian"
DEFAULT_LATIN = "english"
CJK_LANGUAGE = "cjk"
_WORD_RE = re.compile(r"[^\W\d_]+")
LINK_RE = re.compile(r"\S*(?:https?://|www\.|t\.me/)\S*|[@#]\w+")


def available_languages() -> list[str]:
    """Return the Snowball stemmer names PyStemmer provides."""
    return sorted(str(name) for name in Stemmer.algorithms())


def latin_votes(text: str) -> Counter[str]:
    """Count the function words of each Latin-script language in ``text``."""
    counts: Counter[str] = Counter()
    for word in _WORD_RE.findall(text.lower()):
        for language, markers in _LATIN_MARKERS.items():
            if word in markers:
                counts[language] += 1
    return counts


def latin_language_of(text: str, min_votes: int = 2) -> str | None:
    """Return the Latin-script language of one text, or None when it cannot be told.

    A language needs ``min_votes`` function words and a lead over the runner-up: words
    such as "la" or "que" are shared by several Romance languages.
    """
    ranked = latin_votes(text).most_common(2)
    if not ranked or ranked[0][1] < min_votes:
        return None
    if len(ranked) > 1 and ranked[1][1] >= ranked[0][1]:
        return None
    return ranked[0][0]


def detect_latin_language(texts: Iterable[str], limit: int = 2000) -> str:
    """Guess the main Latin-script language of a channel from function-word counts.

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
        counts.update(latin_votes(text))
    return counts.most_common(1)[0][0] if counts else DEFAULT_LATIN


def text_language(text: str, default_latin: str = DEFAULT_LATIN) -> str:
    """Return the language of one text: that of the script most of its letters use.

    Parameters
    ----------
    text
        A post or a query.
    default_latin
        Language of Latin-script text whose function words say nothing.

    Returns
    -------
    str
        A Snowball language name, or ``"cjk"`` for Chinese, Japanese and Korean.
    """
    text = LINK_RE.sub(" ", text)  # links and handles are Latin whatever the language
    counts: Counter[str] = Counter()
    # A CJK character carries about as much as a short word: weigh it like three letters.
    counts[CJK_LANGUAGE] = 3 * len(CJK_RE.findall(text))
    counts["latin"] = len(LATIN_RE.findall(text))
    for pattern, language in _SCRIPTS:
        counts[language] += len(pattern.findall(text))
    if _PERSIAN_RE.search(text) and counts["arabic"]:
        counts["persian"], counts["arabic"] = counts["arabic"], 0
    script, letters = counts.most_common(1)[0]
    if not letters:
        return default_latin
    if script == "latin":
        return latin_language_of(text) or default_latin
    return script


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
        for pattern, language in _SCRIPTS[1:]:
            if pattern.search(word):
                if language == "arabic" and _PERSIAN_RE.search(word):
                    language = "persian"
                return str(self._stemmer(language).stemWord(word))
        return word

    def language(self, text: str) -> str:
        """Return the language ``text`` is stemmed in (see `text_language`)."""
        return text_language(text, self.latin_language)

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
        latins: tuple[str, ...] = (detected,) if detected else (self.latin_language,)
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
