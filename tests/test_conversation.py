"""The front-end-neutral question flow, driven by a recording replier (no Telegram)."""

from __future__ import annotations

import asyncio

from conftest import CHANNEL_ID, RecordingReplier, channel_refusal_file

from postfinder.app import App
from postfinder.conversation.service import Incoming

RATE_RU = "Слишком много вопросов подряд, подождите немного."
BUSY_RU = "Сейчас я отвечаю на другие вопросы, спросите, пожалуйста, через минуту."


def ask(app: App, incoming: Incoming) -> tuple[str | None, RecordingReplier]:
    replier = RecordingReplier()
    outcome = asyncio.run(app.conversation.ask(incoming, replier))
    return outcome, replier


def test_a_question_is_answered_once_and_recorded(convo_app: App) -> None:
    question = Incoming(1, 5, 42, "Как продлить загранпаспорт?", CHANNEL_ID)
    outcome, replier = ask(convo_app, question)
    assert outcome == "generated"
    assert replier.events[0] == ("working", "ru")
    passport = "Как продлить загранпаспорт: заявление на Госуслугах, пошлина 6000 рублей [1]."
    assert replier.events[-1] == ("deliver", passport)  # the fake model's reply, checked
    again, repeat = ask(convo_app, question)  # the same update delivered twice
    assert again is None and repeat.events == []
    stats = convo_app.conversation.storage.stats(chat_id=1)
    assert stats["questions"] == 1 and stats["modes"]["generated"] == 1


def test_the_chats_language_reaches_the_answers_phrases(convo_app: App, always_refuse) -> None:
    always_refuse.save(channel_refusal_file())
    convo_app.conversation.storage.set_chat_settings(9, language="uk")
    outcome, replier = ask(convo_app, Incoming(9, 1, 42, "Кто написал Войну и мир?", CHANNEL_ID))
    assert outcome == "refused"
    assert replier.events == [("working", "uk"), ("deliver", "У каналі немає допису про це.")]


def test_rate_limit_and_full_queue_are_notices(convo_app: App) -> None:
    convo_app.settings.telegram.user_per_minute = 1
    ask(convo_app, Incoming(1, 1, 42, "Как продлить загранпаспорт?", CHANNEL_ID))
    outcome, replier = ask(convo_app, Incoming(1, 2, 42, "А метро когда?", CHANNEL_ID))
    assert outcome == "rate_limited" and replier.events == [("notice", RATE_RU)]
    queue = convo_app.work_queue
    queue.max_waiting = 0
    assert queue.try_reserve()  # someone else holds the only place
    outcome, replier = ask(convo_app, Incoming(2, 3, 43, "Когда откроется каток?", CHANNEL_ID))
    assert outcome == "busy" and replier.events == [("notice", BUSY_RU)]
    queue.release()


def test_one_queue_for_every_front_end(convo_app: App) -> None:
    assert convo_app.conversation.queue is convo_app.work_queue


def test_unasked_questions_are_answered_only_when_sure(convo_app: App, always_refuse) -> None:
    unasked = Incoming(1, 5, 42, "Как продлить загранпаспорт?", CHANNEL_ID, addressed=False)
    outcome, replier = ask(convo_app, unasked)
    passport = "Как продлить загранпаспорт: заявление на Госуслугах, пошлина 6000 рублей [1]."
    assert (outcome, replier.events) == ("generated", [("deliver", passport)])  # no 👀 first
    convo_app.conversation.unasked_min_probability = 1.0  # now it is not sure enough
    outcome, replier = ask(
        convo_app, Incoming(1, 6, 42, "Как продлить паспорт?", CHANNEL_ID, addressed=False)
    )
    assert (outcome, replier.events) == ("silent", [])
    asked = Incoming(1, 7, 43, "Как продлить паспорт?", CHANNEL_ID)
    assert ask(convo_app, asked)[0] == "generated"  # asked directly: the usual decision
    always_refuse.save(channel_refusal_file())
    convo_app.conversation.unasked_min_probability = 0.0
    outcome, replier = ask(
        convo_app, Incoming(1, 8, 44, "Где купить слона?", CHANNEL_ID, addressed=False)
    )
    assert (outcome, replier.events) == ("silent", [])  # never an unasked refusal
    stats = convo_app.storage.stats(chat_id=1)
    assert stats["modes"]["refused"] == 2 and stats["questions"] == 4


def test_unasked_questions_never_get_busy_or_rate_notices(convo_app: App) -> None:
    convo_app.conversation.user_limits = type(convo_app.conversation.user_limits)(0.0001)
    first = Incoming(1, 5, 42, "Как продлить загранпаспорт?", CHANNEL_ID, addressed=False)
    assert ask(convo_app, first)[0] == "generated"
    outcome, replier = ask(convo_app, Incoming(1, 6, 42, "А ещё?", CHANNEL_ID, addressed=False))
    assert (outcome, replier.events) == ("rate_limited", [])
