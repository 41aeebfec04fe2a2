"""The names a question asks about, and whether the retrieved posts mention any of them.

A question that names something ("где находится стадион «Маракана»?", "почём билет на
каток в саду Баумана?") is about that thing. When no post shown holds any of the names
it asks about, the posts share the topic, not the subject: a quote of another stadium or
another rink answers a question the member did not ask, so the reply is a refusal
(fitted in docs/benchmarks.md, "Names the posts do not mention"). A name is a word of
three or more letters written with a capital inside a sentence (or with a capital after
its first letter: "SlashData", "AMD"), or a phrase in «» quotes. Languages that
capitalise every noun (German, Luxembourgish) name nothing this way, nor do Chinese and
Japanese, which have no capitals (and a question with any of their characters may name
its subject in them: "Toradora (龙与虎)"); such questions are left out.

Matching is lenient, since a missed match only lets the reply through as before: a name
is held when a post's word starts with it (less its last two letters, for inflection:
"Амазонки" meets "Амазонии"), or, across Cyrillic and Latin, when the two spell the same
consonants ("Гугл" meets "Google", "Айфон" meets "iPhone").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from postfinder.language import CJK_RE, CYRILLIC_RE, LATIN_RE, detect_language

WORD_RE = re.compile(r"[^\W_]+")
QUOTED_RE = re.compile(r"«([^»]+)»")
SENTENCE_END_RE = re.compile(r"[.?!？。！:;\n]\s*")
MIN_NAME = 3
NOUNS_CAPITALISED = frozenset({"de", "lb"})

_CYRILLIC_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e j z i i k l m n o p r s t u f h ts ch sh sch _ y _ e yu ya".split(),
    )
)
# Latin spellings of one sound, made one before vowels are dropped.
_LATIN_SOUNDS = (("ph", "f"), ("ck", "k"), ("c", "k"), ("q", "k"), ("w", "v"), ("x", "ks"))
_VOWELS_RE = re.compile(r"[aeiouy_]")
_REPEAT_RE = re.compile(r"(.)\1+")


def asked_names(question: str) -> list[str]:
    """The names ``question`` asks about, in order (see the module docstring)."""
    if CJK_RE.search(question) or detect_language(question, default_latin="") in NOUNS_CAPITALISED:
        return []
    names = [phrase for phrase in QUOTED_RE.findall(question) if WORD_RE.search(phrase)]
    for sentence in SENTENCE_END_RE.split(QUOTED_RE.sub(" ", question)):
        words = WORD_RE.findall(sentence)
        names += [
            word
            for i, word in enumerate(words)
            if len(word) >= MIN_NAME
            and word[0].isalpha()
            and ((i > 0 and word[0].isupper()) or any(c.isupper() for c in word[1:]))
        ]
    return names


def names_held(question: str, texts: Iterable[str]) -> bool:
    """Whether ``texts`` mention one of the names ``question`` asks about (true when it
    asks about none).

    Parameters
    ----------
    question
        The member's (focused) question.
    texts
        The texts of the posts shown for it.
    """
    names = asked_names(question)
    if not names:
        return True
    words = {w for text in texts for w in WORD_RE.findall(_folded(text))}
    return any(_held(name, words) for name in names)


def _held(name: str, words: set[str]) -> bool:
    """Whether one of ``words`` (folded) is ``name``, inflected or transliterated."""
    # A quoted phrase is held when its longest word is (`asked_names` gives none without one).
    part = max(WORD_RE.findall(_folded(name)), key=len)
    stem = part[: max(MIN_NAME + 1, len(part) - 2)]
    if any(word.startswith(stem) for word in words):
        return True
    other = LATIN_RE if CYRILLIC_RE.search(part) else CYRILLIC_RE if LATIN_RE.search(part) else None
    if other is None:
        return False
    bones = _consonants(part)
    return any(other.search(word) and _same_start(bones, _consonants(word)) for word in words)


def _folded(text: str) -> str:
    return text.lower().replace("ё", "е")


def _consonants(word: str) -> str:
    """The consonants of ``word`` spelt in Latin, one sound one letter, repeats once."""
    latin = "".join(_CYRILLIC_LATIN.get(c, c) for c in word)
    latin = latin.replace("dj", "j").replace("kh", "h")
    for spelling, sound in _LATIN_SOUNDS:
        latin = latin.replace(spelling, sound)
    return _REPEAT_RE.sub(r"\1", _VOWELS_RE.sub("", latin))


def _same_start(a: str, b: str) -> bool:
    """Whether the shorter consonant string (two letters at least) starts the longer."""
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 2 and long_.startswith(short)
