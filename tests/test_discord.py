"""The Discord bot, driven through the real discord.py stack against a fake Discord API."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import discord
import pytest
from conftest import NEWS, channel_refusal_file, until
from fake_discord import FakeDiscord
from pydantic import SecretStr

from postfinder.app import App
from postfinder.discord.client import PostFinderDiscord
from postfinder.discord.messages import parse_message_link
from postfinder.discord.wiring import build_client, connect
from postfinder.errors import ConfigError
from postfinder.generation.fake import FakeGenerator
from postfinder.operations.stats import format_stats, stats_report
from postfinder.phrases import phrase
from postfinder.settings import DiscordSource

GUILD, ANN, HELP, OTHER = 5000, 5001, 5002, 5003
TOKEN = "discord-SECRET-token"
OWNER = 7
LINK = f"https://discord.com/channels/{GUILD}/{ANN}"


@pytest.fixture
def discord_api() -> Iterator[FakeDiscord]:
    """The fake Discord API with one server: announcements (the source) and #help."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    server = FakeDiscord(token=TOKEN).start()
    server.add_guild(
        GUILD,
        "City",
        channels=[
            {"id": ANN, "type": 5, "name": "announcements"},
            {"id": HELP, "type": 0, "name": "help"},
            {"id": OTHER, "type": 0, "name": "offtopic"},
        ],
    )
    history = [server.message(ANN, text, author_id=OWNER) for text in NEWS]
    server.add_history(ANN, history)
    yield server
    server.stop()
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture
def llm() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def discord_app(settings, make_app, discord_api: FakeDiscord, llm, always_answer) -> App:
    settings.discord.token = SecretStr(TOKEN)
    settings.discord.api_base_url = discord_api.api_base
    settings.discord.sources = {ANN: DiscordSource(ask_in=[HELP])}
    always_answer.save(channel_refusal_file(settings, ANN))
    return make_app(llm)


def post_ids(api: FakeDiscord) -> list[int]:
    return [int(m["id"]) for m in api.messages_in(ANN)]


def run_discord(app: App, scenario: Callable[[PostFinderDiscord], Awaitable[None]]) -> None:
    """Connect the bot, wait until the history is indexed, run the scenario, close."""

    async def main() -> None:
        client, token = build_client(app)
        async with client:
            task = asyncio.create_task(connect(client, token))
            try:
                await until(lambda: client.started and len(client.tasks) == 1)
                await asyncio.wait_for(asyncio.shield(client.tasks[0]), 15)
                await scenario(client)
            finally:
                await client.close()
                await asyncio.wait_for(task, 10)

    asyncio.run(main())


def bot_messages(api: FakeDiscord, channel: int) -> list[dict[str, Any]]:
    return [m for m in api.messages_in(channel) if m["author"]["id"] == FakeDiscord.BOT_USER["id"]]


def answered(api: FakeDiscord, channel: int, link: str) -> list[dict[str, Any]]:
    return [m for m in bot_messages(api, channel) if link in m["content"]]


def test_history_is_indexed_and_a_mention_gets_the_post_link(discord_app, discord_api, llm) -> None:
    llm.default = f"{NEWS[1]} [1]"
    passport = post_ids(discord_api)[1]

    async def scenario(client: PostFinderDiscord) -> None:
        channel = discord_app.catalog.get(ANN)
        assert channel.post_count() == len(NEWS)
        assert channel.meta["name"] == "City #announcements"
        discord_api.post(
            HELP, f"<@{client.user.id}> как продлить загранпаспорт?", mentions_bot=True
        )
        await until(lambda: answered(discord_api, HELP, f"{LINK}/{passport}"))

    run_discord(discord_app, scenario)
    (reply,) = answered(discord_api, HELP, f"{LINK}/{passport}")
    assert f"[1] <{LINK}/{passport}>" in reply["content"]
    buttons = reply["components"][0]["components"]
    assert [b["emoji"]["name"] for b in buttons] == ["👍", "👎"]
    (placeholder,) = discord_api.sent("POST", rf"/channels/{HELP}/messages")
    assert placeholder["allowed_mentions"]["parse"] == []  # a quoted @everyone never pings
    typing = discord_api.sent("POST", rf"/channels/{HELP}/typing")
    assert typing  # the member saw the bot was on it


def test_history_resumes_from_its_cursor(discord_app, discord_api) -> None:
    run_discord(discord_app, lambda client: asyncio.sleep(0))
    first = len(discord_api.sent("GET", rf"/channels/{ANN}/messages"))
    newest = post_ids(discord_api)[-1]
    later = discord_api.message(ANN, "Новый пост про парковки.", author_id=OWNER)
    discord_api.add_history(ANN, [later])
    run_discord(discord_app, lambda client: asyncio.sleep(0))
    pages = discord_api.sent("GET", rf"/channels/{ANN}/messages")
    assert pages[first]["after"] == str(newest)  # the second run starts after the first's last
    assert discord_app.catalog.get(ANN).post_count() == len(NEWS) + 1


def test_edit_is_reindexed_and_deletion_leaves_the_answers_within_a_second(
    discord_app, discord_api
) -> None:
    ids = post_ids(discord_api)
    took: list[float] = []

    async def scenario(client: PostFinderDiscord) -> None:
        channel = discord_app.catalog.get(ANN)
        discord_api.edit(ANN, ids[4], "Каток в парке откроется 1 декабря, прокат 600 рублей.")
        await until(lambda: "1 декабря" in channel.posts([ids[4]])[ids[4]].text)
        started = time.monotonic()
        discord_api.delete(ANN, ids[1])
        await until(lambda: not channel.has_post(ids[1]), timeout=5)
        took.append(time.monotonic() - started)
        found = discord_app.retriever(ANN).search("загранпаспорт пошлина")
        assert ids[1] not in [hit.post_id for hit in found.hits]

    run_discord(discord_app, scenario)
    assert took[0] < 1.0


def test_ask_command_and_the_vote_buttons(discord_app, discord_api, llm) -> None:
    llm.default = f"{NEWS[4]} [1]"
    rink = post_ids(discord_api)[4]

    async def scenario(client: PostFinderDiscord) -> None:
        asked = discord_api.slash(
            "ask",
            [{"name": "question", "type": 3, "value": "Когда откроется каток?"}],
            channel_id=HELP,
        )
        token = asked["token"]
        await until(
            lambda: f"{LINK}/{rink}"
            in (discord_api.original_response(token) or {}).get("content", "")
        )
        answer = discord_api.original_response(token)
        qid = int(answer["components"][0]["components"][0]["custom_id"].split(":")[1])
        discord_api.press(f"v:{qid}:1", message=answer, user_id=43)
        await until(lambda: discord_app.storage.member_data(43)["votes"])

    run_discord(discord_app, scenario)
    assert discord_api.interaction_responses[0]["type"] == 5  # deferred: "thinking"
    (vote,) = discord_app.storage.member_data(43)["votes"]
    assert vote["vote"] == 1
    assert discord_api.interaction_responses[-1]["data"]["flags"] & 64  # the thanks: ephemeral
    commands = {c["name"] for c in discord_api.commands(GUILD)}
    assert commands == {"ask", "mydata", "forgetme", "forget", "stats"}


def test_question_in_a_thread_under_an_announcement_is_answered_from_it(
    discord_app, discord_api, llm
) -> None:
    llm.default = f"{NEWS[4]} [1]"
    rink = post_ids(discord_api)[4]

    async def scenario(client: PostFinderDiscord) -> None:
        thread = discord_api.create_thread(ANN, rink, "Каток")
        discord_api.post(thread, "А во сколько там открывается прокат?", author_id=44)
        await until(lambda: answered(discord_api, thread, f"{LINK}/{rink}"))
        discord_api.post(thread, "Спасибо, всё понятно", author_id=44)  # no question: silence
        await asyncio.sleep(0.3)

    run_discord(discord_app, scenario)
    prompt = "\n".join(m.content for m in llm.history[-1])
    assert NEWS[4] in prompt
    assert not discord_app.catalog.get(ANN).has_post(rink + 10**6)


def test_silent_in_channels_nobody_mapped_and_for_bots(discord_app, discord_api, llm) -> None:
    llm.default = f"{NEWS[1]} [1]"

    async def scenario(client: PostFinderDiscord) -> None:
        discord_api.post(
            OTHER, f"<@{client.user.id}> как продлить загранпаспорт?", mentions_bot=True
        )
        discord_api.post(HELP, "как продлить загранпаспорт?")  # no mention, auto-answer off
        await asyncio.sleep(0.5)

    run_discord(discord_app, scenario)
    assert not bot_messages(discord_api, OTHER) and not bot_messages(discord_api, HELP)
    assert discord_app.catalog.get(ANN).post_count() == len(NEWS)  # questions are no posts


def test_a_429_is_honoured(discord_app, discord_api, llm) -> None:
    llm.default = f"{NEWS[1]} [1]"

    async def scenario(client: PostFinderDiscord) -> None:
        discord_api.fail_next("POST", rf"/channels/{HELP}/messages", 1, retry_after=0.4)
        discord_api.post(
            HELP, f"<@{client.user.id}> как продлить загранпаспорт?", mentions_bot=True
        )
        await until(lambda: answered(discord_api, HELP, LINK))

    run_discord(discord_app, scenario)
    times = discord_api.times("POST", rf"/channels/{HELP}/messages")
    assert len(times) >= 2 and times[1] - times[0] >= 0.35


def test_the_token_never_reaches_the_logs(discord_app, discord_api, llm, caplog) -> None:
    llm.default = f"{NEWS[1]} [1]"
    caplog.set_level(logging.DEBUG)

    async def scenario(client: PostFinderDiscord) -> None:
        discord_api.post(
            HELP, f"<@{client.user.id}> как продлить загранпаспорт?", mentions_bot=True
        )
        await until(lambda: answered(discord_api, HELP, LINK))

    run_discord(discord_app, scenario)
    assert "discord.http" in {r.name for r in caplog.records}  # the HTTP client did log
    assert TOKEN not in caplog.text
    assert f"Bot {TOKEN}" in discord_api.authorization_headers


def test_burst_of_50_questions_from_10_members(discord_app, discord_api, llm) -> None:
    discord_app.settings.llm.queue_size = 8
    discord_app.settings.telegram.user_per_minute = 100
    discord_app.settings.telegram.chat_per_minute = 1000
    llm.default, llm.delay = f"{NEWS[1]} [1]", 0.005
    asked: list[int] = []

    async def scenario(client: PostFinderDiscord) -> None:
        for i in range(50):
            message = discord_api.post(
                HELP,
                f"<@{client.user.id}> как продлить загранпаспорт? ({i})",
                author_id=100 + i % 10,
                mentions_bot=True,
            )
            asked.append(int(message["id"]))

        def replies() -> dict[int, int]:
            counts = dict.fromkeys(asked, 0)
            for m in bot_messages(discord_api, HELP):
                ref = int((m.get("message_reference") or {}).get("message_id", 0))
                if ref in counts:
                    counts[ref] += 1
            return counts

        def finished() -> int:
            modes = discord_app.storage.stats()["modes"]
            return int(modes["generated"] + modes["busy"])

        await until(lambda: finished() == 50, timeout=90)
        await asyncio.sleep(0.5)  # no late duplicates
        counts = replies()
        assert sorted(set(counts.values())) == [1]

    run_discord(discord_app, scenario)
    modes = discord_app.storage.stats()["modes"]
    assert modes["generated"] + modes["busy"] == 50 and modes["generated"] > 8
    assert discord_app.storage.stats()["platforms"] == {"discord": 50}


def test_mydata_forgetme_and_forget_need_the_right_member(discord_app, discord_api, llm) -> None:
    llm.default = f"{NEWS[1]} [1]"
    ids = post_ids(discord_api)
    link = [{"name": "link", "type": 3, "value": f"{LINK}/{ids[0]}"}]
    seen: dict[str, Any] = {}

    def response(interaction: dict[str, Any]) -> dict[str, Any] | None:
        found = [
            r for r in discord_api.interaction_responses if r["interaction_id"] == interaction["id"]
        ]
        return found[-1] if found else None

    async def scenario(client: PostFinderDiscord) -> None:
        question = f"<@{client.user.id}> как продлить загранпаспорт?"
        discord_api.post(HELP, question, author_id=42, mentions_bot=True)
        await until(lambda: answered(discord_api, HELP, LINK))
        mine = discord_api.slash("mydata", channel_id=HELP, user_id=42)
        seen["mydata"] = await until(lambda: response(mine))
        stranger = discord_api.slash("forget", link, channel_id=HELP, user_id=43)
        seen["stranger"] = await until(lambda: response(stranger))
        assert discord_app.catalog.get(ANN).has_post(ids[0])
        moderator = discord_api.slash(
            "forget", link, channel_id=HELP, user_id=44, permissions=1 << 13
        )
        seen["moderator"] = await until(lambda: response(moderator))
        assert not discord_app.catalog.get(ANN).has_post(ids[0])
        confirm = discord_api.slash("forgetme", channel_id=HELP, user_id=42)
        seen["confirm"] = await until(lambda: response(confirm))
        discord_api.press(
            "forgetme", message=discord_api.original_response(confirm["token"]), user_id=42
        )
        await until(lambda: not discord_app.storage.member_data(42)["questions"])

    run_discord(discord_app, scenario)
    assert all(r["data"]["flags"] & 64 for r in seen.values())  # only the member sees them
    assert "1 " in seen["mydata"]["data"]["content"]  # one question stored
    assert seen["stranger"]["data"]["content"] == phrase("admins", "en")
    assert seen["moderator"]["data"]["content"] == phrase("forgotten", "en").format(post=ids[0])


def test_serve_refuses_without_token_or_sources(settings, app: App) -> None:
    with pytest.raises(ConfigError, match="POSTFINDER_DISCORD__TOKEN"):
        build_client(app)
    settings.discord.token = SecretStr(TOKEN)
    with pytest.raises(ConfigError, match="POSTFINDER_DISCORD__SOURCES"):
        build_client(app)


def test_a_rejected_token_is_a_clear_error(discord_app, discord_api) -> None:
    client, _ = build_client(discord_app)

    async def main() -> None:
        async with client:
            await connect(client, "wrong-token")

    with pytest.raises(ConfigError, match="rejected the bot token"):
        asyncio.run(main())


def test_stats_show_both_platforms(discord_app, discord_api, llm) -> None:
    llm.default = f"{NEWS[1]} [1]"
    discord_app.storage.claim_question(-100, 1, 42, "вопрос", ANN)  # one from Telegram

    async def scenario(client: PostFinderDiscord) -> None:
        discord_api.post(
            HELP, f"<@{client.user.id}> как продлить загранпаспорт?", mentions_bot=True
        )
        await until(lambda: answered(discord_api, HELP, LINK))

    run_discord(discord_app, scenario)
    report = stats_report(discord_app)
    assert report["platforms"] == {"discord": 1, "telegram": 1}
    assert "By platform: discord 1, telegram 1." in format_stats(report)


def test_message_links() -> None:
    assert parse_message_link(f"{LINK}/123") == (ANN, 123)
    assert parse_message_link(f"<{LINK}/123>") == (ANN, 123)
    with pytest.raises(ValueError):
        parse_message_link("https://t.me/chan/1")


def test_serve_runs_telegram_and_discord_in_one_process(
    discord_api, fake, write_export, tmp_path, always_answer
) -> None:
    """`postfinder serve` with both tokens: one process answers on both platforms."""
    import os  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    from conftest import CHANNEL_ID, DISCUSSION_GROUP  # pylint: disable=import-outside-toplevel

    env = {
        **os.environ,
        "POSTFINDER_EMBEDDING__MODE": "fake",
        "POSTFINDER_LLM__MODE": "none",
        "POSTFINDER_LOG_LEVEL": "INFO",
        "POSTFINDER_TELEGRAM__TOKEN": "123456:SECRET-TOKEN",
        "POSTFINDER_TELEGRAM__BASE_URL": fake.base_url,
        "POSTFINDER_DISCORD__TOKEN": TOKEN,
        "POSTFINDER_DISCORD__API_BASE_URL": discord_api.api_base,
        "POSTFINDER_DISCORD__SOURCES": json.dumps({str(ANN): {"ask_in": [HELP]}}),
    }
    cli = [sys.executable, "-m", "postfinder"]
    subprocess.run([*cli, "index", str(write_export())], env=env, check=True, capture_output=True)
    for channel in (CHANNEL_ID, ANN):
        always_answer.save(channel_refusal_file(None, channel))
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    server = subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not discord_api.commands(GUILD):
            time.sleep(0.2)  # ready: the slash commands are registered
        discord_api.post(HELP, f"<@{FakeDiscord.BOT_USER['id']}> загранпаспорт?", mentions_bot=True)
        fake.push(
            message={
                "message_id": 5,
                "date": int(time.time()),
                "chat": {"id": DISCUSSION_GROUP, "type": "supergroup", "title": "Talk"},
                "from": {"id": 42, "is_bot": False, "first_name": "U"},
                "text": "@pf_bot как продлить загранпаспорт?",
            }
        )
        while time.monotonic() < deadline and not (
            answered(discord_api, HELP, LINK) and fake.sent("editMessageText")
        ):
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)
    log.seek(0)
    output = log.read()
    assert answered(discord_api, HELP, LINK), output
    assert any("t.me" in p["text"] for p in fake.sent("editMessageText")), output
    assert TOKEN not in output and "SECRET-TOKEN" not in output
