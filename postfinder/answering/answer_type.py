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
from postfinder.answering.sanitize import URL_RE

AnswerType = Literal["quantity", "date", "entity", "any"]
# What a quantity is counted in, where the question says: a price needs a currency (or
# "free"), a duration or an age a unit of time. "Сколько стоит поездка?" answered by
# "до 23:30" or "130 тысяч рабочих мест" is a post about the topic without the detail.
Unit = Literal["money", "time", ""]

_WORD = re.compile(r"\w+")
_QUANTITY_Q = re.compile(
    r"\b(?:сколько|скольк\w+|по\s?ч[её]м|какова?\s+(?:цена|стоимость|сумма|доля|численность)"
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
    r"|none|no)\b|[二三四五六七八九十百千万亿两]"
    # "一" is also the article ("是一个阅读器": "is a reader") and part of words (统一, 唯一).
    r"|(?<![统唯之万第])一(?![个款种些直起样般定切同旦致])",
    re.IGNORECASE,
)
_DATE_WORDS = re.compile(
    r"\d|\b(?:январ\w*|феврал\w*|март\w*|апрел\w*|ма(?:й|я|ю|е|ем)|июн\w*|июл\w*|август\w*|сентябр\w*"
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

_MONEY_Q = re.compile(
    r"(?<![а-яё])сто(?:ит|ят|ил|ит?ь|имост)\w*|цен[аеуы]\b|(?<![а-яё])(?:за|вы|о)?плат\w*|денег|деньг\w*"
    r"|бабк\w*|бабок|бабос\w*|бабл\w*|\bпо\s?ч[её]м\b"
    r"|рубл\w*|доллар\w*|евро\b|заработ\w*|потрат\w*|вложил\w*|выручк\w*|зарплат\w*"
    r"|штраф\w*|пошлин\w*|\bcost\w*|\bprice\w*|\bpa(?:y|id)\w*|\bfees?\b|co[uû]t\w*|\bprix"
    r"|pag(?:ar|o)\w*|钱|费|价|赎金|投资",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"[₽$€£¥元円]|руб|\bр\.|коп\w*|долл|бакс|евро|юан|тенге|гривн|франк|фунт|dollar|euro"
    r"|\b(?:usd|eur|rub|cny)\b|cents?\b|бесплатн\w*|даром|\bfree\b|gratuit\w*|gratis|免费",
    re.IGNORECASE,
)
# "Сколько лет было ...?" names its unit, and "39" answers it; "how long?" does not.
_NAMED_TIME = (
    r"скольк\w*\s+(?:\w+\s+)?(?:лет|год\w*|месяц\w*|недел\w*|дн\w*|сут\w*|час\w*|минут\w*"
    r"|секунд\w*)|combien\s+d['’e]\s*(?:heures|jours|semaines|mois|ans|minutes)"
    r"|几年|多少年|几天|多少天|几岁|几个月"
)
_NAMED_TIME_Q = re.compile(_NAMED_TIME, re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[0-9]|20)\d\d\b")
# A year with its word ("в ноябре 2004 года", "2023年") names a date, not a duration.
_YEAR_PHRASE = re.compile(r"(?<!\d)(?:1[0-9]|20)\d\d(?:-?[а-я]{1,2})?\s*(?:год\w*|г\.|年)", re.I)
# A duration asked without naming its unit, or with it (`_NAMED_TIME`).
_TIME_Q = re.compile(
    _NAMED_TIME + r"|скольк\w*\s+(?:\w+\s+)?(?:времени|ехать|идти|лететь|длит\w*|займ\w*)"
    r"|how\s+(?:long|old)|combien\s+de\s+temps|cu[aá]nto\s+tiempo|多久|多长时间|多大",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\bлет\b|\w*летн\w*|\bгод(?:а|ов)?\b|месяц|недел|\bдн|дней|день|сут|час|минут|секунд|\bмин\b|возраст"
    r"|век|year|month|week|\bdays?\b|hour|minute|second|\ban(?:s|née?s?)\b|mois|semaine|jour"
    r"|heure|a[nñ]os?\b|\bmes(?:es)?\b|semana|d[ií]as?\b|horas?\b|\d:\d\d|年|月|周|天|小时|分钟|秒|岁",
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
        # "в 2025 рублей" holds a sum, not a year: a number that counts money is no date.
        return bool(_DATE_WORDS.search(_ASKED["money"].sub(" ", phrase)))
    if kind == "entity":
        return bool(re.search(r"[^\W\d_]", phrase))  # a name has letters, not only digits
    return True


# "Сколько лицензий ...", "на сколько процентов ...": the word after the question word
# names what is counted (a plural genitive), whatever money word comes later.
_COUNTED = re.compile(
    r"\bскольк\w*\s+(?:[а-яё]+(?:их|ых)\s+)?([а-яё]+(?:ов|ев|ей|ий|ок|ек|ц|р))\b"
    r"|\bскольк\w*\s+раз\b|процент|%",
    re.IGNORECASE,
)


def question_unit(question: str) -> Unit:
    """What the quantity asked for is counted in: ``money``, ``time``, or ``""`` (a plain
    number, or not a quantity question)."""
    if question_type(question) != "quantity":
        return ""
    if _TIME_Q.search(question):
        return "time"  # before money: "сколько лет платить?" asks for a duration
    counted = _COUNTED.search(question)
    if counted is not None and not (counted.group(1) and _MONEY_Q.fullmatch(counted.group(1))):
        return ""
    return "money" if _MONEY_Q.search(question) else ""


def unit_fits(unit: Unit, phrase: str, question: str = "") -> bool:
    """True when ``phrase`` is counted in ``unit`` (always, for no unit).

    A duration whose unit the ``question`` names ("Сколько лет было ...?") may be a bare
    number, but not a year: "1993" does not say how old someone was.
    """
    if unit == "money":
        return bool(_MONEY.search(phrase))
    if unit == "time":
        phrase = _YEAR_PHRASE.sub(" ", phrase)
        if _TIME.search(phrase):
            return True
        named = bool(question) and bool(_NAMED_TIME_Q.search(question))
        return named and bool(_NUMBER.search(_YEAR.sub(" ", phrase)))
    return True


def answer_type_fits(question: str, phrase: str) -> bool:
    """`phrase_fits` for the type that ``question`` asks for."""
    return phrase_fits(question_type(question), phrase)


def reply_fits(question: str, reply: str) -> bool:
    """True when a written reply holds a word of the asked type the question lacks, in
    the unit asked for.

    "Посылка с маслом была задержана [1]." does not say how much: a generated answer
    to "Сколько масла было в посылке?" must add a number, not only repeat the question's;
    one to "Сколько стоит билет?" must say a sum of money (`question_unit`).
    """
    kind = question_type(question)
    if kind == "any":
        return True
    # A link's digits are no date or number: "t.me/stroi_mos_ru/21388" says nothing of when.
    reply = URL_RE.sub(" ", CITATION_RE.sub(" ", reply))
    if not unit_fits(question_unit(question), reply, question):
        return False
    asked = {word.lower() for word in _WORD.findall(question)}
    added = " ".join(w for w in _WORD.findall(reply) if w.lower() not in asked)
    return phrase_fits(kind, added)


# Digits grouped by thousands ("6 000", "1 805 674") or a plain or decimal number.
_AMOUNT = r"(?:[$€£¥₽]\s?)?(?:\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)*)"
_SCALE = r"(?:\s?(?:тыс\.?|тысяч\w*|млн|млрд|миллион\w*|миллиард\w*|万|亿|[kKМM]\b))?"
_ASKED = {
    "money": re.compile(
        _AMOUNT + _SCALE + r"\s?(?:₽|руб\w*|р\.|долл\w*|евро|юан\w*|\$|€|£|¥|美元|元|usd|eur)"
        r"|[$€£¥₽]\s?\d[\d.,]*" + _SCALE,
        re.IGNORECASE,
    ),
    "time": re.compile(
        _AMOUNT + r"[\s-]?(?:летн\w*|лет|года?|месяц\w*|недел\w*|дн\w*|дней|сут\w*|час\w*"
        r"|минут\w*|секунд\w*|years?|months?|weeks?|days?|hours?|minutes?|heures?|jours?|mois"
        r"|ans|天|小时|分钟|年|个月|岁)",
        re.IGNORECASE,
    ),
    # A unit written onto the number ("2.5GHz", "128ГБ") or a percent is part of it.
    "": re.compile(_AMOUNT + _SCALE + r"(?:\s?%|[A-Za-zА-Яа-яЁё]{1,5}(?![A-Za-zА-Яа-яЁё]))?"),
}


def asked_span(question: str, text: str) -> tuple[int, int] | None:
    """Where ``text`` says the quantity a how-much / how-many question asks for: the first
    sum of money, duration or number (as `question_unit` asks) that the question does not
    already hold; ``None`` for other questions or when there is none.

    A question that names what it counts ("Сколько пассажиров …?") gets only a number
    followed by that word: the "100" of "SSJ 100" or of "1200 квадратах" is not the
    count of passengers or cows, and a wrong number in bold reads as the answer.
    """
    if question_type(question) != "quantity":
        return None
    asked = {match.strip() for match in _ASKED[""].findall(question)}
    unit = question_unit(question)
    counted = _COUNTED.search(question) if unit == "" else None
    noun = counted.group(1) if counted is not None else None
    for match in _ASKED[unit].finditer(text):
        if match.group(0).strip() in asked or not unit_fits(unit, match[0], question):
            continue  # "2004 года" is a year, not how many years
        percent = noun is not None and noun.lower().startswith("процент") and "%" in match[0]
        if noun is None or percent or _names(text[match.end() :], noun):
            return match.start(), match.end()
    return None


def _names(rest: str, noun: str) -> bool:
    """True when one of the first two words of ``rest`` is ``noun`` in any ending."""
    stem = noun.lower()[: max(4, len(noun) - 2)]
    return any(word.lower().startswith(stem) for word in _WORD.findall(rest)[:2])
