"""Shared fixtures: isolated state under tmp_path, loopback-only network, fakes."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from postfinder.app import App
from postfinder.embeddings.fake import FakeEmbedder
from postfinder.settings import Settings, load_settings
from postfinder.store.vectors import MemoryVectorStore

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
def app(settings: Settings, fake_embedder: FakeEmbedder) -> Iterator[App]:
    """An app with the fake embedder and an in-memory vector store."""
    application = App(settings, embedder=fake_embedder, vectors=MemoryVectorStore())
    yield application
    application.close()


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
