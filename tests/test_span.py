"""Span answers: the model may only point at words of the shown sentences."""

from __future__ import annotations

import pytest
from conftest import CHANNEL_ID, NEWS, channel_refusal_file, message

from postfinder.answering.answer_type import (
    asked_span,
    phrase_fits,
    question_type,
    question_unit,
    reply_fits,
    unit_fits,
)
from postfinder.answering.decision import decide, span_confidence
from postfinder.answering.passages import RankedPost
from postfinder.answering.quote import render_quote
from postfinder.answering.span import (
    NO_SPAN,
    SpanConstraint,
    build_span_prompt,
    is_yes_no,
    locate,
)
from postfinder.app import App
from postfinder.bot.text import to_html
from postfinder.generation.fake import FakeGenerator
from postfinder.ingest.post import Post
from postfinder.settings import AnswerSettings

RINK = NEWS[4]  # "Каток в парке откроется 25 ноября, прокат коньков стоит 500 рублей в час."


@pytest.fixture
def llm() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def span_app(settings, make_app, llm, write_export, always_answer) -> App:
    settings.answer.style = "span"
    extra = "Запись на сайте sport-park.ru, подробности по телефону."
    messages = [message(i + 2, text) for i, text in enumerate([*NEWS, extra])]
    app = make_app(llm)
    app.indexer().index_export(write_export(messages), username="city", progress=False)
    always_answer.save(channel_refusal_file())
    return app


def test_constraint_allows_runs_of_whole_units_of_one_sentence() -> None:
    constraint = SpanConstraint(["Пошлина 6 000 ₽ за паспорт.", "Срок — месяц."], yes_no=False)
    assert constraint.accepts(b" 6 0") and not constraint.complete(b" 6 0")
    assert constraint.complete(b" 6 000 \xe2\x82\xbd")  # "₽" whole
    assert constraint.accepts(b"6 000 \xe2\x82")  # a token may end inside a character
    assert not constraint.complete(b"6 000 \xe2\x82")
    assert not constraint.accepts("6 000 рублей".encode())  # not the post's words
    assert not constraint.accepts("паспорт. Срок".encode())  # never across sentences
    assert not constraint.accepts("000 ₽ за".encode()[:1] + b"x")
    assert constraint.accepts(NO_SPAN[:3].encode()) and constraint.complete(NO_SPAN.encode())
    assert not constraint.accepts("Да".encode())  # yes/no words only for yes/no questions
    assert SpanConstraint(["Да, можно."], yes_no=True).complete("Да".encode())
    assert constraint.continuations(b" 6") == [b" 000"]


def test_locate_finds_the_phrase_at_word_boundaries_only() -> None:
    post = Post(CHANNEL_ID, 3, 1_700_000_000, "Каток откроется 25 ноября. Прокат стоит 500 рублей.")
    item = RankedPost(post, ["Каток откроется 25 ноября.", "Прокат стоит 500 рублей."], [0.2, 0.9])
    prompt = build_span_prompt("Сколько стоит прокат?", [item], lambda t: len(t.split()), 400)
    pick = locate("500 рублей", prompt)
    assert pick is not None and (pick.source.sentence, pick.text) == (1, "500 рублей")
    assert locate("00 рублей", prompt) is None  # inside a number
    assert locate("600 рублей", prompt) is None
    assert locate(NO_SPAN, prompt) is None
    assert "<question>\nСколько стоит прокат?\n</question>" in prompt.prompt.messages[-1].content


def test_a_pointed_phrase_leads_the_reply_in_bold_inside_its_quote(span_app, llm) -> None:
    llm.enqueue("500 рублей в час")
    answer = span_app.answerer().answer("Сколько стоит прокат коньков?")
    assert answer.mode == "generated" and answer.lead == "500 рублей в час"
    assert answer.answer == (
        "**500 рублей в час** — «Каток в парке откроется 25 ноября, прокат коньков стоит "
        "**500 рублей в час**.» [1]"
    )
    assert [s.id for s in answer.sources] == [6]
    assert answer.sources[0].link == "https://t.me/city/6"
    html = to_html(answer.answer, [(1, answer.sources[0].link)], "ru")
    assert html.startswith("<b>500 рублей в час</b> — «Каток") and html.count("<b>") == 3
    assert '.» <a href="https://t.me/city/6">[1]</a>' in html
    assert answer.signals["no_answer"] == 0.0 and answer.signals["type_ok"] == 1.0


def test_invented_words_never_reach_the_member(span_app, llm) -> None:
    llm.enqueue("900 рублей за вход")  # no shown sentence has these words
    answer = span_app.answerer().answer("Сколько стоит прокат коньков?")
    assert answer.mode == "extractive" and "900" not in answer.answer
    assert answer.answer == f"Вот что об этом писали в канале:\n«{RINK}» [1]"


def test_the_model_saying_no_answer_refuses_without_an_extract(span_app, llm) -> None:
    llm.enqueue(NO_SPAN)
    answer = span_app.answerer().answer("До скольки работает каток?")
    assert answer.mode == "refused" and answer.sources == []
    assert answer.answer == "В канале нет поста об этом." and answer.signals["no_answer"] == 1.0


def test_a_phrase_of_the_wrong_type_is_shown_as_its_sentence(span_app, llm) -> None:
    llm.enqueue("прокат коньков")  # "how much?" answered without a quantity
    answer = span_app.answerer().answer("Сколько стоит прокат коньков?")
    assert answer.mode == "extractive" and answer.signals["type_ok"] == 0.0
    assert answer.answer == f"Вот что об этом писали в канале:\n«{RINK}» [1]"


def test_a_domain_of_the_cited_post_stays_as_it_is(span_app, llm) -> None:
    llm.enqueue("sport-park.ru")
    answer = span_app.answerer().answer("Где записаться, на каком сайте?")
    assert "[link removed]" not in answer.answer
    assert answer.lead == "sport-park.ru" and "**sport-park.ru**" in answer.answer


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Сколько стоит прокат коньков?", "quantity"),
        ("How many trains a day?", "quantity"),
        ("Когда откроется каток?", "date"),
        ("В каком году построили мост?", "date"),
        ("Кто написал эту книгу?", "entity"),
        ("Where is the museum?", "entity"),
        ("这本书多少钱？", "quantity"),
        ("Как продлить загранпаспорт?", "any"),
        # The first question word decides; a later "когда" opens a subordinate clause.
        ("Кто был лидером, когда франки вошли в долину?", "entity"),
        ("Что происходит, когда число умножается на p?", "any"),
        ("Подскажите, когда откроется каток?", "date"),
        ("Сколько команд дошли до финала, когда он играл?", "quantity"),
        ("Между какими улицами когда-то жили торговцы?", "any"),
        ("What happens when the immune system is weak?", "any"),
        ("迷宫饭的原作漫画是谁画的？资源是什么格式？", "entity"),
    ],
)
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("Сколько стоит билет на каток?", "money"),
        ("сколько бабок Почта России потратит на переезд?", "money"),
        ("Разговорный клуб платный? Сколько стоит?", "money"),
        ("почём билет на каток Метелица?", "money"),  # colloquial "how much"
        ("А по чём вход?", "money"),
        ("Почему каток закрыт?", ""),  # "почему" (why) is no price
        ("Combien coûte la carte Navegante ?", "money"),
        ("博客园 VIP 会员一年多少钱？", "money"),
        ("сколько лет было Дженсену Хуану, когда он основал NVIDIA?", "time"),
        ("How long is the visa valid for?", "time"),
        ("Les cours durent combien d'heures ?", "time"),
        ("на сколько суток арестовали тех пятерых?", "time"),
        # What is counted comes right after the question word, whatever follows.
        ("сколько модулей в вашем бесплатном курсе?", ""),
        ("неужели кто-то платит за винрар? сколько лицензий он продает?", ""),
        ("на сколько процентов 1С задирает цены?", ""),
        ("Во сколько раз выросли цены на нефть?", ""),
        ("Из скольких цифр состоит это число?", ""),
        ("Сколько станций на новой ветке?", ""),
        ("Что стоит посмотреть в парке?", ""),  # not a quantity question at all
    ],
)
def test_question_units(question: str, unit: str) -> None:
    assert question_unit(question) == unit


def test_unit_phrases() -> None:
    for sum_of_money in ("500 рублей", "$1.1M", "1,46 €", "13.99美元", "бесплатно", "free"):
        assert unit_fits("money", sum_of_money), sum_of_money
    assert not unit_fits("money", "до 23:30") and not unit_fits("money", "130 тысяч мест")
    for duration in ("100 лет", "64-летний", "60 дней", "150 heures", "32天", "3 года"):
        assert unit_fits("time", duration), duration
    assert not unit_fits("time", "1993") and not unit_fits("time", "79 пассажиров")
    assert not unit_fits("time", "в ноябре 2004 года") and not unit_fits("time", "2023年")
    # A question that names the unit is answered by a bare number, but a year is no age.
    assert unit_fits("time", "39", "Сколько лет было Мэннингу?")
    assert not unit_fits("time", "в 1993 году", "Сколько лет было Хуану, когда он основал NVIDIA?")
    assert unit_fits("time", "3:08", "Сколько времени осталось в игре?")
    question = "Сколько стоит одна поездка на автобусе 847?"
    assert not reply_fits(question, "Автобус 847 ходит до 23:30 [1].")
    assert reply_fits(question, "Поездка стоит 62 рубля [1].")
    # A link's digits say no date: the archive footage post does not say when.
    when = "Когда начали строить кольцевую линию метро?"
    assert not reply_fits(when, "Больше в [видео](https://t.me/stroi_mos_ru/21388) [1].")
    assert reply_fits(when, "Строительство началось в 1950 году [1].")
    # "一个" is the article ("is a reader"), not the number of formats asked for.
    formats = "这个阅读器能读几种格式的书？"
    assert not reply_fits(formats, "它是一个适用于 Android 的阅读器。")
    assert reply_fits(formats, "支持7种格式。") and reply_fits(formats, "支持一百种格式。")


@pytest.mark.parametrize(
    ("question", "text", "bold"),
    [
        ("Сколько стоит пошлина?", "оплатите пошлину 6 000 ₽ за паспорт", "6 000 ₽"),
        ("Сколько станций на линии?", "На ней 31 станция и 21 пересадка", "31"),
        (
            "Сколько лет было Мэннингу в Суперкубке 50?",
            "В Суперкубке 50 39-летний Мэннинг",
            "39-летний",
        ),
        (
            "Сколько должна выплатить контора?",
            "Суд обязал выплатить 1 805 674 рубля",
            "1 805 674 рубля",
        ),
        ("龙芯3A6000 主频能到多少？", "主频达到2.5GHz，支持128位向量", "2.5GHz"),
        ("Какой объём у диска?", "Сколько места: 512ГБ, а скорость 3 ГБ/с", None),  # not how much
        ("Сколько процентов рынка?", "Доля выросла до 3,07 % в июне", "3,07 %"),
        # It counts passengers: a number that counts something else is not made bold.
        ("Сколько пассажиров было в суперджете?", "Самолёт SSJ 100 сел в Анталье", None),
        ("Сколько пассажиров было на борту?", "SSJ 100 вёз 79 взрослых пассажиров", "79"),
        ("Сколько коров вывели?", "Горит ферма на 1200 квадратах", None),
        # "2004 года" is a year: the duration asked for is "20 лет".
        ("Сколько лет продолжалось плавание?", "В ноябре 2004 года, за 20 лет пути", "20 лет"),
        ("Когда откроют станцию?", "Станцию откроют 1 марта", None),  # not a quantity
        ("Сколько стоит билет?", "Билеты продают в кассах", None),
    ],
)
def test_the_quantity_asked_for_is_found_in_the_quote(
    question: str, text: str, bold: str | None
) -> None:
    span = asked_span(question, text)
    assert (text[span[0] : span[1]] if span else None) == bold


def test_phrase_types() -> None:
    assert phrase_fits("quantity", "6 000 ₽") and phrase_fits("quantity", "три тысячи")
    assert not phrase_fits("quantity", "на Госуслугах")
    for words in ("две", "дважды", "одиннадцати", "две трети", "ни в одном", "twice"):
        assert phrase_fits("quantity", words), words
    assert phrase_fits("date", "25 ноября") and phrase_fits("date", "весной")
    assert not phrase_fits("date", "Генеральный совет")
    assert not phrase_fits("date", "до него") and not phrase_fits("date", "after him")
    assert phrase_fits("date", "в XX веке") and phrase_fits("date", "после Первой мировой войны")
    # A sum is no date: "В каком году…?" is not answered by "обойдётся в 2025 рублей".
    assert not phrase_fits("date", "обойдется в 2025 рублей") and phrase_fits("date", "в 2025 году")
    assert phrase_fits("date", "в 1851 году билет стоил 7 рублей")
    assert phrase_fits("date", "откроется в мае, вход 300 рублей") and not phrase_fits(
        "date", "маяк"
    )
    assert phrase_fits("entity", "Перл Маки") and not phrase_fits("entity", "1886")
    assert phrase_fits("any", "что угодно")


def test_yes_no_questions() -> None:
    assert is_yes_no("Можно ли оформить паспорт онлайн?") and is_yes_no("Is parking free?")
    assert not is_yes_no("Сколько стоит парковка?")


def test_decision_thresholds() -> None:
    cfg = AnswerSettings(span_refuse_above=0.5, span_retrieval_weight=0.2, span_min_confidence=-2)
    assert decide(0.9, 0.6, -0.1, cfg) == "answer"  # 0.6 < 0.5 + 0.2 * 0.9
    assert decide(0.1, 0.6, -0.1, cfg) == "refuse"
    assert decide(0.9, 0.1, -2.5, cfg) == "extract"
    assert span_confidence([-5.0, -1.0, -3.0]) == -2.0 and span_confidence([-1.0]) == 0.0


def test_a_domain_of_the_cited_post_stays_in_a_free_answer(span_app, llm) -> None:
    span_app.settings.answer.style = "free"
    llm.enqueue("Запись на сайте sport-park.ru [1].")
    answer = span_app.answerer().answer("Где записаться, на каком сайте?")
    assert answer.mode == "generated" and "[link removed]" not in answer.answer
    assert answer.lead == "Запись на сайте sport-park.ru [1]."


def test_only_the_start_of_a_very_long_sentence_is_shown_and_may_be_copied() -> None:
    long = "Стадион " + " ".join(f"слово{i}" for i in range(300)) + " стоит 100 рублей."
    post = Post(CHANNEL_ID, 3, 1_700_000_000, long)
    item = RankedPost(post, [long], [0.9])
    prompt = build_span_prompt("Где стадион?", [item], lambda t: len(t.split()), 300)
    (source,) = prompt.sources
    assert long.startswith(source.text) and len(source.text) < len(long)
    assert locate("Стадион слово0", prompt) is not None
    assert locate("100 рублей", prompt) is None  # never shown to the model


def test_only_the_pointed_phrase_is_bold_in_its_quote() -> None:
    sentence = "**Каток открыт** до 22:00, вход 300 рублей."
    post = Post(CHANNEL_ID, 3, 1_700_000_000, sentence)
    item = RankedPost(post, [sentence], [0.9])
    start = sentence.index("300")
    quote = render_quote(item, 0, (start, start + len("300 рублей")), 1000)
    assert quote == "«Каток открыт до 22:00, вход **300 рублей**.» [1]"
