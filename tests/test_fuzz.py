"""Property-based tests: hostile exports and hostile bot updates.

Any export gives posts or an `ExportError` naming the problem, and a refused export
leaves the existing index as it was. Any update gives a reply or silence, never an
exception in a handler, a hang, or a change to the index.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CHANNEL_ID, DISCUSSION_GROUP
from fake_telegram import BOT, FakeTelegram
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from telegram import Update

from postfinder.app import App
from postfinder.bot.messages import api_id
from postfinder.bot.wiring import build_application
from postfinder.errors import ExportError, PostfinderError
from postfinder.generation.fake import FakeGenerator
from postfinder.ingest.post import Post
from postfinder.ingest.telegram_export import ChatInfo, TelegramExport, check_chat_kind

FIXTURE_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_SCALARS = st.sampled_from(
    [
        None,
        True,
        0,
        -1,
        3.5,
        1e30,
        -1e30,
        2**31,
        2**63,
        10**40,
        "",
        "1e30",
        "abc",
        "-5",
        "2024-13-45T99:99:99",
        "\u202eevil",
        "\x1b[31mred",
        "\x00",
        "9" * 400,
    ]
)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
)
JSON = st.recursive(
    SCALARS | HOSTILE_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)
ENTITY = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["bold", "text_link", "hashtag", "mention", "link"]) | JSON,
        "text": st.text(max_size=60) | JSON,
    },
    optional={"href": st.text(max_size=40) | JSON},
)
TEXT = st.text(max_size=300) | st.lists(st.text(max_size=60) | ENTITY | JSON, max_size=6) | JSON
MESSAGE = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=1, max_value=60) | HOSTILE_SCALARS | JSON,
        "text": TEXT,
    },
    optional={
        "type": st.sampled_from(["message", "service"]) | JSON,
        "date": st.sampled_from(["2024-01-01T10:00:00"]) | HOSTILE_SCALARS,
        "date_unixtime": st.sampled_from(["1704103200"]) | HOSTILE_SCALARS | JSON,
        "edited_unixtime": HOSTILE_SCALARS,
        "reply_to_message_id": HOSTILE_SCALARS | JSON,
        "forwarded_from": JSON,
        "poll": JSON,
    },
)
EXPORT = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE | JSON, max_size=8)},
    optional={
        "name": st.text(max_size=20) | JSON,
        "type": st.sampled_from(["public_channel", "personal_chat", "saved_messages"]) | JSON,
        "id": st.just(CHANNEL_ID) | HOSTILE_SCALARS | JSON,
    },
)

# A channel export as Telegram Desktop writes it, hostile only inside the messages'
# fields: without it almost no generated export is readable, and the property "posts or
# a clear error" would only ever be tried on its error half.
CHANNEL_MESSAGE = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=1, max_value=60),
        "type": st.sampled_from(["message", "message", "service"]),
        "date": st.just("2024-01-01T10:00:00"),
        "date_unixtime": st.just("1704103200"),
        "text": st.text(max_size=300) | st.lists(st.text(max_size=60) | ENTITY, max_size=6),
    },
    optional={
        "edited_unixtime": HOSTILE_SCALARS,
        "reply_to_message_id": HOSTILE_SCALARS | JSON,
        "forwarded_from": JSON,
    },
)
CHANNEL_EXPORT = st.builds(
    # In Telegram's key order: the chat's id and type come before its messages.
    lambda name, messages: {
        "name": name,
        "type": "public_channel",
        "id": CHANNEL_ID,
        "messages": messages,
    },
    st.text(max_size=20),
    st.lists(CHANNEL_MESSAGE, max_size=8),
)


def raw_export(data: Any, cut: int | None, junk: bytes) -> bytes:
    """Serialise an export, then maybe truncate it or splice bytes into it."""
    raw = json.dumps(data, ensure_ascii=False).encode()
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)] + junk + raw[cut % (len(raw) + 1) :]
    return raw


def read_all(path: Path) -> tuple[ChatInfo, list[Post]]:
    """What `postfinder index` reads before writing: chat, kind, every post."""
    export = TelegramExport(path)
    chat = export.select_chat(None)
    check_chat_kind(chat, allow_non_channel=False)
    return chat, list(export.iter_posts(chat))


def assert_indexable(chat: ChatInfo, posts: list[Post]) -> None:
    """Every post read is one PostFinder can store: the limits of a Telegram post."""
    assert chat.type in ("public_channel", "private_channel", "channel", "public_supergroup")
    for post in posts:
        assert post.channel_id == chat.id
        assert type(post.id) is int and 1 <= post.id <= 2**31 - 1  # 32-bit message ids
        assert type(post.date) is int and 1_356_998_400 <= post.date <= time.time() + 2 * 86400
        assert isinstance(post.text, str) and 0 < len(post.text) <= 65_536
        assert post.text == post.text.strip()


def message_ids(data: Any) -> list[Any] | None:
    """The ids of the messages of a single-chat export as written, in file order."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return None
    return [m.get("id") for m in data["messages"] if isinstance(m, dict)]


@FIXTURE_SETTINGS
@example(  # one readable export is always among the examples
    data={
        "name": "Test channel",
        "type": "public_channel",
        "id": CHANNEL_ID,
        "messages": [
            {"id": 1, "type": "service", "date_unixtime": "1704103200", "text": ""},
            {"id": 2, "type": "message", "date_unixtime": "1704103200", "text": " Метро "},
            {"id": 3, "type": "message", "date_unixtime": "1704103200", "text": ""},
            {"id": 5, "date_unixtime": "1704103260", "text": ["a ", {"type": "bold", "text": "b"}]},
        ],
    },
    cut=None,
    junk=b"",
)
@given(
    data=CHANNEL_EXPORT | EXPORT | JSON,
    cut=st.none() | st.integers(min_value=0),
    junk=st.binary(max_size=4) | st.sampled_from([b"", b"[" * 50, b'"', b"\xff\xfe", b"}"]),
)
def test_any_export_gives_posts_or_a_clear_error(
    tmp_path: Path, data: Any, cut: int | None, junk: bytes
) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(raw_export(data, cut, junk))
    try:
        chat, posts = read_all(path)
    except ExportError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert_indexable(chat, posts)
    written = message_ids(data)
    if cut is None and written is not None:  # the file is the generated export, unchanged
        remaining = iter(written)
        # Posts come from the file's messages, in file order, each at most once: none invented.
        assert all(any(post.id == i for i in remaining) for post in posts), (posts, written)


@pytest.fixture
def indexed(app: App, write_export) -> App:
    """An app with the standard test channel indexed."""
    app.indexer().index_export(write_export(), progress=False)
    return app


def snapshot(app: App) -> tuple[dict[int, str], int, list[int]]:
    """Post hashes, vector count and BM25 ids of the test channel."""
    channel = app.catalog.get(CHANNEL_ID)
    return (
        channel.docs.hashes(),
        app.vectors.count(channel.collection),
        sorted(int(i) for i in channel.lexical().doc_ids),
    )


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=EXPORT, cut=st.none() | st.integers(min_value=0))
def test_a_refused_export_leaves_the_index_as_it_was(
    indexed: App, tmp_path: Path, data: dict[str, Any], cut: int | None
) -> None:
    data.setdefault("id", CHANNEL_ID)
    data.setdefault("type", "public_channel")
    path = tmp_path / "hostile.json"
    path.write_bytes(raw_export(data, cut, b""))
    before = snapshot(indexed)
    try:
        indexed.indexer().index_export(path, progress=False, keep_missing=True)
    except PostfinderError as exc:
        assert str(exc)
        assert snapshot(indexed) == before
    else:
        channel = indexed.catalog.get(CHANNEL_ID)
        assert channel.docs.unfinished() == ([], [])
        docs = channel.docs.ids()
        assert sorted(set(indexed.vectors.post_ids(channel.collection))) == docs  # type: ignore[attr-defined]


# -- bot updates ----------------------------------------------------------------------
GROUP = DISCUSSION_GROUP
USER = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=1, max_value=2**40),
        "is_bot": st.booleans(),
        "first_name": st.text(min_size=1, max_size=20),
    },
    optional={"language_code": st.text(max_size=5), "username": st.text(max_size=20)},
)
CHAT = st.fixed_dictionaries(
    {
        "id": st.sampled_from([GROUP, -1009000000002, 5, api_id(123)]) | st.integers(),
        "type": st.sampled_from(["supergroup", "group", "private", "channel"]),
    },
    optional={"title": st.text(max_size=20)},
)
BOT_TEXT = st.text(max_size=500) | st.builds(
    lambda head, body: f"{head} {body}",
    st.sampled_from(
        [
            f"@{BOT['username']}",
            "/ask",
            "/stats",
            "/settings",
            "/forget",
            "/mydata",
            "/forgetme",
            "/help",
            "/settings language",
            "/forget https://t.me/c/1/2",
        ]
    ),
    st.text(max_size=200),
)
ENTITIES = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["bot_command", "mention", "url", "bold", "text_link"]),
            "offset": st.integers(min_value=-5, max_value=600),
            "length": st.integers(min_value=-5, max_value=600),
        },
        optional={"url": st.text(max_size=30)},
    ),
    max_size=3,
)


@st.composite
def updates(draw: st.DrawFn, update_id: int) -> dict[str, Any]:
    """One update: a message, an edit, a channel post from an unknown channel or a button."""
    message = {
        "message_id": draw(st.integers(min_value=1, max_value=2**31 - 1)),
        "date": draw(st.integers(min_value=0, max_value=2**32)),
        "chat": draw(CHAT),
        "from": draw(USER),
        "text": draw(BOT_TEXT),
        "entities": draw(ENTITIES),
    }
    if draw(st.booleans()):
        message["message_thread_id"] = draw(st.integers(min_value=1, max_value=10**6))
    kind = draw(st.sampled_from(["message", "edited_message", "channel_post", "callback_query"]))
    if kind == "channel_post":
        del message["from"]
        message["chat"] = {"id": api_id(999) - draw(st.integers(0, 10**6)), "type": "channel"}
        return {"update_id": update_id, "channel_post": message}
    if kind == "callback_query":
        return {
            "update_id": update_id,
            "callback_query": {
                "id": str(update_id),
                "from": draw(USER),
                "chat_instance": "x",
                "data": draw(
                    st.sampled_from(["forgetme", "v:1:1", "v:x", "v:-1:9"]) | st.text(max_size=64)
                ),
                "message": message,
            },
        }
    return {"update_id": update_id, kind: message}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(st.integers(min_value=1, max_value=10**6).flatmap(updates), max_size=5))
def test_any_update_gets_a_reply_or_silence_never_an_error(
    bot_world: tuple[App, FakeTelegram], caplog: pytest.LogCaptureFixture, batch: list[dict]
) -> None:
    app, _fake = bot_world
    before = snapshot(app)
    caplog.clear()

    async def feed() -> None:
        application, _ = build_application(app)
        async with application:
            for data in batch:
                await application.process_update(Update.de_json(data, application.bot))

    with caplog.at_level(logging.ERROR):
        asyncio.run(asyncio.wait_for(feed(), timeout=60))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.getMessage(), r.exc_info) for r in errors]
    assert snapshot(app) == before


@pytest.fixture
def bot_world(settings, make_app, fake: FakeTelegram, write_export) -> Any:
    """An indexed channel, a fake model and the fake Bot API, shared by all examples."""
    settings.telegram.token = SecretStr("123456:SECRET-TOKEN")
    settings.telegram.base_url = fake.base_url
    settings.telegram.private_chats = True
    app = make_app(FakeGenerator())
    app.indexer().index_export(write_export(), username="testchan", progress=False)
    return app, fake
