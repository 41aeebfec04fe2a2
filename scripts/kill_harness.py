#!/usr/bin/env python3
"""Kill -9 harness: interrupt every writer at random moments, run it again, audit the stores.

Scenarios (each trial starts from a copy of an indexed channel of ``--posts`` posts):

- ``index``: index a newer export (30% new posts, 10% edited, 5% deleted), SIGKILL it
  after a random delay, run it again; the stores must hold exactly the newer export.
- ``forget``: ``postfinder forget-post`` killed, then run again; the post is gone.
- ``member``: ``postfinder member forget`` of a member with 1,000 questions killed,
  then run again; none of their data is left and other members' data is intact.
- ``concurrent``: a second writer (index, forget-post, repair) started while ``index``
  holds the data directory must fail at once with the lock error; ``index`` while
  ``serve`` runs is handed over to the bot. Either way the stores end consistent.
- ``live``: ``postfinder serve`` against the fake Bot API (tests/fake_telegram.py,
  127.0.0.1) receiving new and edited channel posts, killed, started again; every
  post received is indexed with its latest text.

After each trial, documents, vectors (real ChromaDB) and BM25 must hold the same post
ids, no chunk may be stored twice, no row may be left half-written, and nothing may be
lost. Uses the fake embedder, so it measures PostFinder, not a model.

Usage: python scripts/kill_harness.py [--trials 20] [--posts 600] [--scenarios index,live]
Prints one JSON line per scenario; exits 1 if any trial left the stores inconsistent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_telegram import (  # noqa: E402  pylint: disable=wrong-import-position,import-error
    FakeTelegram,
)

from postfinder.app import build_app  # noqa: E402  pylint: disable=wrong-import-position
from postfinder.conversation.storage import (  # noqa: E402  pylint: disable=wrong-import-position
    BotStorage,
)
from postfinder.settings import load_settings  # noqa: E402  pylint: disable=wrong-import-position

CHANNEL = 1_700_000_042
QUIET: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
POSTFINDER = [sys.executable, "-m", "postfinder"]
MEMBER, OTHER = 42, 7
WORDS = (
    "электричка расписание пошлина паспорт каток парк музей выставка билет концерт школа "
    "больница налог вычет ремонт дорога мост метро автобус такси погода снег дождь рынок "
    "цена аренда квартира ипотека кредит банк вклад курс рубль доллар выборы суд закон"
).split()


def post_text(rng: random.Random, post_id: int, version: int = 0) -> str:
    """A deterministic post; every tenth one long enough for several chunks."""
    size = 400 if post_id % 10 == 0 else 30
    words = " ".join(rng.choice(WORDS) for _ in range(size))
    return f"Пост {post_id} версия {version}: {words}."


def write_export(path: Path, texts: dict[int, str]) -> Path:
    """Write a one-channel Telegram Desktop export with these posts."""
    messages = [
        {
            "id": pid,
            "type": "message",
            "date": "2024-01-01T10:00:00",
            "date_unixtime": str(1_704_103_200 + pid * 60),
            "text": text,
        }
        for pid, text in sorted(texts.items())
    ]
    doc = {"name": "Kill test", "type": "public_channel", "id": CHANNEL, "messages": messages}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a PostFinder process with the fake embedder and no model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTFINDER_")}
    env.update(
        POSTFINDER_DATA_DIR=str(data_dir),
        POSTFINDER_EMBEDDING__MODE="fake",
        POSTFINDER_LLM__MODE="none",
        ANONYMIZED_TELEMETRY="False",
        **extra,
    )
    return env


def run(args: list[str], env: dict[str, str], kill_after: float | None = None) -> bool:
    """Run ``postfinder ARGS``; SIGKILL it after ``kill_after`` s. Return True if killed."""
    with subprocess.Popen([*POSTFINDER, *args], env=env, **QUIET) as process:
        try:
            process.wait(timeout=kill_after)
            return False
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True


def row_states(data_dir: Path) -> dict[str, int]:
    """How many post rows are embedded, pending and being removed (read straight from SQLite)."""
    path = data_dir / "channels" / str(CHANNEL) / "posts.sqlite3"
    if not path.is_file():
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT embedded, COUNT(*) FROM posts GROUP BY embedded").fetchall()
    names = {1: "embedded", 0: "pending", -1: "removing"}
    return {names[int(state)]: int(n) for state, n in rows}


def quiet_fake() -> FakeTelegram:
    """A started fake Bot API that does not print the broken pipes of killed bots."""
    fake = FakeTelegram()
    fake.server.handle_error = lambda *_: None  # type: ignore[method-assign]
    return fake.start()


def bot_environment(env: dict[str, str], fake: FakeTelegram) -> dict[str, str]:
    """``env`` plus the settings that point ``postfinder serve`` at the fake Bot API."""
    return {
        **env,
        "POSTFINDER_TELEGRAM__TOKEN": "1:harness",
        "POSTFINDER_TELEGRAM__BASE_URL": fake.base_url,
        "POSTFINDER_TELEGRAM__CHANNELS": f"[{CHANNEL}]",
    }


def wait_for_lock(data_dir: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``process`` holds the data directory's writer lock."""
    lock = data_dir / "writer.lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if lock.is_file() and f'"pid": {process.pid},' in lock.read_text(encoding="utf-8"):
            return
        time.sleep(0.02)
    raise RuntimeError(f"process {process.pid} never took the writer lock")


def audit(data_dir: Path, expected: dict[int, str] | None) -> list[str]:
    """Compare documents, vectors and BM25 (and the expected posts); return the problems."""
    app = build_app(load_settings(data_dir=data_dir, embedding={"mode": "fake"}))
    try:
        channel = app.catalog.get(CHANNEL)
        docs = channel.docs.ids()
        chunks = channel.vectors.post_ids(channel.collection)
        bm25 = sorted(int(i) for i in channel.lexical().doc_ids)
        problems = []
        if sorted(set(chunks)) != docs:
            problems.append(f"vectors {len(set(chunks))} posts vs documents {len(docs)}")
        if len(chunks) != channel.docs.chunk_total():
            problems.append(f"{len(chunks)} chunks stored, {channel.docs.chunk_total()} expected")
        if bm25 != docs:
            problems.append(f"BM25 {len(bm25)} posts vs documents {len(docs)}")
        if channel.docs.unfinished() != ([], []):
            problems.append(f"rows left unfinished: {channel.docs.unfinished()}")
        if expected is not None:
            stored = {pid: post.text for pid, post in channel.docs.get(expected).items()}
            lost = sorted(set(expected) - set(stored))
            stale = sorted(pid for pid in stored if stored[pid] != expected[pid])
            extra = sorted(set(docs) - set(expected))
            for name, ids in (("lost", lost), ("stale", stale), ("unexpected", extra)):
                if ids:
                    problems.append(f"{len(ids)} {name} posts, e.g. {ids[:5]}")
        return problems
    finally:
        app.close()


class Harness:
    """Builds the indexed template once and runs the trials of each scenario."""

    def __init__(self, work: Path, posts: int, seed: int) -> None:
        self.work = work
        self.rng = random.Random(seed)
        self.v1 = {pid: post_text(self.rng, pid) for pid in range(1, posts + 1)}
        self.seconds: dict[str, float] = {}
        self.member_seconds = 0.0
        self.template = work / "template"
        self.v1_path = write_export(work / "v1" / "result.json", self.v1)
        run(["index", str(self.v1_path)], environment(self.template))
        storage = self._storage(self.template)
        for number in range(1000):
            storage.claim_question(-100900, number, MEMBER, f"вопрос {number} про паспорт", CHANNEL)
        for number in range(100):
            storage.claim_question(-100900, 5000 + number, OTHER, f"вопрос {number}", CHANNEL)
        storage.close()

    @staticmethod
    def _storage(data_dir: Path) -> BotStorage:
        settings = load_settings(data_dir=data_dir)
        return BotStorage(settings.bot_db, settings.secret_file)

    def fresh(self, trial: str) -> Path:
        """A copy of the template data directory for one trial."""
        target = self.work / trial
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.template, target)
        return target

    def timed(self, args: list[str], env: dict[str, str]) -> float:
        """Seconds an uninterrupted run takes (the range kill delays are drawn from)."""
        started = time.perf_counter()
        run(args, env)
        return time.perf_counter() - started

    def newer_export(self) -> dict[int, str]:
        """v1 with 5% deleted, 10% edited and 30% new posts."""
        ids = sorted(self.v1)
        deleted = set(self.rng.sample(ids[1:-1], len(ids) // 20))
        edited = set(self.rng.sample(ids, len(ids) // 10)) - deleted
        v2 = {pid: text for pid, text in self.v1.items() if pid not in deleted}
        v2.update({pid: post_text(self.rng, pid, 1) for pid in edited})
        top = max(ids)
        v2.update(
            {pid: post_text(self.rng, pid) for pid in range(top + 1, top + 1 + len(ids) * 3 // 10)}
        )
        return v2

    def index(self, trial: int) -> dict[str, Any]:
        """Kill an update run of `index`, rerun it, audit."""
        v2 = self.newer_export()
        path = write_export(self.work / f"v2-{trial}" / "result.json", v2)
        data = self.fresh(f"index-{trial}")
        return self._kill_and_rerun("index", ["index", str(path)], data, v2)

    def forget(self, trial: int) -> dict[str, Any]:
        """Kill `forget-post`, rerun it, audit."""
        target = self.rng.choice(sorted(self.v1))
        data = self.fresh(f"forget-{trial}")
        expected = {pid: text for pid, text in self.v1.items() if pid != target}
        # The rerun says "not indexed" if the first run had finished.
        return self._kill_and_rerun("forget", ["forget-post", str(target)], data, expected)

    def _kill_and_rerun(
        self, name: str, args: list[str], data: Path, expected: dict[int, str]
    ) -> dict[str, Any]:
        """Kill ``args`` at a random moment of its uninterrupted run time, rerun, audit."""
        if name not in self.seconds:
            self.seconds[name] = self.timed(args, environment(self.fresh("probe")))
        delay = self.rng.uniform(0.2, self.seconds[name])
        killed = run(args, environment(data), kill_after=delay)
        state = row_states(data)
        run(args, environment(data))
        return {
            "delay": delay,
            "killed": killed,
            "rows_at_kill": state,
            "problems": audit(data, expected),
        }

    def member(self, trial: int) -> dict[str, Any]:
        """Kill `member forget`, rerun it, look into the bot database."""
        data = self.fresh(f"member-{trial}")
        env = environment(data)
        args = ["member", "forget", str(MEMBER)]
        if trial == 0:
            self.member_seconds = self.timed(args, environment(self.fresh("probe")))
        delay = self.rng.uniform(0.2, self.member_seconds)
        killed = run(args, env, kill_after=delay)
        run(args, env)
        storage = self._storage(data)
        left = storage.member_data(MEMBER)
        others = storage.member_data(OTHER)
        storage.close()
        problems = []
        if left["questions"] or left["votes"]:
            problems.append(f"{len(left['questions'])} questions of the erased member left")
        if len(others["questions"]) != 100:
            problems.append(f"another member has {len(others['questions'])} of 100 questions")
        return {"delay": delay, "killed": killed, "problems": problems + audit(data, self.v1)}

    def live(self, trial: int) -> dict[str, Any]:
        """Kill `serve` while channel posts arrive, start it again, audit."""
        data = self.fresh(f"live-{trial}")
        fake = quiet_fake()
        try:
            expected = dict(self.v1)
            top = max(self.v1)
            for pid in range(top + 1, top + 41):
                expected[pid] = post_text(self.rng, pid)
                fake.push(channel_post=self._update(pid, expected[pid]))
            for pid in self.rng.sample(sorted(self.v1), 10):
                expected[pid] = post_text(self.rng, pid, 2)
                fake.push(edited_channel_post=self._update(pid, expected[pid], edited=True))
            env = bot_environment(environment(data), fake)
            delay = self.rng.uniform(1.0, 8.0)
            with subprocess.Popen([*POSTFINDER, "serve"], env=env, **QUIET) as first:
                time.sleep(delay)
                first.send_signal(signal.SIGKILL)
            state = row_states(data)
            settled = self._serve_until(env, data, expected)
        finally:
            fake.stop()
        problems = audit(data, expected)
        if not settled:
            problems.append("the restarted bot did not index every post within 90 s")
        return {"delay": delay, "killed": True, "rows_at_kill": state, "problems": problems}

    def concurrent(self, trial: int) -> dict[str, Any]:
        """Two writers at once; the second gets the lock error fast, or (bot) a hand-over."""
        v2 = self.newer_export()
        path = write_export(self.work / f"c2-{trial}" / "result.json", v2)
        data = self.fresh(f"concurrent-{trial}")
        env = environment(data)
        kind = ("index", "forget-post", "repair", "serve")[trial % 4]
        if kind == "serve":
            return self._index_while_serving(data, env, path, v2)
        second = {
            "index": ["index", str(path)],
            "forget-post": ["forget-post", str(max(self.v1))],
            "repair": ["repair"],
        }[kind]
        with subprocess.Popen([*POSTFINDER, "index", str(path)], env=env, **QUIET) as first:
            wait_for_lock(data, first)
            started = time.perf_counter()
            loser = subprocess.run(
                [*POSTFINDER, *second], env=env, capture_output=True, text=True, check=False
            )
            seconds = time.perf_counter() - started
            first.wait(timeout=600)
        problems = audit(data, v2)
        if loser.returncode != 1 or "Another PostFinder process is writing" not in loser.stderr:
            problems.append(f"second writer ({kind}): rc {loser.returncode}, {loser.stderr[-300:]}")
        if first.returncode != 0:
            problems.append(f"first writer exited {first.returncode}")
        return {"killed": False, "second": kind, "error_s": seconds, "problems": problems}

    def _index_while_serving(
        self, data: Path, env: dict[str, str], path: Path, v2: dict[int, str]
    ) -> dict[str, Any]:
        fake = quiet_fake()
        try:
            with subprocess.Popen(
                [*POSTFINDER, "serve"], env=bot_environment(env, fake), **QUIET
            ) as bot:
                wait_for_lock(data, bot)
                started = time.perf_counter()
                handed = subprocess.run(
                    [*POSTFINDER, "index", str(path)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=600,
                )
                seconds = time.perf_counter() - started
                bot.send_signal(signal.SIGTERM)
                bot.wait(timeout=60)
        finally:
            fake.stop()
        problems = audit(data, v2)
        if handed.returncode != 0 or "handed" not in (handed.stdout + handed.stderr).lower():
            problems.append(f"index while serving: rc {handed.returncode}, {handed.stderr[-300:]}")
        return {
            "killed": False,
            "second": "index-while-serve",
            "error_s": seconds,
            "problems": problems,
        }

    @staticmethod
    def _update(pid: int, text: str, edited: bool = False) -> dict[str, Any]:
        post = {
            "message_id": pid,
            "date": 1_704_103_200 + pid * 60,
            "chat": {"id": int(f"-100{CHANNEL}"), "type": "channel", "title": "Kill test"},
            "text": text,
        }
        if edited:
            post["edit_date"] = int(time.time())
        return post

    @staticmethod
    def _serve_until(env: dict[str, str], data: Path, expected: dict[int, str]) -> bool:
        """Run the bot until every expected post is embedded with its text; stop it."""
        path = data / "channels" / str(CHANNEL) / "posts.sqlite3"
        deadline = time.monotonic() + 90
        with subprocess.Popen([*POSTFINDER, "serve"], env=env, **QUIET) as bot:
            try:
                while time.monotonic() < deadline:
                    time.sleep(0.5)
                    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                        rows = dict(db.execute("SELECT id, text FROM posts WHERE embedded = 1"))
                    if all(rows.get(pid) == text for pid, text in expected.items()):
                        time.sleep(1.0)  # let a background BM25 rebuild finish its save
                        return True
                return False
            finally:
                bot.send_signal(signal.SIGTERM)
                try:
                    bot.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    bot.kill()


def main() -> None:
    """Run the scenarios and print one JSON summary line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenarios", default="index,forget,member,live,concurrent")
    parser.add_argument("--keep", action="store_true", help="Keep the data directories.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pf-kill-"))
    failed = False
    try:
        harness = Harness(work, args.posts, args.seed)
        for scenario in args.scenarios.split(","):
            trials = [getattr(harness, scenario)(n) for n in range(args.trials)]
            bad = [t for t in trials if t["problems"]]
            failed |= bool(bad)
            if scenario == "concurrent":
                times = sorted(t["error_s"] for t in trials if t["second"] != "index-while-serve")
                print(
                    json.dumps(
                        {
                            "scenario": scenario,
                            "trials": len(trials),
                            "second_writer": dict(Counter(t["second"] for t in trials)),
                            "lock_error_s_max": round(times[-1], 2) if times else None,
                            "inconsistent": len(bad),
                            "problems": [t["problems"] for t in bad][:5],
                        }
                    ),
                    flush=True,
                )
                continue
            states = Counter(
                "+".join(
                    sorted(k for k, v in t.get("rows_at_kill", {}).items() if v and k != "embedded")
                )
                or "clean"
                for t in trials
                if t["killed"]
            )
            print(
                json.dumps(
                    {
                        "scenario": scenario,
                        "trials": len(trials),
                        "killed": sum(t["killed"] for t in trials),
                        "unfinished_rows_at_kill": dict(states),
                        "inconsistent": len(bad),
                        "problems": [t["problems"] for t in bad][:5],
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
