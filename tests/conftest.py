"""Shared fixtures: isolated state under tmp_path, loopback-only network, fakes.

The fakes every test module uses are defined here once: `make_app` (an App with the fake
embedder and an in-memory store, closed after the test), `always_answer` and
`always_refuse` (refusal decisions that ignore the retrieval scores),
`channel_refusal_file` (where a channel's own refusal decision is read from),
`RecordingReplier` (a front end for the conversation service) and `convo_app`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from postfinder.answering.pipeline import Answer
from postfinder.answering.refusal import RefusalModel
from postfinder.app import App
from postfinder.embeddings.base import Embedder
from postfinder.embeddings.fake import FakeEmbedder
from postfinder.generation.base import Generator
from postfinder.generation.fake import FakeGenerator
from postfinder.settings import Settings, load_settings
from postfinder.store.vectors import MemoryVectorStore, VectorStore

LOOPBACK = ("127.", "::1", "localhost")
CHANNEL_ID = 1700000001


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point all PostFinder state at tmp_path and drop any POSTFINDER_* from the caller."""
    import os

    for key in list(os.environ):
        if key.startswith("POSTFINDER_"):
            monkeypatch.delenv(key)
    data = tmp_path / "data"
    monkeypatch.setenv("POSTFINDER_DATA_DIR", str(data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    return data


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach a host other than this machine."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(LOOPBACK):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def message(msg_id: int, text: Any, *, date: int = 1_700_000_000, **extra: Any) -> dict[str, Any]:
    """Build one exported message as Telegram Desktop writes it."""
    item = {
        "id": msg_id,
        "type": "message",
        "date": "2023-11-14T22:13:20",
        "date_unixtime": str(date + msg_id * 60),
        "from": "Test channel",
        "from_id": f"channel{CHANNEL_ID}",
        "text": text,
        "text_entities": [],
    }
    item.update(extra)
    return item


def service(msg_id: int) -> dict[str, Any]:
    """Build a service message."""
    return {
        "id": msg_id,
        "type": "service",
        "date": "2023-11-14T22:00:00",
        "date_unixtime": "1700000000",
        "actor": "Test channel",
        "action": "pin_message",
        "text": "",
        "text_entities": [],
    }


NEWS = [
    "Метро: новую станцию Лесная откроют 1 марта, поезда пойдут с 5:30.",
    "Как продлить загранпаспорт: заявление на Госуслугах, пошлина 6000 рублей.",
    "Weather: heavy rain and thunderstorms expected on Sunday evening.",
    "Библиотеки теперь работают до 22:00 по будням, читательский билет бесплатный.",
    "Каток в парке откроется 25 ноября, прокат коньков стоит 500 рублей в час.",
    "Электрички до аэропорта ходят каждые 15 минут, билет стоит 500 рублей.",
]


@pytest.fixture
def write_export(tmp_path: Path) -> Callable[..., Path]:
    """Return a function that writes a single-chat export and returns its path."""

    def write(
        messages: list[dict[str, Any]] | None = None,
        name: str = "result.json",
        chat_id: int = CHANNEL_ID,
    ) -> Path:
        if messages is None:
            messages = [service(1)] + [message(i + 2, text) for i, text in enumerate(NEWS)]
        path = tmp_path / "exports" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "name": "Test channel",
            "type": "public_channel",
            "id": chat_id,
            "messages": messages,
        }
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def settings() -> Settings:
    """Settings with the fake embedder, read from the isolated environment."""
    return load_settings(embedding={"mode": "fake"})


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    """A deterministic embedder."""
    return FakeEmbedder(dim=64)


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., App]]:
    """Return a function that builds an App from `settings` with fakes; all are closed after.

    The embedder defaults to a new ``FakeEmbedder()`` ("fake-64"), the vector store to a
    new in-memory one; ``generator`` (e.g. a ``FakeGenerator``) is used instead of the
    configured model when given.
    """
    built: list[App] = []

    def make(
        generator: Generator | None = None,
        *,
        embedder: Embedder | None = None,
        vectors: VectorStore | None = None,
    ) -> App:
        application = App(
            settings,
            embedder=FakeEmbedder() if embedder is None else embedder,
            vectors=MemoryVectorStore() if vectors is None else vectors,
            generator=generator,
        )
        built.append(application)
        return application

    yield make
    for application in built:
        application.close()  # closing twice is harmless: tests may close an app early


@pytest.fixture
def app(make_app: Callable[..., App], fake_embedder: FakeEmbedder) -> App:
    """An app with the fake embedder and an in-memory vector store."""
    return make_app(embedder=fake_embedder)


def fixed_refusal(answer: bool) -> RefusalModel:
    """A refusal decision for the fake embedder that ignores the retrieval scores.

    Every weight is 0, so the probability of an answer is sigmoid(bias) for any search
    that finds posts: sigmoid(10) > 0.5 answers, sigmoid(-10) refuses. (A search that
    finds nothing has probability 0 and is refused either way.)
    """
    return RefusalModel(
        "fake-64", [0.0] * 10, [1.0] * 10, [0.0] * 10, 10.0 if answer else -10.0, 0.5
    )


@pytest.fixture
def always_answer() -> RefusalModel:
    """A refusal decision that never refuses a question the search finds posts for."""
    return fixed_refusal(True)


@pytest.fixture
def always_refuse() -> RefusalModel:
    """A refusal decision that refuses every question."""
    return fixed_refusal(False)


def channel_refusal_file(settings: Settings | None = None, channel_id: int = CHANNEL_ID) -> Path:
    """Where a channel's own refusal decision is read from (what ``postfinder calibrate``
    writes), in the data directory of ``settings`` (default: the isolated one).

    It takes effect on the next question: ``always_answer.save(channel_refusal_file())``.
    """
    data = (settings or load_settings()).channels_dir
    return data / str(channel_id) / "refusal.json"


DISCUSSION_GROUP = -1009000000001


@pytest.fixture
def fake() -> Iterator[Any]:
    """The fake Bot API on 127.0.0.1, knowing the test channel and its discussion group."""
    from fake_telegram import FakeTelegram  # pylint: disable=import-outside-toplevel

    from postfinder.bot.messages import api_id  # pylint: disable=import-outside-toplevel

    server = FakeTelegram().start()
    server.chats[api_id(CHANNEL_ID)] = {
        "id": api_id(CHANNEL_ID),
        "type": "channel",
        "title": "Test channel",
        "linked_chat_id": DISCUSSION_GROUP,
        "accent_color_id": 0,
        "max_reaction_count": 11,
    }
    yield server
    server.stop()


def load_script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``scripts/<name>.py`` as a module (registered: its dataclasses look it up)."""
    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


async def until(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Wait until ``predicate()`` is truthy and return it; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


class RecordingReplier:
    """A front end (`conversation.service.Replier`) that remembers what it was asked to show."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    async def working(self, language: str) -> None:
        self.events.append(("working", language))

    async def progress(self, text: str) -> None:
        self.events.append(("progress", text))

    async def deliver(self, answer: Answer, question_id: int) -> int | None:
        self.events.append(("deliver", answer.answer))
        return 1000 + question_id

    async def notice(self, text: str) -> int | None:
        self.events.append(("notice", text))
        return 7


@pytest.fixture
def convo_app(make_app, write_export, always_answer) -> App:
    """The test channel indexed, every question answered, a fake model that cites post 1."""
    app = make_app(FakeGenerator(default=f"{NEWS[1]} [1]"))
    app.indexer().index_export(write_export(), username="testchan", progress=False)
    always_answer.save(channel_refusal_file())
    return app
