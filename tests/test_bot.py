"""The bot, driven through the real python-telegram-bot stack against a fake Bot API server."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import CHANNEL_ID, DISCUSSION_GROUP, NEWS, channel_refusal_file, until
from fake_telegram import BOT, FakeTelegram
from pydantic import SecretStr
from telegram.error import NetworkError

from postfinder.app import App
from postfinder.bot.handlers import PostFinderBot
from postfinder.bot.messages import api_id, export_id
from postfinder.bot.text import looks_like_question, split_message, to_html
from postfinder.bot.wiring import build_application, run, wait_for_bot_api
from postfinder.conversation.storage import BotStorage
from postfinder.errors import ConfigError
from postfinder.generation.fake import FakeGenerator

GROUP = DISCUSSION_GROUP


@pytest.fixture
def llm() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def bot_app(
    settings, make_app, fake: FakeTelegram, llm: FakeGenerator, write_export, always_answer
) -> App:
    settings.telegram.token = SecretStr("123456:SECRET-TOKEN")
    settings.telegram.base_url = fake.base_url
    app = make_app(llm)
    app.indexer().index_export(write_export(), username="testchan", progress=False)
    always_answer.save(channel_refusal_file())
    return app


def run_bot(app: App, scenario: Callable[[Any], Awaitable[None]]) -> None:
    """Start the Application with long polling, run the scenario, stop."""

    async def main() -> None:
        application, bot = build_application(app)
        async with application:
            await application.post_init(application)  # type: ignore[misc]
            await application.start()
            await application.updater.start_polling(poll_interval=0.0, timeout=0)  # type: ignore[union-attr]
            try:
                await scenario(bot)
            finally:
                await application.updater.stop()  # type: ignore[union-attr]
                await application.stop()

    asyncio.run(main())


def group_message(mid: int, text: str, user: int = 42, chat: int = GROUP, **extra: Any) -> dict:
    if text.startswith("/"):  # Telegram marks commands as entities
        extra.setdefault(
            "entities", [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        )
    return {
        "message_id": mid,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "supergroup", "title": "Talk"},
        "from": {"id": user, "is_bot": False, "first_name": "U", "language_code": "ru"},
        "text": text,
        **extra,
    }


PRIVATE_CHAT = {"id": 42, "type": "private", "first_name": "U"}


def private_message(mid: int, text: str) -> dict:
    """A member's message in their private chat with the bot (user 42)."""
    return {**group_message(mid, text, chat=42), "chat": PRIVATE_CHAT}


def press_forgetme(fake: FakeTelegram, query_id: str) -> None:
    """User 42 presses the /forgetme confirmation button."""
    fake.push(
        callback_query={
            "id": query_id,
            "from": {"id": 42, "is_bot": False, "first_name": "U", "language_code": "ru"},
            "chat_instance": "ci",
            "data": "forgetme",
            "message": {**private_message(9001, "Удалить?"), "from": BOT},
        }
    )


def replies_to(fake: FakeTelegram, mid: int, chat: int = GROUP) -> list[dict]:
    return [
        p
        for p in fake.sent("sendMessage")
        if int(p["chat_id"]) == chat and (p.get("reply_parameters") or {}).get("message_id") == mid
    ]


def final_edits(fake: FakeTelegram) -> list[dict]:
    return [
        p for p in fake.sent("editMessageText") if "reply_markup" in p or "Источники" in p["text"]
    ]


def test_mention_in_discussion_group_gets_a_reply_with_links(bot_app, fake, llm) -> None:
    llm.enqueue(f"{NEWS[1]} [1]")

    async def scenario(bot: Any) -> None:
        assert bot.groups == {GROUP: CHANNEL_ID}  # learned from linked_chat_id
        fake.push(message=group_message(5, "@pf_bot как продлить загранпаспорт?"))
        await until(lambda: final_edits(fake))

    run_bot(bot_app, scenario)
    (placeholder,) = replies_to(fake, 5)
    assert fake.sent("sendChatAction")[0]["action"] == "typing"
    final = final_edits(fake)[-1]
    assert 'href="https://t.me/testchan/3"' in final["text"]
    assert final["parse_mode"] == "HTML"
    buttons = final["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍", "👎"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    del placeholder


def test_silent_outside_allowed_chats_and_for_bots(bot_app, fake, llm) -> None:
    llm.default = f"{NEWS[0]} [1]"

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(6, "@pf_bot метро?", chat=-1005555))
        bot_msg = group_message(7, "@pf_bot метро?")
        bot_msg["from"] = {"id": 555, "is_bot": True, "first_name": "OtherBot"}
        fake.push(message=bot_msg)
        fake.push(message=group_message(8, "просто болтаем про погоду"))  # no trigger
        # The control: the same question from a member in the discussion group, pushed
        # last in the same run, is answered. So the bot was running and got the three
        # messages before it; its silence on them is its decision, not a dead harness.
        fake.push(message=group_message(9, "@pf_bot метро?"))
        await until(lambda: final_edits(fake))
        await asyncio.sleep(1.0)  # room for a late reply to one of the three

    run_bot(bot_app, scenario)
    replies = [
        (int(p["chat_id"]), p["reply_parameters"]["message_id"]) for p in fake.sent("sendMessage")
    ]
    assert replies == [(GROUP, 9)]
    assert "https://t.me/testchan/2" in final_edits(fake)[-1]["text"]  # the metro post
    # Nothing else was written anywhere: no reply, typing action or reaction to the three.
    written = [(name, p) for name, p, _ in fake.calls if name.startswith(("send", "set", "edit"))]
    assert all(int(p["chat_id"]) == GROUP for _, p in written), written
    assert {p["message_id"] for name, p in written if name == "setMessageReaction"} <= {9}


def pool_post() -> dict[str, Any]:
    """A new post of the test channel, as the Bot API sends it (post 77)."""
    return {
        "message_id": 77,
        "date": int(time.time()),
        "chat": {"id": api_id(CHANNEL_ID), "type": "channel", "title": "Test channel"},
        "text": "Новый бассейн на набережной откроется в мае, вход 300 рублей.",
    }


def test_new_channel_post_is_found_and_edits_are_reindexed(bot_app, fake, llm) -> None:
    channel = bot_app.catalog.get(CHANNEL_ID)
    post = pool_post()

    async def scenario(bot: Any) -> None:
        fake.push(channel_post=post)
        await until(lambda: channel.docs.get([77]))
        fake.push(message=group_message(9, "@pf_bot когда откроется бассейн на набережной?"))
        await until(lambda: final_edits(fake))
        edited = {
            **post,
            "text": "Новый бассейн на набережной откроется в июне.",
            "edit_date": int(time.time()),
        }
        fake.push(edited_channel_post=edited)
        await until(lambda: "июне" in channel.docs.get([77])[77].text)

    llm.enqueue("x")  # a failing draft: the extract is shown, with the new post's link
    run_bot(bot_app, scenario)
    assert "https://t.me/testchan/77" in final_edits(fake)[-1]["text"]
    hits = bot_app.retriever().search("бассейн июне", k=1).hits
    assert hits[0].post_id == 77


def test_feedback_is_stored_once_per_user_and_changeable(bot_app, fake, llm) -> None:
    llm.enqueue(f"{NEWS[4]} [1]")

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(10, "/ask когда откроется каток?"))
        final = await until(lambda: final_edits(fake))
        data = final[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        for count, vote_data in enumerate((data, data.rsplit(":", 1)[0] + ":-1"), start=1):
            fake.push(
                callback_query={
                    "id": f"cb{count}",
                    "from": {"id": 42, "is_bot": False, "first_name": "U", "language_code": "ru"},
                    "chat_instance": "ci",
                    "data": vote_data,
                }
            )
            await until(lambda n=count: len(fake.sent("answerCallbackQuery")) >= n)

    run_bot(bot_app, scenario)
    storage = BotStorage(bot_app.settings.bot_db, bot_app.settings.secret_file)
    report = storage.stats()
    assert report["feedback"] == {"up": 0, "down": 1}
    assert report["modes"]["generated"] == 1
    storage.close()


def test_settings_need_a_real_admin(bot_app, fake) -> None:
    fake.admins.add((GROUP, 7))

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(11, "/settings auto on", user=42))
        await until(lambda: replies_to(fake, 11))
        fake.push(message=group_message(12, "/settings auto on", user=7))
        await until(lambda: replies_to(fake, 12))
        fake.push(message=group_message(13, "Где купить билет на электричку?", user=43))
        await until(lambda: replies_to(fake, 13))

    run_bot(bot_app, scenario)
    assert "only" in replies_to(fake, 11)[0]["text"]
    assert replies_to(fake, 12)[0]["text"].startswith("auto-answer: on")
    assert [p["user_id"] for p in fake.sent("getChatMember")] == [42, 7]


def test_retry_after_is_honoured(bot_app, fake, llm) -> None:
    fake.fail_next("sendMessage", 1, retry_after=1)

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(14, "@pf_bot каток"))
        await until(lambda: final_edits(fake))

    run_bot(bot_app, scenario)
    first, second = fake.times("sendMessage")[:2]
    assert second - first >= 0.95
    assert len(replies_to(fake, 14)) == 2  # the refused call and the one that went through


def _burst(
    bot_app, fake, llm, chats: int, per_chat: int, distinct: bool = False
) -> dict[tuple[int, int], list[dict]]:
    groups = {-1009100000000 - i: CHANNEL_ID for i in range(chats)}
    bot_app.settings.telegram.groups = groups

    async def scenario(bot: Any) -> None:
        for number, chat in enumerate(groups):
            for i in range(per_chat):
                text = "@pf_bot как продлить загранпаспорт?"
                if distinct:  # else the others wait for the first one's answer, not in line
                    text = f"@pf_bot как продлить загранпаспорт, вопрос {number * 10 + i}?"
                user = 1000 + number * 100 + i  # distinct askers: no per-user limit applies
                fake.push(message=group_message(100 + i, text, user=user, chat=chat))
        await until(
            lambda: all(
                replies_to(fake, 100 + i, chat) for chat in groups for i in range(per_chat)
            ),
            timeout=60,
        )
        await asyncio.sleep(0.5)  # no late duplicates

    run_bot(bot_app, scenario)
    return {(c, 100 + i): replies_to(fake, 100 + i, c) for c in groups for i in range(per_chat)}


def test_burst_of_50_questions_from_10_chats(bot_app, fake, llm) -> None:
    bot_app.settings.llm.queue_size = 100
    llm.default, llm.delay = f"{NEWS[1]} [1]", 0.005
    replies = _burst(bot_app, fake, llm, chats=10, per_chat=5)
    assert len(replies) == 50 and all(len(r) == 1 for r in replies.values())
    assert len(llm.history) == 1  # one answer written; the other 49 waited for it or reused it
    storage = BotStorage(bot_app.settings.bot_db, bot_app.settings.secret_file)
    assert storage.stats()["modes"]["generated"] == 50
    storage.close()


def test_full_queue_answers_busy(bot_app, fake, llm) -> None:
    bot_app.settings.llm.queue_size = 2
    llm.default, llm.delay = f"{NEWS[1]} [1]", 0.02
    replies = _burst(bot_app, fake, llm, chats=5, per_chat=2, distinct=True)
    assert all(len(r) == 1 for r in replies.values())
    busy = [r for r in replies.values() if "через минуту" in r[0]["text"]]
    assert 1 <= len(busy) < len(replies)


def test_slow_model_is_stopped_and_the_extract_is_sent(bot_app, fake, llm) -> None:
    bot_app.settings.llm.timeout_s = 0.5
    llm.default, llm.delay = "слово " * 200, 0.05

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(15, "@pf_bot когда откроется каток?"))
        await until(lambda: final_edits(fake), timeout=10)

    started = time.monotonic()
    run_bot(bot_app, scenario)
    assert time.monotonic() - started < 8
    text = final_edits(fake)[-1]["text"]
    assert "Вот что об этом писали в канале" in text and "https://t.me/testchan/6" in text


def test_serve_refuses_without_token_or_channels(settings, app: App) -> None:
    with pytest.raises(ConfigError, match="POSTFINDER_TELEGRAM__TOKEN"):
        build_application(app)
    settings.telegram.token = SecretStr("1:x")
    with pytest.raises(ConfigError, match="No channel is indexed"):
        build_application(app)


def test_serve_reports_a_rejected_token(bot_app, fake) -> None:
    fake.reject_token = True
    with pytest.raises(ConfigError, match="Telegram rejected the bot token"):
        run(bot_app)
    logged = "\n".join(str(call) for call in fake.calls)
    assert "getMe" in logged


def test_token_never_reaches_the_logs(bot_app, fake, caplog) -> None:
    caplog.set_level("DEBUG")

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(16, "@pf_bot каток"))
        await until(lambda: final_edits(fake))

    run_bot(bot_app, scenario)
    assert caplog.records and "SECRET-TOKEN" not in caplog.text


def test_text_helpers() -> None:
    assert looks_like_question("Когда откроют метро?")
    assert looks_like_question("сколько стоит билет до аэропорта")
    assert looks_like_question("How do I renew a passport")
    assert not looks_like_question("Спасибо, всё понятно")
    rendered = to_html("a < b [1]", [(1, "https://t.me/x/1")], "en")
    assert rendered.startswith('a &lt; b <a href="https://t.me/x/1">[1]</a>')
    assert "<b>Sources:</b>" in rendered
    parts = split_message("line\n" * 2000)
    assert all(len(p) <= 4096 for p in parts) and len(parts) == 3
    assert export_id(-1001999000001) == 1999000001 and api_id(1999000001) == -1001999000001
    assert BOT["username"] == "pf_bot"


def test_a_failed_poll_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """A network error outside any update is logged as one warning, without a traceback."""
    context = SimpleNamespace(error=NetworkError("Connection refused"))
    with caplog.at_level("WARNING"):
        asyncio.run(PostFinderBot.on_error(None, None, context))  # type: ignore[arg-type]
    (record,) = caplog.records
    assert record.getMessage() == "Telegram Bot API unreachable (Connection refused); retrying"
    assert record.exc_info is None


def test_start_up_waits_for_an_unreachable_bot_api(caplog: pytest.LogCaptureFixture) -> None:
    """Each failed attempt is one warning line without a traceback; then a clear error."""
    import socket  # pylint: disable=import-outside-toplevel

    with socket.socket() as probe_socket:  # a port on this machine where nothing listens
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    token = "123:SECRET"
    with caplog.at_level("WARNING", logger="postfinder"):
        with pytest.raises(ConfigError, match="after 3 attempts"):
            asyncio.run(
                wait_for_bot_api(token, f"http://127.0.0.1:{port}", first_delay_s=0.01, attempts=3)
            )
    lines = [r for r in caplog.records if r.name.startswith("postfinder")]
    assert [r.getMessage().split(" (attempt ")[1][:1] for r in lines] == ["1", "2"]
    assert all(r.exc_info is None and "SECRET" not in r.getMessage() for r in lines)


def test_start_up_proceeds_when_the_bot_api_answers(fake) -> None:
    asyncio.run(wait_for_bot_api("1:x", fake.base_url, attempts=1))
    assert any(name == "getMe" for name, _, _ in fake.calls)


CHANNEL_CHAT = {"id": api_id(CHANNEL_ID), "type": "channel", "title": "Test channel"}


def automatic_forward(mid: int, post_id: int) -> dict:
    """A channel post as Telegram copies it into the discussion group."""
    return {
        **group_message(mid, NEWS[post_id - 2], user=777000),
        "is_automatic_forward": True,
        "sender_chat": CHANNEL_CHAT,
        "forward_origin": {
            "type": "channel",
            "chat": CHANNEL_CHAT,
            "message_id": post_id,
            "date": int(time.time()),
        },
    }


def test_comment_thread_answers_from_the_commented_post(bot_app, fake, llm) -> None:
    # "Когда откроется?" fits the metro post (2) and the rink post (6) alike: the
    # thread it is asked in decides.
    llm.default = "[1]"  # the draft fails the check: the extract of the chosen post is sent
    rink, metro = automatic_forward(300, 6), automatic_forward(400, 2)

    async def scenario(bot: Any) -> None:
        fake.push(message=rink)
        fake.push(message=metro)
        await until(lambda: len(bot.threads) == 2)
        fake.push(message=group_message(301, "А когда откроется?", reply_to_message=rink))
        fake.push(message=group_message(302, "Красиво!", reply_to_message=rink))
        later = group_message(401, "@pf_bot а когда откроется?", message_thread_id=400)
        later["reply_to_message"] = group_message(399, "интересно", message_thread_id=400)
        fake.push(message=later)
        await until(lambda: len(final_answers(fake)) == 2)

    run_bot(bot_app, scenario)
    assert len(replies_to(fake, 301)) == 1 and len(replies_to(fake, 401)) == 1
    assert not replies_to(fake, 302)  # a comment that is no question stays unanswered
    # Unasked (no mention): no placeholder, the answer comes whole once the bot is sure.
    (unasked,) = replies_to(fake, 301)
    assert "https://t.me/testchan/6" in unasked["text"] and "reply_markup" in unasked
    assert any("https://t.me/testchan/2" in e["text"] for e in final_edits(fake))
    assert unasked["chat_id"] == GROUP


def final_answers(fake: FakeTelegram) -> list[dict]:
    """Answers shown: placeholders edited into answers, and answers sent whole."""
    sent = [p for p in fake.sent("sendMessage") if "reply_markup" in p]
    return final_edits(fake) + sent


def test_unasked_questions_get_a_reply_only_when_the_bot_is_sure(bot_app, fake, llm) -> None:
    llm.default = "[1]"
    bot_app.conversation.unasked_min_probability = 1.0  # nothing is sure enough
    rink = automatic_forward(300, 6)

    async def scenario(bot: Any) -> None:
        fake.push(message=rink)
        await until(lambda: len(bot.threads) == 1)
        fake.push(message=group_message(301, "А когда откроется?", reply_to_message=rink))
        fake.push(message=group_message(302, "@pf_bot а когда откроется?", reply_to_message=rink))
        await until(lambda: final_answers(fake))
        await asyncio.sleep(0.5)  # the unasked one had as long

    run_bot(bot_app, scenario)
    assert not replies_to(fake, 301)
    assert all(int(r["message_id"]) != 301 for r in fake.sent("setMessageReaction"))
    assert "https://t.me/testchan/6" in final_answers(fake)[0]["text"]  # asked: answered
    stats = bot_app.storage.stats()
    assert stats["questions"] == 2 and stats["modes"]["refused"] == 1


def test_long_message_is_answered_with_a_native_quote_and_a_reaction(bot_app, fake, llm) -> None:
    llm.enqueue(f"{NEWS[1]} [1]")
    text = "@pf_bot " + "Долго рассказываю про свой отпуск и планы. " * 40
    text += "Как продлить загранпаспорт?"

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(50, text))
        await until(lambda: final_edits(fake))

    run_bot(bot_app, scenario)
    (placeholder,) = replies_to(fake, 50)
    quote = placeholder["reply_parameters"]["quote"]
    assert quote == "Как продлить загранпаспорт?" and quote in text
    (reaction,) = fake.sent("setMessageReaction")
    assert reaction["message_id"] == 50
    assert reaction["reaction"] == [{"type": "emoji", "emoji": "👀"}]
    assert "https://t.me/testchan/3" in final_edits(fake)[-1]["text"]


def test_private_chat_streams_a_draft_then_sends_the_answer(bot_app, fake, llm) -> None:
    bot_app.settings.telegram.private_chats = True
    # Streaming is for the free style (a span answer is decided whole, in a few tokens).
    bot_app.settings.answer.style = "free"
    llm.default, llm.delay = f"{NEWS[1]} [1] " + "Подробности в посте [1]. " * 3, 0.05
    bot_app.settings.telegram.edit_interval_s = 0.1

    async def scenario(bot: Any) -> None:
        private = group_message(60, "как продлить загранпаспорт?", chat=42)
        private["chat"] = {"id": 42, "type": "private", "first_name": "U"}
        fake.push(message=private)
        await until(lambda: [p for p in fake.sent("sendMessage") if "reply_markup" in p])

    run_bot(bot_app, scenario)
    drafts = fake.sent("sendMessageDraft")
    assert drafts and all(int(d["chat_id"]) == 42 for d in drafts)
    (final,) = [p for p in fake.sent("sendMessage") if int(p["chat_id"]) == 42]
    assert "https://t.me/testchan/3" in final["text"] and not fake.sent("editMessageText")


def test_webhook_mode_needs_a_secret_before_it_listens(bot_app, fake) -> None:
    cfg = bot_app.settings.telegram
    cfg.mode, cfg.webhook_url = "webhook", "https://bot.example.org/hook"
    for secret in (None, "short", "has spaces in it, sixteen+"):
        cfg.webhook_secret = SecretStr(secret) if secret else None
        with pytest.raises(ConfigError, match="POSTFINDER_TELEGRAM__WEBHOOK_SECRET"):
            run(bot_app)
    assert not fake.sent("getMe")  # refused before contacting Telegram or listening
    assert cfg.webhook_listen == "127.0.0.1"


def test_token_is_redacted_from_tracebacks() -> None:
    import logging

    from postfinder.bot.wiring import RedactToken

    try:
        raise NetworkError("Bad Gateway: POST /bot123456:SECRET-TOKEN/sendMessage")
    except NetworkError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactToken("123456:SECRET-TOKEN").filter(record)
    text = logging.Formatter().format(record)
    assert "SECRET-TOKEN" not in text and "/bot<token>/sendMessage" in text


def test_admin_forgets_a_deleted_post_and_it_is_never_cited_again(bot_app, fake, llm) -> None:
    fake.admins.add((GROUP, 7))
    llm.default = "[1]"  # drafts fail the check: the extract shows which post was used

    async def scenario(bot: Any) -> None:
        fake.push(message=group_message(20, "/forget https://t.me/testchan/3", user=42))
        await until(lambda: replies_to(fake, 20))
        fake.push(message=group_message(21, "/forget https://t.me/testchan/3", user=7))
        await until(lambda: replies_to(fake, 21))
        fake.push(message=group_message(22, "/forget https://t.me/otherchan/3", user=7))
        await until(lambda: replies_to(fake, 22))
        fake.push(message=group_message(23, "@pf_bot как продлить загранпаспорт?", user=43))
        await until(lambda: final_edits(fake))

    run_bot(bot_app, scenario)
    assert "только для администраторов" in replies_to(fake, 20)[0]["text"]
    assert "Пост 3 удалён из поиска" in replies_to(fake, 21)[0]["text"]
    assert "/forget" in replies_to(fake, 22)[0]["text"]
    assert "testchan/3" not in final_edits(fake)[-1]["text"]
    assert 3 not in bot_app.catalog.get(CHANNEL_ID).docs.ids()


def test_index_while_serving_is_handed_to_the_bot(bot_app, fake, llm, write_export) -> None:
    from conftest import message, service
    from typer.testing import CliRunner

    from postfinder.cli import cli
    from postfinder.store.lock import WriterLock

    llm.default = f"{NEWS[1]} [1]"
    newer = write_export(
        [service(1)]
        + [message(i + 2, t) for i, t in enumerate(NEWS)]
        + [message(9, "Бассейн на Лесной закрыт на ремонт до 1 апреля.")],
        name="newer.json",
    )
    outcome: dict[str, Any] = {}

    async def scenario(bot: Any) -> None:
        # What `postfinder serve` holds while it runs:
        with WriterLock(bot_app.settings.data_dir, "serve"):
            cli_run = asyncio.create_task(
                asyncio.to_thread(
                    CliRunner().invoke,
                    cli,
                    ["--data-dir", str(bot_app.settings.data_dir), "index", str(newer)],
                    env={"POSTFINDER_EMBEDDING__MODE": "fake", "POSTFINDER_LLM__MODE": "none"},
                )
            )
            fake.push(message=group_message(70, "@pf_bot как продлить загранпаспорт?"))
            result = await asyncio.wait_for(cli_run, 30)
            await until(lambda: final_edits(fake))
        outcome["result"] = result

    run_bot(bot_app, scenario)
    result = outcome["result"]
    assert result.exit_code == 0, result.output
    assert "the export was handed to it" in result.stderr
    assert "1 added, 0 updated, 6 unchanged" in result.stdout
    assert 9 in bot_app.catalog.get(CHANNEL_ID).docs.ids()
    assert "https://t.me/testchan/3" in final_edits(fake)[-1]["text"]
    assert not list((bot_app.settings.data_dir / "inbox").iterdir())


def test_retention_purges_on_schedule_while_running(bot_app) -> None:
    from postfinder.bot.wiring import _purge_daily

    storage = BotStorage(bot_app.settings.bot_db, bot_app.settings.secret_file)
    qid = storage.claim_question(GROUP, 1, 42, "мой телефон 8 916 123-45-67, перезвоните", 1)
    assert qid is not None
    days = [0.0]

    async def main() -> None:
        task = asyncio.create_task(
            _purge_daily(storage, 30, every_s=0.01, clock=lambda: time.time() + days[0] * 86400)
        )
        await asyncio.sleep(0.05)
        assert storage.stats(chat_id=GROUP)["questions"] == 1
        days[0] = 31  # a month later, the running bot forgets the text on its own
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(main())
    row = storage._db.execute("SELECT question FROM questions WHERE id = ?", (qid,)).fetchone()
    assert row[0] is None
    storage.close()


def test_stats_never_show_phone_or_document_numbers() -> None:
    from postfinder.operations.stats import mask_numbers

    assert mask_numbers("звоните +7 (916) 123-45-67 или 8-800-555-35-35") == (
        "звоните " + "•" * 18 + " или " + "•" * 15
    )
    assert mask_numbers("паспорт 4510 123456, сколько стоит 500 рублей?") == (
        "паспорт " + "•" * 11 + ", сколько стоит 500 рублей?"
    )


def test_member_gets_their_data_and_erases_it_from_a_private_chat(bot_app, fake, llm) -> None:
    bot_app.settings.telegram.private_chats = True
    llm.default = f"{NEWS[1]} [1]"
    direct = private_message

    async def scenario(bot: Any) -> None:
        fake.push(message=direct(80, "как продлить загранпаспорт?"))
        await until(lambda: [p for p in fake.sent("sendMessage") if "reply_markup" in p])
        fake.push(message=direct(81, "/mydata"))
        await until(lambda: fake.sent("sendDocument"))
        fake.push(message=direct(82, "/forgetme"))
        confirm = await until(
            lambda: [p for p in fake.sent("sendMessage") if "Удалить" in p["text"]]
        )
        assert confirm[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "forgetme"
        press_forgetme(fake, "cb-forget")
        await until(lambda: fake.sent("editMessageText"))
        fake.push(message=group_message(83, "/mydata", user=42))  # not in a group
        await until(lambda: replies_to(fake, 83))

    run_bot(bot_app, scenario)
    (document,) = fake.sent("sendDocument")
    exported = json.loads(document["document"])
    assert [q["question"] for q in exported["questions"]] == ["как продлить загранпаспорт?"]
    assert "ваш Telegram id: 42" in document["caption"]
    assert fake.sent("editMessageText")[-1]["text"] == "Удалено: 1 вопросов и 0 оценок."
    storage = BotStorage(bot_app.settings.bot_db, bot_app.settings.secret_file)
    assert storage.member_data(42)["questions"] == []
    storage.close()
    assert "личном чате" in replies_to(fake, 83)[0]["text"]


def test_repeats_come_from_the_cache_until_the_cited_post_changes(bot_app, fake, llm) -> None:
    """The same question again is answered at once; after an edit of the post it cites, or
    its /forget, the next one is answered afresh (no stale answer)."""
    fake.admins.add((GROUP, 7))
    channel = bot_app.catalog.get(CHANNEL_ID)
    post = pool_post()
    llm.default = "x"  # drafts fail the check: each fresh answer is the extract of a post
    question = "@pf_bot когда откроется бассейн на набережной?"

    def answered() -> dict[int, tuple[int, int]]:
        """Question message id -> (from the cache, the reply's message id)."""
        rows = bot_app.storage._db.execute(  # pylint: disable=protected-access
            "SELECT message_id, cached, reply_message_id FROM questions WHERE mode IN "
            "('generated', 'extractive', 'refused')"
        ).fetchall()
        return {mid: (cached, reply) for mid, cached, reply in rows}

    async def ask(mid: int, user: int) -> None:
        fake.push(message=group_message(mid, question, user=user))
        await until(lambda: mid in answered())

    async def scenario(bot: Any) -> None:
        fake.push(channel_post=post)
        await until(lambda: channel.docs.get([77]))
        await ask(30, 41)
        await ask(31, 42)
        edited = {**post, "text": "Бассейн на набережной откроется в июне.", "edit_date": 1}
        fake.push(edited_channel_post=edited)
        await until(lambda: "июне" in channel.docs.get([77])[77].text)
        await ask(32, 43)
        fake.push(message=group_message(33, "/forget https://t.me/testchan/77", user=7))
        await until(lambda: replies_to(fake, 33))
        await ask(34, 44)

    run_bot(bot_app, scenario)
    done = answered()
    assert [done[mid][0] for mid in (30, 31, 32, 34)] == [0, 1, 0, 0]

    def final(mid: int) -> str:
        edits = [e["text"] for e in fake.sent("editMessageText") if e["message_id"] == done[mid][1]]
        return edits[-1] if edits else replies_to(fake, mid)[-1]["text"]

    (cached,) = replies_to(fake, 31)  # the answer itself: no placeholder, no model
    assert cached["text"] == final(30) and "мае" in final(30) and "testchan/77" in final(30)
    assert "июне" in final(32) and "мае" not in final(32)
    assert "testchan/77" not in final(34)
