"""The answer cache: a repeated question gets the stored answer without the model.

Entries live in the bot's SQLite database (table ``answer_cache``), so every process
of a data directory (the bot, ``postfinder ask``) shares them, and invalidation by one
is seen by all: a trigger counts every change, and a process reloads its in-memory
vectors only when the count moved under it. An entry is found by its scope (channel,
comment-thread post, reply language) and either its normal form (an index lookup) or
its embedding (one matrix product over the scope's entries, judged by the
`ParaphraseRule`). Each entry records the posts it cites and a stamp of everything
its answer depends on (models, settings, the refusal calibration), so an answer made
under other conditions is never given.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from postfinder.answering.pipeline import Answer, Source
from postfinder.errors import StoreError
from postfinder.repeats.rule import ParaphraseRule

Vector = npt.NDArray[np.float32]
T = TypeVar("T")


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Turn a database failure ("database is locked" after the timeout, a full disk)
    into a `StoreError` that callers handle like any store's."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(f"The answer cache failed ({exc}); it is skipped.") from exc

    return call


@dataclass(frozen=True)
class Scope:
    """Where an answer holds: a channel, the post a comment thread is under, a language."""

    channel_id: int
    thread_post: int | None
    language: str

    @property
    def tag(self) -> str:
        """The scope within its channel, as stored."""
        return f"{'' if self.thread_post is None else self.thread_post}:{self.language}"


@dataclass(frozen=True)
class Hit:
    """A cached answer found for a question."""

    entry_id: int
    answer: Answer
    similarity: float


@dataclass
class _Block:
    """The embeddings of one scope's entries, in memory."""

    ids: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    matrix: Vector = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


def answer_record(answer: Answer) -> dict[str, Any]:
    """What of an answer is stored: what the member is shown and what decides speaking."""
    return {
        "mode": answer.mode,
        "answer": answer.answer,
        "lead": answer.lead,
        "language": answer.language,
        "sources": [{"n": s.n, "id": s.id, "link": s.link} for s in answer.sources],
        "refusal_probability": answer.refusal_probability,
        "retrieval_probability": answer.retrieval_probability,
    }


def cached_answer(question: str, record: dict[str, Any], elapsed_ms: float) -> Answer:
    """The stored answer, given again for ``question``."""
    return Answer(
        question=question.strip(),
        mode=record["mode"],
        answer=record["answer"],
        language=record["language"],
        sources=[Source(int(s["n"]), int(s["id"]), str(s["link"])) for s in record["sources"]],
        timings={"cache_ms": elapsed_ms, "total_ms": elapsed_ms},
        refusal_probability=float(record["refusal_probability"]),
        retrieval_probability=float(record["retrieval_probability"]),
        lead=record["lead"],
        cached=True,
    )


class AnswerCache:  # pylint: disable=too-many-instance-attributes
    """Stored answers of one data directory.

    Parameters
    ----------
    path
        The bot's database, already migrated (`BotStorage` opens it first).
    rule
        When a question is the same as a stored one.
    ttl_s, refusal_ttl_s
        How long an answer and a refusal are given again (a new post may answer what
        was refused, so refusals live shorter).
    max_entries
        Entries kept per channel; the oldest go first.
    """

    def __init__(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        self,
        path: Path,
        rule: ParaphraseRule,
        ttl_s: float,
        refusal_ttl_s: float,
        max_entries: int = 10000,
    ) -> None:
        try:
            self._db = sqlite3.connect(path, timeout=5, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Lookups before the queue read here: under WAL they never wait for a writer.
            self._reader = sqlite3.connect(path, timeout=5, check_same_thread=False)
            self._seen = self._version()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the answer cache in {path}: {exc}") from exc
        self.rule = rule
        self.ttl_s = ttl_s
        self.refusal_ttl_s = refusal_ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._blocks: dict[tuple[int, str, str], _Block] = {}

    def close(self) -> None:
        """Close the database connections."""
        self._db.close()
        self._reader.close()

    # -- lookups --------------------------------------------------------------------------
    @_guarded
    def find_text(self, scope: Scope, key: str, stamp: str, question: str) -> Hit | None:
        """The entry whose normal form is ``key`` (no model, no embedding)."""
        started = time.perf_counter()
        with self._read_lock:
            row = self._reader.execute(
                "SELECT id, answer FROM answer_cache WHERE channel_id = ? AND scope = ? AND "
                "key = ? AND stamp = ? AND expires > ? ORDER BY id DESC LIMIT 1",
                (scope.channel_id, scope.tag, key, stamp, time.time()),
            ).fetchone()
        if row is None:
            return None
        return Hit(int(row[0]), self._answer(question, row[1], started), 1.0)

    @_guarded
    def find_similar(
        self, scope: Scope, key: str, vector: Vector, stamp: str, question: str
    ) -> Hit | None:
        """The most similar entry that is the same question by the `ParaphraseRule`."""
        started = time.perf_counter()
        with self._lock:
            block = self._block(scope, stamp)
            if not block.ids or block.matrix.shape[1] != len(vector):
                return None
            for row, similarity in self.rule.best(key, vector, block.keys, block.matrix):
                found = self._db.execute(
                    "SELECT answer FROM answer_cache WHERE id = ? AND expires > ?",
                    (block.ids[row], time.time()),
                ).fetchone()
                if found is not None:
                    answer = self._answer(question, found[0], started)
                    return Hit(block.ids[row], answer, similarity)
        return None

    @staticmethod
    def _answer(question: str, stored: str, started: float) -> Answer:
        return cached_answer(question, json.loads(stored), (time.perf_counter() - started) * 1000)

    # -- writes ---------------------------------------------------------------------------
    @_guarded
    def generation(self, channel_id: int) -> int:
        """How many times the channel's answers were ended: taken before an answer is made,
        so that `put` can tell whether its posts changed meanwhile (in any process)."""
        with self._lock:
            return self._generation(channel_id)

    def _generation(self, channel_id: int) -> int:
        row = self._db.execute(
            "SELECT COALESCE(SUM(n), 0) FROM answer_cache_drops WHERE channel_id IN (?, 0)",
            (channel_id,),
        ).fetchone()
        return int(row[0])

    @_guarded
    def put(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        self,
        scope: Scope,
        key: str,
        vector: Vector | None,
        answer: Answer,
        stamp: str,
        asker: str | None = None,
        generation: int | None = None,
    ) -> int | None:
        """Store ``answer`` for the question ``key``; return the entry's id.

        With ``generation`` (from `generation`, taken before the answer was made), nothing
        is stored when the channel's answers were ended since: the answer may rest on a
        post that was edited or deleted meanwhile. Returns None then.
        """
        now = time.time()
        life = self.refusal_ttl_s if answer.mode == "refused" else self.ttl_s
        posts = " ".join(str(s.id) for s in answer.sources)
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")  # the check and the insert as one
            if generation is not None and self._generation(scope.channel_id) != generation:
                return None
            entry = self._db.execute(
                "INSERT INTO answer_cache (channel_id, scope, key, vector, answer, posts, refused, "
                "stamp, asker, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scope.channel_id,
                    scope.tag,
                    key,
                    blob,
                    json.dumps(answer_record(answer), ensure_ascii=False),
                    f" {posts} ",
                    int(answer.mode == "refused"),
                    stamp,
                    asker,
                    int(now),
                    now + life,
                ),
            ).lastrowid
            old = [
                r[0]
                for r in self._db.execute(
                    "SELECT id FROM answer_cache WHERE channel_id = ? ORDER BY id DESC "
                    "LIMIT -1 OFFSET ?",
                    (scope.channel_id, self.max_entries),
                )
            ]
            self._delete(old)
            if self._version() == self._seen + 1 + len(old):
                self._seen += 1 + len(old)
                block = self._blocks.get((scope.channel_id, scope.tag, stamp))
                if block is not None and vector is not None:
                    self._append(block, int(entry or 0), key, vector)
        return int(entry or 0)

    def drop_posts(self, channel_id: int, post_ids: list[int]) -> int:
        """Forget the answers that cite any of ``post_ids`` (edited or deleted posts), and
        those given in their comment threads (the post was their context)."""
        clauses = " OR ".join("posts LIKE ? OR scope LIKE ?" for _ in post_ids)
        if not clauses:
            return self._drop("0", (), channel_id)
        args = [arg for p in post_ids for arg in (f"% {p} %", f"{p}:%")]
        return self._drop(f"channel_id = ? AND ({clauses})", (channel_id, *args), channel_id)

    def drop_channel(self, channel_id: int) -> int:
        """Forget every answer of a channel (re-indexed, recalibrated, re-embedded)."""
        return self._drop("channel_id = ?", (channel_id,), channel_id)

    def drop_all(self) -> int:
        """Forget every answer (an export of a channel not known before was indexed)."""
        return self._drop("1", (), 0)

    def drop_refusals(self, channel_id: int) -> int:
        """Forget a channel's refusals: a new post may answer them."""
        return self._drop("channel_id = ? AND refused = 1", (channel_id,), channel_id)

    def drop_entry(self, entry_id: int) -> int:
        """Forget one answer (a member voted it down)."""
        return self._drop("id = ?", (entry_id,), None)

    @_guarded
    def count(self, channel_id: int | None = None) -> int:
        """Entries stored (of one channel, or all)."""
        where, args = ("", ()) if channel_id is None else (" WHERE channel_id = ?", (channel_id,))
        with self._lock:
            return int(
                self._db.execute(f"SELECT COUNT(*) FROM answer_cache{where}", args).fetchone()[0]
            )

    @_guarded
    def _drop(self, where: str, args: tuple[Any, ...], channel_id: int | None) -> int:
        """Delete the entries ``where`` says; count an end of the channel's answers."""
        with self._lock, self._db:
            if channel_id is not None:  # answers being made now must not be stored
                self._db.execute(
                    "INSERT INTO answer_cache_drops VALUES (?, 1) "
                    "ON CONFLICT(channel_id) DO UPDATE SET n = n + 1",
                    (channel_id,),
                )
            ids = [
                r[0] for r in self._db.execute(f"SELECT id FROM answer_cache WHERE {where}", args)
            ]
            self._delete(ids)
            if self._version() != self._seen + len(ids):
                self._blocks.clear()  # another process changed entries too: reload
            self._seen = self._version()
        return len(ids)

    def _delete(self, ids: list[int]) -> None:
        """Delete entries (inside the caller's transaction) and drop their vectors."""
        if not ids:
            return
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            self._db.execute(f"DELETE FROM answer_cache WHERE id IN ({marks})", part)
        gone = set(ids)
        for block in self._blocks.values():
            keep = [i for i, entry in enumerate(block.ids) if entry not in gone]
            if len(keep) != len(block.ids):
                block.ids = [block.ids[i] for i in keep]
                block.keys = [block.keys[i] for i in keep]
                block.matrix = block.matrix[keep]

    # -- the in-memory vectors ------------------------------------------------------------
    def _version(self) -> int:
        return int(self._db.execute("SELECT n FROM answer_cache_version").fetchone()[0])

    def _block(self, scope: Scope, stamp: str) -> _Block:
        """The vectors of a scope's entries made under ``stamp``, reloaded when another
        process changed the entries."""
        version = self._version()
        if version != self._seen:
            self._blocks.clear()
            self._seen = version
        name = (scope.channel_id, scope.tag, stamp)
        block = self._blocks.get(name)
        if block is None:
            block = self._blocks[name] = _Block()
            rows = self._db.execute(
                "SELECT id, key, vector FROM answer_cache WHERE channel_id = ? AND scope = ? "
                "AND stamp = ? AND vector IS NOT NULL AND expires > ? ORDER BY id",
                (scope.channel_id, scope.tag, stamp, time.time()),
            ).fetchall()
            if rows:
                block.ids = [int(r[0]) for r in rows]
                block.keys = [str(r[1]) for r in rows]
                block.matrix = np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
        return block

    @staticmethod
    def _append(block: _Block, entry: int, key: str, vector: Vector) -> None:
        row = np.asarray(vector, dtype=np.float32)[None, :]
        block.matrix = row if not block.ids else np.vstack([block.matrix, row])
        block.ids.append(entry)
        block.keys.append(key)
