"""Does a phrase have the type the question asks for? (how much → a quantity, ...)

A question asking how much, how many, when or which year expects a number or a date;
one asking who or where expects a name, not a bare number. A phrase of the wrong type
is not shown as the answer (the sentence it comes from is quoted instead). The rules
are measured on the gold answers of labelled questions, both error rates
(``scripts/fit_span.py --types``, docs/benchmarks.md).
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["quantity", "date", "entity", "any"]

_QUANTITY_Q = re.compile(
    r"\b(?:сколько|скольк\w+|какова?\s+(?:цена|стоимость|сумма|доля|численность)"
    r"|how\s+(?:much|many|long|far|old)"
    r"|combien|cu[aá]nto\w*|wie\s+viel\w*)\b|多少|几",
    re.IGNORECASE,
)
_DATE_Q = re.compile(
    r"\b(?:когда|в\s+как\w+\s+(?:году|веке|месяце|день|числа)|какого\s+числа|с\s+какого\s+года"
    r"|when|what\s+year|which\s+year|in\s+what\s+year|quand|cu[aá]ndo|wann)\b"
    r"|什么时候|哪一?年|何时",
    re.IGNORECASE,
)
_ENTITY_Q = re.compile(
    r"^\W*(?:кто|кому|кого|кем|где|куда|who|whom|where|qui|o[uù]|d[oó]nde)\b|谁|哪里", re.IGNORECASE
)
_NUMBER = re.compile(
    r"\d|\b(?:ноль|од(?:ин|на|но)|дв[ау]|двух|три|трёх|трех|четыр\w*|пят\w*|шест\w*|сем\w*"
    r"|восем\w*|девят\w*|десят\w*|сто|сотн\w*|тысяч\w*|миллион\w*|миллиард\w*|половин\w*"
    r"|несколько|много|one|two|three|four|five|six|seven|eight|nine|ten|hundred\w*"
    r"|thousand\w*|million\w*|billion\w*|half|dozen\w*|several)\b|[一二三四五六七八九十百千万亿两]",
    re.IGNORECASE,
)
_DATE_WORDS = re.compile(
    r"\d|\b(?:январ\w*|феврал\w*|март\w*|апрел\w*|ма[йя]\w*|июн\w*|июл\w*|август\w*|сентябр\w*"
    r"|октябр\w*|ноябр\w*|декабр\w*|весн\w*|лет\w*|осен\w*|зим\w*|вчера|сегодня|завтра"
    r"|век\w*|столети\w*|понедельник\w*|вторник\w*|сред[ау]|четверг\w*|пятниц\w*|суббот\w*"
    r"|воскресень\w*|утр\w*|вечер\w*|ноч\w*|после|до|перед|во\s+время|когда|year|century"
    r"|january|february|march|april|may|june|july|august|september|october|november"
    r"|december|spring|summer|autumn|fall|winter|today|tomorrow|yesterday|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday|after|before|during|since|until)\b"
    r"|[年月日]",
    re.IGNORECASE,
)


def question_type(question: str) -> AnswerType:
    """The type of answer the question asks for (``any`` when it cannot be told)."""
    if _QUANTITY_Q.search(question):
        return "quantity"
    if _DATE_Q.search(question):
        return "date"
    if _ENTITY_Q.search(question):
        return "entity"
    return "any"


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
