"""The language of a text, as an ISO 639-1 code: one vocabulary for the whole project.

`detect_language` tells the language most of a text's letters are written in: the
script decides (Cyrillic, Arabic, Greek, Armenian, Devanagari, Tamil, CJK) and, for Latin
script, the function words. The BM25 tokenizer stems each text in the language it
returns, and channels record their posts' mix of them.

`reply_language` picks the language of the fixed phrases (refusals, headings) from the
four they are written in. It asks a different question on purpose: a Russian question
full of English product names ("Что такое Kubernetes и Docker?") has mostly Latin
letters, yet is answered in Russian, so a script that holds 30% of the letters wins.

Stemmers are named by Snowball; `snowball_name` and `language_code` translate at that
edge, and channel metadata keeps the Snowball names it has always stored.

This module imports nothing of PostFinder, so any module may use it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Kana, CJK ideographs and Hangul syllables...
_CJK_CORE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
# ... and the compatibility ideographs, which tokenising counts as CJK too.
CJK_CHARS = _CJK_CORE + "\uf900-\ufaff"
CJK_RE = re.compile(f"[{CJK_CHARS}]")
CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
LATIN_RE = re.compile(r"[a-zA-Z\u00c0-\u024f]")
# Letters Persian writes and Arabic does not: they tell the two apart.
PERSIAN_RE = re.compile(r"[\u067e\u0686\u0698\u06af\u06a9\u06cc]")
# Non-Latin scripts whose language follows from the script alone (Cyrillic: Russian, the
# language its stemmer is for). Order matters: ties between scripts go to the first.
SCRIPTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (CYRILLIC_RE, "ru"),
    (re.compile(r"[\u0600-\u06ff\u0750-\u077f]"), "ar"),
    (re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]"), "el"),
    (re.compile(r"[\u0530-\u058f]"), "hy"),
    (re.compile(r"[\u0900-\u097f]"), "hi"),
    (re.compile(r"[\u0b80-\u0bff]"), "ta"),
)
CJK = "zh"  # Chinese, Japanese and Korean: one code, since they are tokenised alike
PERSIAN = "fa"
ENGLISH = "en"
# Links and handles are Latin whatever the language of the text around them.
LINK_RE = re.compile(r"\S*(?:https?://|www\.|t\.me/)\S*|[@#]\w+")

# Frequent function words of two letters or more per Latin-script language, enough to
# tell them apart (one-letter words such as "a", "o", "e" also appear in URLs and code).
_LATIN_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset("the and of to is in that for with on are this was you what how".split()),
    "de": frozenset("der die und das ist nicht mit den ein zu von sich ich wie".split()),
    "fr": frozenset("le la les et des est une pour dans que qui pas du au je".split()),
    "es": frozenset("el la los las que es una por para con del cómo qué".split()),
    "it": frozenset("il la che di per una sono con non gli della come".split()),
    "pt": frozenset("os as que uma para com não do da em como".split()),
    "nl": frozenset("de het een en van is dat niet met voor zijn op".split()),
    "tr": frozenset("bir ve bu da de için ile ne mi nasıl".split()),
    "pl": frozenset("nie na się jest że do to jak czy".split()),
}
LATIN_LANGUAGES = frozenset(_LATIN_MARKERS)
_WORD_RE = re.compile(r"[^\W\d_]+")

# The Snowball stemmer of every language `detect_language` returns. CJK has no stemmer:
# the tokenizer and channel metadata call it "cjk".
SNOWBALL_NAMES: dict[str, str] = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "tr": "turkish",
    "pl": "polish",
    "ru": "russian",
    "ar": "arabic",
    PERSIAN: "persian",
    "el": "greek",
    "hy": "armenian",
    "hi": "hindi",
    "ta": "tamil",
    CJK: "cjk",
}
_CODES = {name: code for code, name in SNOWBALL_NAMES.items()}

# Reply languages: those the fixed phrases are written in (`postfinder.phrases`).
_UKRAINIAN_RE = re.compile(r"[іїєґ]", re.IGNORECASE)
# The reply rule counts only these as CJK, as it always has: a change here would change
# which language some members are answered in.
_REPLY_CJK_RE = re.compile(f"[{_CJK_CORE}]")


def snowball_name(code: str) -> str:
    """Return the Snowball stemmer name (``"cjk"`` for CJK) of a `detect_language` code.

    Raises
    ------
    KeyError
        If ``code`` is not one `detect_language` returns.
    """
    return SNOWBALL_NAMES[code]


def language_code(name: str) -> str:
    """Return the ISO code of a stored Snowball name; a name without one is returned as is.

    Channel metadata stores Snowball names (``"russian 93%, english 7%"``); a configured
    stemmer such as ``porter`` has no code of its own.
    """
    return _CODES.get(name, name)


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


def main_latin_language(texts: Iterable[str], limit: int = 2000) -> str:
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
        An ISO code; ``en`` when nothing is conclusive.
    """
    counts: Counter[str] = Counter()
    for i, text in enumerate(texts):
        if i >= limit:
            break
        counts.update(latin_votes(text))
    return counts.most_common(1)[0][0] if counts else ENGLISH


def detect_language(text: str, default_latin: str = ENGLISH) -> str:
    """Return the language of one text: that of the script most of its letters use.

    Parameters
    ----------
    text
        A post or a query.
    default_latin
        Returned for Latin-script text whose function words say nothing, and for text
        without letters.

    Returns
    -------
    str
        An ISO 639-1 code: ``ru`` for any Cyrillic text, ``zh`` for Chinese, Japanese
        and Korean, a Latin-script language of `LATIN_LANGUAGES`, or ``default_latin``.
    """
    text = LINK_RE.sub(" ", text)
    counts: Counter[str] = Counter()
    # A CJK character carries about as much as a short word: weigh it like three letters.
    counts[CJK] = 3 * len(CJK_RE.findall(text))
    counts["latin"] = len(LATIN_RE.findall(text))
    for pattern, language in SCRIPTS:
        counts[language] += len(pattern.findall(text))
    if PERSIAN_RE.search(text) and counts["ar"]:
        counts[PERSIAN], counts["ar"] = counts["ar"], 0
    script, letters = counts.most_common(1)[0]
    if not letters:
        return default_latin
    if script == "latin":
        return latin_language_of(text) or default_latin
    return script


def reply_language(text: str) -> str:
    """Guess which phrase language suits a short text: ``ru``, ``uk``, ``zh`` or ``en``.

    Good enough to pick the language of fixed phrases (refusals, headings); the model
    itself is told to answer in the question's language. Unlike `detect_language`, a
    script that holds 30% of the letters wins (see the module docstring).
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return ENGLISH
    cjk = sum(1 for c in letters if _REPLY_CJK_RE.match(c))
    cyrillic = sum(1 for c in letters if CYRILLIC_RE.match(c))
    if cjk / len(letters) > 0.3:
        return CJK
    if cyrillic / len(letters) > 0.3:
        return "uk" if _UKRAINIAN_RE.search(text) else "ru"
    return ENGLISH
