#!/usr/bin/env python3
"""Burst load on the bot: N questions from C chats at once, against the fake Bot API server.

The real python-telegram-bot stack talks HTTP to tests/fake_telegram.py on 127.0.0.1
(nothing leaves the machine). Uses the configured embedder and model on an already
indexed channel. Prints p50/p95 time to the first reply (the "searching" placeholder)
and to the final answer, the answer modes, and the process's peak memory.

Usage: python scripts/bench_bot.py [--chats 10] [--per-chat 5] [--after 0] [--question TEXT]...
(settings from POSTFINDER_*; e.g. POSTFINDER_LLM__MODE=none for extractive answers).
``--after S`` waits S seconds after the start before the burst: ``--chats 1 --per-chat 1
--after 30`` times a member's first question once the bot has had time to get ready.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

import numpy as np
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_telegram import (  # noqa: E402  pylint: disable=wrong-import-position,import-error
    FakeTelegram,
)

from postfinder.app import build_app  # noqa: E402  pylint: disable=wrong-import-position
from postfinder.bot.wiring import (  # noqa: E402  pylint: disable=wrong-import-position
    build_application,
)
from postfinder.settings import load_settings  # noqa: E402  pylint: disable=wrong-import-position

QUESTIONS = (
    "Сколько стоит пошлина за загранпаспорт?",
    "Когда откроется каток?",
    "Как часто ходят электрички в аэропорт?",
    "Кто написал «Войну и мир»?",
)


async def burst(chats: int, per_chat: int, after: float, questions: tuple[str, ...]) -> None:
    """Run one burst and print the figures."""
    fake = FakeTelegram().start()
    settings = load_settings()
    settings.telegram.token = SecretStr("1:bench")
    settings.telegram.base_url = fake.base_url
    app = build_app(settings)
    channel = app.catalog.resolve(None).id
    groups = {-1009200000000 - i: channel for i in range(chats)}
    settings.telegram.groups = groups
    settings.llm.queue_size = chats * per_chat
    application, _ = build_application(app)
    pushed: dict[tuple[int, int], float] = {}
    async with application:
        await application.post_init(application)  # type: ignore[misc]
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=0)  # type: ignore[union-attr]
        await asyncio.sleep(after)
        base = int(time.time()) % 100_000 * 100  # new message ids each run: none is "seen"
        for number, chat in enumerate(groups):
            for i in range(per_chat):
                text = f"@pf_bot {questions[(number + i) % len(questions)]}"
                fake.push(
                    message={
                        "message_id": base + i,
                        "date": int(time.time()),
                        "chat": {"id": chat, "type": "supergroup", "title": "Talk"},
                        "from": {"id": 5000 + number * 100 + i, "is_bot": False, "first_name": "U"},
                        "text": text,
                    }
                )
                pushed[(chat, base + i)] = time.monotonic()
        first: dict[tuple[int, int], float] = {}
        final: dict[int, float] = {}
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline and len(final) < len(pushed):
            await asyncio.sleep(0.05)
            with fake.lock:
                calls = list(fake.calls)
            for name, params, at in calls:
                if name == "sendMessage" and params.get("reply_parameters"):
                    key = (int(params["chat_id"]), params["reply_parameters"]["message_id"])
                    first.setdefault(key, at)
                    if "Ищу" not in params.get("text", ""):  # busy or rate notice: final
                        final.setdefault(hash(key), at)
                if name == "editMessageText" and (
                    "reply_markup" in params or "нет поста" in params["text"]
                ):
                    final.setdefault(hash((int(params["chat_id"]), int(params["message_id"]))), at)
        await application.updater.stop()  # type: ignore[union-attr]
        await application.stop()
    fake.stop()
    to_first = [first[k] - pushed[k] for k in pushed if k in first]
    to_final = sorted(final.values())
    start = min(pushed.values())
    print(
        f"{len(pushed)} questions from {chats} chats; {len(first)} got a first reply, "
        f"{len(final)} a final message"
    )
    print(
        f"time to first reply p50 {np.median(to_first):.2f} s, p95 {np.percentile(to_first, 95):.2f} s"
    )
    finals = [t - start for t in to_final]
    print(
        f"time to final answer p50 {np.median(finals):.2f} s, p95 {np.percentile(finals, 95):.2f} s"
    )
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=10)
    parser.add_argument("--per-chat", type=int, default=5)
    parser.add_argument("--after", type=float, default=0.0, help="seconds idle after the start")
    parser.add_argument("--question", action="append", help="asked instead of the built-in ones")
    args = parser.parse_args()
    asyncio.run(burst(args.chats, args.per_chat, args.after, tuple(args.question or QUESTIONS)))


if __name__ == "__main__":
    main()
