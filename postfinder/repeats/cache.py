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

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from postfinder.answering.pipeline import Answer, Source
from postfinder.errors import StoreError
from postfinder.repeats.rule import ParaphraseRule

Vector = npt.NDArray[np.float32]


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
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._seen = self._version()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the answer cache in {path}: {exc}") from exc
        self.rule = rule
        self.ttl_s = ttl_s
        self.refusal_ttl_s = refusal_ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._blocks: dict[tuple[int, str, str], _Block] = {}

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    # -- lookups --------------------------------------------------------------------------
    def find_text(self, scope: Scope, key: str, stamp: str, question: str) -> Hit | None:
        """The entry whose normal form is ``key`` (no model, no embedding)."""
        started = time.perf_counter()
        with self._lock:
            row = self._db.execute(
                "SELECT id, answer FROM answer_cache WHERE channel_id = ? AND scope = ? AND "
                "key = ? AND stamp = ? AND expires > ? ORDER BY id DESC LIMIT 1",
                (scope.channel_id, scope.tag, key, stamp, time.time()),
            ).fetchone()
        if row is None:
            return None
        return Hit(int(row[0]), self._answer(question, row[1], started), 1.0)

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
    def put(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        self,
        scope: Scope,
        key: str,
        vector: Vector | None,
        answer: Answer,
        stamp: str,
        asker: str | None = None,
    ) -> int:
        """Store ``answer`` for the question ``key``; return the entry's id."""
        now = time.time()
        life = self.refusal_ttl_s if answer.mode == "refused" else self.ttl_s
        posts = " ".join(str(s.id) for s in answer.sources)
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock, self._db:
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
        """Forget the answers that cite any of ``post_ids`` (edited or deleted posts)."""
        clauses = " OR ".join("posts LIKE ?" for _ in post_ids)
        if not clauses:
            return 0
        return self._drop(
            f"channel_id = ? AND ({clauses})", (channel_id, *(f"% {p} %" for p in post_ids))
        )

    def drop_channel(self, channel_id: int) -> int:
        """Forget every answer of a channel (re-indexed, recalibrated, re-embedded)."""
        return self._drop("channel_id = ?", (channel_id,))

    def drop_refusals(self, channel_id: int) -> int:
        """Forget a channel's refusals: a new post may answer them."""
        return self._drop("channel_id = ? AND refused = 1", (channel_id,))

    def drop_entry(self, entry_id: int) -> int:
        """Forget one answer (a member voted it down)."""
        return self._drop("id = ?", (entry_id,))

    def count(self, channel_id: int | None = None) -> int:
        """Entries stored (of one channel, or all)."""
        with self._lock:
            if channel_id is None:
                return int(self._db.execute("SELECT COUNT(*) FROM answer_cache").fetchone()[0])
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM answer_cache WHERE channel_id = ?", (channel_id,)
                ).fetchone()[0]
            )

    def _drop(self, where: str, args: tuple[Any, ...]) -> int:
        with self._lock, self._db:
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
