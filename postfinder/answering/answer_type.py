"""Does a phrase have the type the question asks for? (how much → a quantity, ...)

A question asking how much, how many, when or which year expects a number or a date;
one asking who or where expects a name, not a bare number. A span of the wrong type is
not shown as the answer (the sentence it comes from is quoted instead), and a written
answer that adds no word of the asked type is rejected like an ungrounded one. The
rules are measured on the gold answers of labelled questions, both error rates, leaving
one dataset out (``scripts/fit_answer_types.py``, docs/benchmarks.md).
"""

from __future__ import annotations

import re
from typing import Literal, cast

from postfinder.answering.grounding import CITATION_RE

AnswerType = Literal["quantity", "date", "entity", "any"]

_WORD = re.compile(r"\w+")
_QUANTITY_Q = re.compile(
    r"\b(?:сколько|скольк\w+|какова?\s+(?:цена|стоимость|сумма|доля|численность)"
    r"|how\s+(?:much|many|long|far|old)"
    r"|combien|cu[aá]nto\w*|wie\s+viel\w*)\b|多少|几",
    re.IGNORECASE,
)
_DATE_Q = re.compile(
    r"\b(?:когда(?!-)|в\s+как\w+\s+(?:году|веке|месяце|день|числа)|какого\s+числа"
    r"|с\s+какого\s+года|when|what\s+year|which\s+year|in\s+what\s+year|quand|cu[aá]ndo"
    r"|wann)\b|什么时候|哪一?年|何时",
    re.IGNORECASE,
)
_ENTITY_Q = re.compile(
    r"\b(?:кто(?!-)|кому|кого|кем|где(?!-)|куда|who|whom|where|qui|o[uù]|d[oó]nde)\b|谁|哪里",
    re.IGNORECASE,
)
# Question words that ask for no particular type: when one comes first, a later "когда"
# or "where" belongs to a subordinate clause ("Что происходит, когда ...?").
_OTHER_Q = re.compile(
    r"\b(?:что|чего|чем|чём|как\w*|почему|зачем|откуда|чей|чья|чьё|чьи|ли|what|which|how"
    r"|why|whose|is|are|does|do|can)\b|什么|怎么|为什么|哪",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(?:ноль|нул\w*|од(?:ин|на|но|ного|ному|ной|ном)|дв[аеу]|двум\w*|двух|оба|обе"
    r"|три|трём|трем|трёх|трех|четыр\w*|пят\w*|шест\w*|сем\w*|восем\w*|девят\w*|десят\w*"
    r"|\w+надцат\w*|\w+дцат\w*|сорок\w*|девяност\w*|сто|сотн\w*|\w*сот\w*|тысяч\w*"
    r"|миллион\w*|миллиард\w*|половин\w*|трет\w*|четверт\w*|дважды|трижды|\w+кратн\w*"
    r"|большинств\w*|несколько|много|мало|ни\s+(?:в\s+)?одн\w*|one|two|three|four|five|six"
    r"|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|fifty|hundred\w*"
    r"|thousand\w*|million\w*|billion\w*|half|third|quarter|dozen\w*|several|once|twice"
    r"|none|no)\b|[一二三四五六七八九十百千万亿两]",
    re.IGNORECASE,
)
_DATE_WORDS = re.compile(
    r"\d|\b(?:январ\w*|феврал\w*|март\w*|апрел\w*|ма[йя]\w*|июн\w*|июл\w*|август\w*|сентябр\w*"
    r"|октябр\w*|ноябр\w*|декабр\w*|весн\w*|лет\w*|осен\w*|зим\w*|вчера|сегодня|завтра"
    r"|век\w*|столети\w*|понедельник\w*|вторник\w*|сред[ау]|четверг\w*|пятниц\w*|суббот\w*"
    r"|воскресень\w*|утр\w*|вечер\w*|ноч\w*|войн\w*|эпох\w*|правлени\w*|период\w*"
    r"|начал\w*|конц\w*|конец|середин\w*|[IVXLC]+|year|century|war|era"
    r"|january|february|march|april|may|june|july|august|september|october|november"
    r"|december|spring|summer|autumn|fall|winter|today|tomorrow|yesterday|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday|reign|period)\b"
    r"|[年月日]",
    re.IGNORECASE,
)


def question_type(question: str) -> AnswerType:
    """The type of answer the question asks for (``any`` when it cannot be told).

    The question word that comes first decides: "Сколько команд ..., когда ...?" asks
    for a quantity, "Кто был лидером, когда ...?" for a name, and "Что происходит,
    когда ...?" for nothing in particular.
    """
    found = [
        (match.start(), kind)
        for pattern, kind in ((_QUANTITY_Q, "quantity"), (_DATE_Q, "date"), (_ENTITY_Q, "entity"))
        if (match := pattern.search(question))
    ]
    if not found:
        return "any"
    start, kind = min(found)
    other = _OTHER_Q.search(question)
    if other is not None and other.start() < start:
        return "any"
    return cast(AnswerType, kind)


def phrase_fits(kind: AnswerType, phrase: str) -> bool:
    """True when ``phrase`` can be an answer of type ``kind``."""
    if kind == "quantity":
        return bool(_NUMBER.search(phrase))
    if kind == "date":
        return bool(_DATE_WORDS.search(phrase))
    if kind == "entity":
        return bool(re.search(r"[^\W\d_]", phrase))  # a name has letters, not only digits
    return True


def answer_type_fits(question: str, phrase: str) -> bool:
    """`phrase_fits` for the type that ``question`` asks for."""
    return phrase_fits(question_type(question), phrase)


def reply_fits(question: str, reply: str) -> bool:
    """True when a written reply holds a word of the asked type the question lacks.

    "Посылка с маслом была задержана [1]." does not say how much: a generated answer
    to "Сколько масла было в посылке?" must add a number, not only repeat the question's.
    """
    kind = question_type(question)
    if kind == "any":
        return True
    asked = {word.lower() for word in _WORD.findall(question)}
    added = " ".join(
        w for w in _WORD.findall(CITATION_RE.sub(" ", reply)) if w.lower() not in asked
    )
    return phrase_fits(kind, added)
