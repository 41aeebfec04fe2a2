"""The normal form of a question, and the words two askings of one question share.

Two messages that differ only in case, punctuation, "ё"/"е", greetings or the story
around the question have the same normal form: the second is a repeat without any
model. `terms` goes further, for `postfinder.repeats.rule`: word stems in any order,
chat particles dropped, while the question word, a negation and every number must stay
the same ("Во сколько открывается каток?" and "Во сколько закрывается каток?" share
all words but one, and that one is the question).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from postfinder.answering.question import focus_question
from postfinder.lexical.tokenize import Tokenizer

_WORD_RE = re.compile(r"\w+")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# Words that never change what is asked. At the ends of a question they leave its
# normal form; anywhere, they are not compared.
_FILLER = frozenset(
    "а и ну так вот же ж привет приветствую здравствуйте здрасьте подскажите подскажи "
    "подскажете скажите скажи пожалуйста плиз пжл пж пжлст ребят ребята народ друзья "
    "коллеги админ админы спасибо заранее вообще кстати случайно тут там уже еще "
    "hi hello hey please pls plz thanks guys folks admin so just actually anyone".split()
)
# Ways of asking that ask nothing themselves ("кто-нибудь знает, где ...?", "не
# подскажете, ...", "does anyone know ..."), left out before the words are compared.
# Only at the start: "Почему бот не знает про акцию?" asks about the "не знает".
_ASKING_RE = re.compile(
    r"^(?:(?:не )?(?:подскаж\w*|скаж\w*)(?: мне)?(?: пожалуйста)?"
    r"|(?:кто|кто то|кто нибудь|никто) (?:знает|в курсе|подскажет)"
    r"|(?:не )?(?:знаете|помните) (?:ли )?(?:кто )?"
    r"|(?:does |do )?(?:any ?one|some ?one|you guys|you) (?:know|remember)(?: if)?"
    r"|can (?:you|someone|anyone) tell me|i (?:want|would like) to know)\b"
)
_NEGATIONS = frozenset("не нет нельзя без ни not no without never don't doesn't isn't".split())
_QUESTION_WORDS = frozenset(
    "как какой какая какое какие какую каким какого каков сколько скольки когда где куда "
    "откуда кто кого кому кем что чего чем чему почему зачем чей чья чьи который которая "
    "которое которые ли what when where who whom whose which why how 什么 哪 哪里 哪儿 谁 "
    "几 多少 怎么 怎样 为什么 何时 什么时候 吗".split()
)
_LONG_QUESTION_WORDS: dict[str, tuple[str, ...]] = {}
for _word in sorted(w for w in _QUESTION_WORDS if len(w) >= 5):
    _LONG_QUESTION_WORDS[_word[0]] = (*_LONG_QUESTION_WORDS.get(_word[0], ()), _word)
_TOKENIZER = Tokenizer()


def normal_form(message: str) -> str:
    """Return the question of ``message`` reduced to its words, for exact comparison.

    The member's message is focused first (`focus_question`: the question sentences,
    no instructions to the bot, no links); then case, accents of Cyrillic "ё",
    punctuation and filler words at the ends are dropped.

    Parameters
    ----------
    message
        A member's message, any length.

    Returns
    -------
    str
        Lower-case words joined by single spaces; empty when no question is left.
    """
    text = unicodedata.normalize("NFKC", focus_question(message)).lower().replace("ё", "е")
    words = _WORD_RE.findall(text)
    start, end = 0, len(words)
    while start < end and words[start] in _FILLER:
        start += 1
    while end > start and words[end - 1] in _FILLER:
        end -= 1
    return " ".join(words[start:end])


def numbers(text: str) -> frozenset[str]:
    """The numbers a question names ("2023", "6,5"): two questions naming different
    numbers ask different things however alike their words are."""
    return frozenset(n.replace(",", ".") for n in _NUMBER_RE.findall(text))


@dataclass(frozen=True)
class Terms:
    """What of a question's words decides what it asks."""

    words: frozenset[tuple[str, str]]  # (as written, stem)
    asks: frozenset[str]  # question words, as written
    negated: bool
    numbers: frozenset[str]


@lru_cache(maxsize=65536)
def terms(key: str) -> Terms:
    """The terms of a normal form (`normal_form`)."""
    text = _ASKING_RE.sub("", key, count=1)
    words: set[tuple[str, str]] = set()
    asks: set[str] = set()
    negated = False
    for word in _WORD_RE.findall(text):
        if word.isdigit() or word in _FILLER:
            continue
        asked = _question_word(word)
        if asked:
            asks.add(asked)
        elif word in _NEGATIONS:
            negated = True
        elif _CJK_RE.search(word):
            words.update((ch, ch) for ch in word if _CJK_RE.match(ch))
            asks.update(q for q in _QUESTION_WORDS if _CJK_RE.match(q) and q in word)
        else:
            words.update((word, stem) for stem in _TOKENIZER.tokenize(word))
    return Terms(frozenset(words), frozenset(asks), negated, numbers(text))


def _question_word(word: str) -> str:
    """The question word ``word`` is, typos included ("скольо": "сколько"), or ""."""
    if word in _QUESTION_WORDS:
        return word
    if len(word) >= 5:
        return next((q for q in _LONG_QUESTION_WORDS.get(word[0], ()) if _near(word, q)), "")
    return ""


def _near(a: str, b: str) -> bool:
    """One typo apart, as written: at least five letters, the same first two (a changed
    prefix changes the meaning: "включить" and "выключить", "въезд" and "выезд"), and
    one letter added, dropped, changed, or two neighbours swapped."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 5 or len(long_) - len(short) > 1 or a[:2] != b[:2]:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diffs) == 1 or (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]]
        )
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def same_terms(a: Terms, b: Terms) -> bool:
    """Whether two questions ask with the same words, up to order, inflection and typos."""
    if a.asks != b.asks or a.negated != b.negated or a.numbers != b.numbers:
        return False

    def covered(x: Terms, y: Terms) -> bool:
        stems = {stem for _, stem in y.words}
        written = {word for word, _ in y.words}
        return all(
            stem in stems or word in written or any(_near(word, other) for other in written)
            for word, stem in x.words
        )

    return covered(a, b) and covered(b, a)
