"""SQLite (WAL) log of questions, answers, feedback and per-chat settings.

Askers are stored only as a keyed hash (HMAC-SHA256 with a secret kept in the data
directory), and question texts are deleted after the retention period.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postfinder.errors import StoreError
from postfinder.repeats.report import ANSWERED as _ANSWER_MODES
from postfinder.repeats.report import Asked

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        channel_id INTEGER,
        asker TEXT NOT NULL,
        question TEXT,
        mode TEXT,
        latency_ms REAL,
        reply_message_id INTEGER,
        created INTEGER NOT NULL,
        UNIQUE (chat_id, message_id)
    );
    CREATE TABLE feedback (
        question_id INTEGER NOT NULL REFERENCES questions(id),
        voter TEXT NOT NULL,
        vote INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (question_id, voter)
    );
    CREATE TABLE chat_settings (
        chat_id INTEGER PRIMARY KEY,
        auto_answer INTEGER,
        language TEXT
    );
    """,
    # Discord joined Telegram: which front end each question came through.
    "ALTER TABLE questions ADD COLUMN platform TEXT NOT NULL DEFAULT 'telegram'",
    # Repeated questions: the answer cache, and what each question was (for the repeats
    # report). ``norm`` and ``vector`` come from the member's words: retention clears
    # them with the text.
    """
    CREATE TABLE answer_cache (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        vector BLOB,
        answer TEXT NOT NULL,
        posts TEXT NOT NULL,
        refused INTEGER NOT NULL,
        stamp TEXT NOT NULL,
        asker TEXT,
        created INTEGER NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX answer_cache_key ON answer_cache (channel_id, scope, key);
    CREATE TABLE answer_cache_version (n INTEGER NOT NULL);
    INSERT INTO answer_cache_version VALUES (0);
    CREATE TRIGGER answer_cache_added AFTER INSERT ON answer_cache
        BEGIN UPDATE answer_cache_version SET n = n + 1; END;
    CREATE TRIGGER answer_cache_removed AFTER DELETE ON answer_cache
        BEGIN UPDATE answer_cache_version SET n = n + 1; END;
    ALTER TABLE questions ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE questions ADD COLUMN cache_id INTEGER;
    ALTER TABLE questions ADD COLUMN norm TEXT;
    ALTER TABLE questions ADD COLUMN vector BLOB;
    CREATE INDEX questions_created ON questions (created);
    CREATE TABLE answer_cache_drops (channel_id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
    """,
)


@dataclass(frozen=True)
class RepeatInfo:
    """What the repeats report needs of an answered question.

    Attributes
    ----------
    cached
        The answer came from the answer cache.
    cache_id
        The cache entry that gave or now holds the answer (a 👎 on it ends the entry).
    norm, vector
        The question's normal form and embedding (cleared with its text by retention).
    """

    cached: bool = False
    cache_id: int | None = None
    norm: str = ""
    vector: Any = None


@dataclass(frozen=True)
class ChatSettings:
    """What a chat's admins chose."""

    auto_answer: bool
    language: str | None


class BotStorage:
    """The bot's database.

    Parameters
    ----------
    path
        SQLite file (created with its folder).
    secret_path
        File holding the pseudonymisation key (created on first use, mode 600).
    """

    def __init__(self, path: Path, secret_path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the bot database {path}: {exc}") from exc
        self._key = self._load_secret(secret_path)

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._db:
                self._db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    @staticmethod
    def _load_secret(path: Path) -> bytes:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Created with its mode: never readable by others, not even for a moment.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        return path.read_bytes()

    def pseudonym(self, user_id: int) -> str:
        """Return the keyed hash that stands for a Telegram user id."""
        return hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()[:24]

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- questions ----------------------------------------------------------------------
    def claim_question(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        question: str,
        channel_id: int,
        platform: str = "telegram",
    ) -> int | None:
        """Record a question; ``None`` if this message was already taken (no double answers)."""
        try:
            with self._db:
                cur = self._db.execute(
                    "INSERT INTO questions (chat_id, message_id, channel_id, asker, question, "
                    "created, platform) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        chat_id,
                        message_id,
                        channel_id,
                        self.pseudonym(user_id),
                        question,
                        int(time.time()),
                        platform,
                    ),
                )
        except sqlite3.IntegrityError:
            return None
        return int(cur.lastrowid or 0)

    def finish_question(  # pylint: disable=too-many-arguments
        self,
        question_id: int,
        mode: str,
        latency_ms: float,
        reply_message_id: int | None,
        *,
        repeat: RepeatInfo | None = None,
    ) -> None:
        """Store how a question was answered (and, for the repeats report, what it was)."""
        info = repeat or RepeatInfo()
        vector = None if info.vector is None else info.vector.astype("float32").tobytes()
        with self._db:
            self._db.execute(
                "UPDATE questions SET mode = ?, latency_ms = ?, reply_message_id = ?, "
                "cached = ?, cache_id = ?, norm = ?, vector = ? WHERE id = ?",
                (
                    mode,
                    latency_ms,
                    reply_message_id,
                    int(info.cached),
                    info.cache_id,
                    info.norm or None,
                    vector,
                    question_id,
                ),
            )

    def clear_answer_cache(self) -> int:
        """Delete every cached answer; return how many."""
        with self._db:
            return int(self._db.execute("DELETE FROM answer_cache").rowcount)

    def cache_entry(self, question_id: int) -> int | None:
        """The answer-cache entry that answered a question (None: not from the cache)."""
        row = self._db.execute(
            "SELECT cache_id FROM questions WHERE id = ?", (question_id,)
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def member_data(self, user_id: int) -> dict[str, Any]:
        """Everything stored about one member (GDPR Art. 15): their questions, their votes
        and the answers cached for their questions."""
        asker = self.pseudonym(user_id)
        return {
            "pseudonym": asker,
            "questions": self._dicts(
                "SELECT id, platform, chat_id, message_id, channel_id, question, norm, mode, "
                "cached, latency_ms, reply_message_id, created, vector IS NOT NULL AS "
                "has_embedding FROM questions WHERE asker = ? ORDER BY id",
                asker,
            ),
            "votes": self._dicts(
                "SELECT question_id, vote, updated FROM feedback WHERE voter = ? "
                "ORDER BY question_id",
                asker,
            ),
            "cached_answers": self._dicts(
                "SELECT id, channel_id, key AS question, answer, created FROM answer_cache "
                "WHERE asker = ? ORDER BY id",
                asker,
            ),
        }

    def _dicts(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Rows of a query as dicts by column name."""
        cursor = self._db.execute(sql, args)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    def forget_member(self, user_id: int) -> dict[str, int]:
        """Erase a member's questions, the answers' records and their votes (GDPR Art. 17)."""
        asker = self.pseudonym(user_id)
        with self._db:
            votes = self._db.execute("DELETE FROM feedback WHERE voter = ?", (asker,)).rowcount
            self._db.execute(
                "DELETE FROM feedback WHERE question_id IN "
                "(SELECT id FROM questions WHERE asker = ?)",
                (asker,),
            )
            questions = self._db.execute("DELETE FROM questions WHERE asker = ?", (asker,)).rowcount
            # Answers cached for their questions hold their words (the normal form).
            self._db.execute("DELETE FROM answer_cache WHERE asker = ?", (asker,))
        return {"questions": int(questions), "votes": int(votes)}

    def vote(self, question_id: int, user_id: int, vote: int) -> bool:
        """Record (or change) a user's vote on an answer; False if the answer is unknown."""
        if not self._db.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone():
            return False
        with self._db:
            self._db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?) ON CONFLICT(question_id, voter) "
                "DO UPDATE SET vote = excluded.vote, updated = excluded.updated",
                (question_id, self.pseudonym(user_id), 1 if vote > 0 else -1, int(time.time())),
            )
        return True

    def purge(self, retention_days: int, now: float | None = None) -> int:
        """Delete question texts older than the retention period, and cached answers that
        expired or outlived it; return how many question texts went."""
        at = time.time() if now is None else now
        cutoff = int(at) - retention_days * 86400
        with self._db:
            self._db.execute(
                "DELETE FROM answer_cache WHERE expires <= ? OR created < ?", (at, cutoff)
            )
            cur = self._db.execute(
                "UPDATE questions SET question = NULL, norm = NULL, vector = NULL "
                "WHERE created < ? AND (question IS NOT NULL OR norm IS NOT NULL)",
                (cutoff,),
            )
        return cur.rowcount

    # -- chat settings ------------------------------------------------------------------
    def chat_settings(self, chat_id: int, default_auto: bool) -> ChatSettings:
        """Return a chat's settings, falling back to the defaults."""
        row = self._db.execute(
            "SELECT auto_answer, language FROM chat_settings WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        if row is None:
            return ChatSettings(default_auto, None)
        auto = default_auto if row[0] is None else bool(row[0])
        return ChatSettings(auto, row[1])

    def set_chat_settings(self, chat_id: int, **values: Any) -> None:
        """Change a chat's settings (``auto_answer``, ``language``)."""
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO chat_settings (chat_id) VALUES (?)", (chat_id,))
            for key, value in values.items():
                if key not in ("auto_answer", "language"):
                    raise ValueError(key)
                self._db.execute(
                    f"UPDATE chat_settings SET {key} = ? WHERE chat_id = ?", (value, chat_id)
                )

    # -- reports ------------------------------------------------------------------------
    def asked(self, days: int, chat_id: int | None = None, now: float | None = None) -> list[Asked]:
        """The questions of the last ``days`` days (of one chat, or all), oldest first,
        with what the repeats report needs: normal form, embedding, outcome, votes."""
        since = int(time.time() if now is None else now) - days * 86400
        where = "q.created >= ?" + (" AND q.chat_id = ?" if chat_id is not None else "")
        args: tuple[Any, ...] = (since,) if chat_id is None else (since, chat_id)
        rows = self._db.execute(
            "SELECT q.id, q.channel_id, q.created, COALESCE(q.mode, 'pending'), q.cached, "
            "q.question, q.norm, q.vector, q.asker, "
            "COALESCE(SUM(f.vote > 0), 0), COALESCE(SUM(f.vote < 0), 0) "
            f"FROM questions q LEFT JOIN feedback f ON f.question_id = q.id WHERE {where} "
            "GROUP BY q.id ORDER BY q.created, q.id",
            args,
        ).fetchall()
        return [Asked(*row) for row in rows]

    def stats(self, chat_id: int | None = None, days: int = 30, top: int = 10) -> dict[str, Any]:
        """Summarise questions, answer modes, feedback, latency and unanswered questions."""
        since = int(time.time()) - days * 86400
        where = "created >= ?" + (" AND chat_id = ?" if chat_id is not None else "")
        args: tuple[Any, ...] = (since,) if chat_id is None else (since, chat_id)
        modes = dict(
            self._db.execute(
                f"SELECT COALESCE(mode, 'pending'), COUNT(*) FROM questions WHERE {where} "
                "GROUP BY 1",
                args,
            ).fetchall()
        )
        total = sum(modes.values())
        platforms = dict(
            self._db.execute(
                f"SELECT platform, COUNT(*) FROM questions WHERE {where} GROUP BY 1 ORDER BY 1",
                args,
            ).fetchall()
        )
        cached = self._db.execute(
            f"SELECT COUNT(*) FROM questions WHERE {where} AND cached = 1", args
        ).fetchone()[0]
        latencies = [
            r[0]
            for r in self._db.execute(
                f"SELECT latency_ms FROM questions WHERE {where} AND latency_ms IS NOT NULL "
                "ORDER BY latency_ms",
                args,
            )
        ]
        votes = dict(
            self._db.execute(
                f"SELECT f.vote, COUNT(*) FROM feedback f JOIN questions q ON q.id = f.question_id "
                f"WHERE q.{where.replace(' AND chat_id', ' AND q.chat_id')} GROUP BY f.vote",
                args,
            ).fetchall()
        )
        unanswered = self._db.execute(
            f"SELECT lower(trim(question)), COUNT(*) FROM questions WHERE {where} AND mode = "
            "'refused' AND question IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
            (*args, top),
        ).fetchall()

        def pct(p: float) -> float | None:
            return (
                latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None
            )

        return {
            "days": days,
            "questions": total,
            "platforms": platforms,
            "modes": {m: modes.get(m, 0) for m in (*_ANSWER_MODES, "refused", "busy")},
            "shares": {
                m: (modes.get(m, 0) / total if total else 0.0) for m in (*_ANSWER_MODES, "refused")
            },
            "cached": int(cached),
            "feedback": {"up": votes.get(1, 0), "down": votes.get(-1, 0)},
            "latency_ms_p50": pct(0.5),
            "latency_ms_p95": pct(0.95),
            "top_unanswered": [{"question": q, "count": c} for q, c in unanswered],
        }
