"""SQLite store of a channel's posts: the source of truth for texts, hashes and metadata.

The vector store and the BM25 index are derived from it: the BM25 index is rebuilt
from here when missing, and vectors can be recomputed from here with another embedder.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path

from postfinder.errors import StoreError
from postfinder.ingest.post import Post

SCHEMA_VERSION = 1
# States of a post row (column ``embedded``): its vectors are stored, being written, or
# being removed. Rows leave a state only after the vector store has followed, so an
# interrupted writer leaves rows that say what is left to do.
EMBEDDED, PENDING, REMOVING = 1, 0, -1
_VISIBLE = f"embedded >= {PENDING}"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY,
    date INTEGER NOT NULL,
    edited INTEGER,
    reply_to INTEGER,
    forwarded_from TEXT,
    text TEXT NOT NULL,
    links TEXT NOT NULL,
    hashtags TEXT NOT NULL,
    hash TEXT NOT NULL,
    n_chunks INTEGER NOT NULL,
    embedded INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class DocumentStore:
    """Posts of one channel in a SQLite file (WAL mode).

    Parameters
    ----------
    path
        Database file; created with its parent directory if missing.
    channel_id
        Channel the posts belong to.
    """

    def __init__(self, path: Path, channel_id: int) -> None:
        self.path = path
        self.channel_id = channel_id
        self._meta: dict[str, str] | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self._db.commit()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the post database {path}: {exc}") from exc

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- metadata ---------------------------------------------------------------------
    def get_meta(self) -> dict[str, str]:
        """Return all metadata (channel name, username, embedder, ...)."""
        if self._meta is None:
            self._meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        return dict(self._meta)

    def forget_cached_meta(self) -> None:
        """Read metadata again on next use (another connection changed it)."""
        self._meta = None

    def set_meta(self, **values: str) -> None:
        """Set metadata keys."""
        self._meta = None
        with self._db:
            self._db.executemany(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    # -- posts ------------------------------------------------------------------------
    def hashes(self) -> dict[int, str]:
        """Return ``{post_id: content_hash}`` of posts whose vectors are stored."""
        rows = self._db.execute(f"SELECT id, hash FROM posts WHERE embedded = {EMBEDDED}")
        return {int(pid): str(h) for pid, h in rows}

    def upsert(self, posts: Iterable[tuple[Post, int]]) -> None:
        """Insert or replace posts with their chunk counts, marked as waiting for vectors.

        Writers store the vectors next and then call `mark_embedded`; a row still
        pending after a crash is re-embedded by the next run (see ``Indexer.heal``).
        """
        self._meta = None
        with self._db:
            self._bump_revision()
            self._db.executemany(
                f"INSERT OR REPLACE INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {PENDING})",
                [
                    (
                        p.id,
                        p.date,
                        p.edited,
                        p.reply_to,
                        p.forwarded_from,
                        p.text,
                        json.dumps(list(p.links), ensure_ascii=False),
                        json.dumps(list(p.hashtags), ensure_ascii=False),
                        p.content_hash,
                        n_chunks,
                    )
                    for p, n_chunks in posts
                ],
            )

    def mark_embedded(self, post_ids: Iterable[int]) -> None:
        """Record that the vectors of these (pending) posts are stored."""
        self._set_state(post_ids, EMBEDDED, f"embedded = {PENDING}", bump=False)

    def mark_removing(self, post_ids: Iterable[int]) -> int:
        """Hide posts from every read and flag them for removal; return how many existed.

        The caller deletes their vectors and then calls `delete`; a row still flagged
        after a crash is finished by the next run.
        """
        return self._set_state(post_ids, REMOVING, _VISIBLE, bump=True)

    def _set_state(self, post_ids: Iterable[int], state: int, where: str, bump: bool) -> int:
        return self._change(f"UPDATE posts SET embedded = {state}", post_ids, where, bump)

    def delete(self, post_ids: Iterable[int]) -> int:
        """Remove posts; return how many existed."""
        return self._change("DELETE FROM posts", post_ids, "1", bump=True)

    def _change(self, statement: str, post_ids: Iterable[int], where: str, bump: bool) -> int:
        """Run ``statement`` on the given posts in one transaction; return the rows hit."""
        ids = list(post_ids)
        if not ids:
            return 0
        self._meta = None
        marks = ",".join("?" * len(ids))
        with self._db:
            if bump:
                self._bump_revision()
            cursor = self._db.execute(f"{statement} WHERE id IN ({marks}) AND {where}", ids)
            return int(cursor.rowcount)

    def mark_all_unembedded(self) -> None:
        """Flag every post as needing new vectors (before re-embedding the channel)."""
        self._meta = None
        with self._db:
            self._bump_revision()
            self._db.execute(f"UPDATE posts SET embedded = {PENDING} WHERE {_VISIBLE}")

    def unfinished(self) -> tuple[list[int], list[int]]:
        """Return the ids of posts waiting for vectors and of posts waiting for removal."""
        rows = self._db.execute(
            f"SELECT id, embedded FROM posts WHERE embedded IN ({PENDING}, {REMOVING}) ORDER BY id"
        ).fetchall()
        return [int(i) for i, s in rows if s == PENDING], [int(i) for i, s in rows if s != PENDING]

    def chunk_total(self) -> int:
        """Return the number of chunks the vector store should hold for embedded posts."""
        row = self._db.execute(f"SELECT SUM(n_chunks) FROM posts WHERE embedded = {EMBEDDED}")
        return int(row.fetchone()[0] or 0)

    def present(self, post_ids: Iterable[int]) -> list[int]:
        """Return which of these posts have a row, in any state (so may have vectors)."""
        ids = list(post_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT id FROM posts WHERE id IN ({marks})", ids)
        return [int(row[0]) for row in rows]

    def count(self) -> int:
        """Return the number of stored posts."""
        sql = f"SELECT COUNT(*) FROM posts WHERE {_VISIBLE}"
        return int(self._db.execute(sql).fetchone()[0])

    def ids(self) -> list[int]:
        """Return the ids of all stored posts, in order."""
        sql = f"SELECT id FROM posts WHERE {_VISIBLE} ORDER BY id"
        return [int(row[0]) for row in self._db.execute(sql)]

    def around(self, post_id: int, span: int) -> list[int]:
        """Return the ids of up to ``span`` posts before and after ``post_id``."""
        before = self._db.execute(
            f"SELECT id FROM posts WHERE id < ? AND {_VISIBLE} ORDER BY id DESC LIMIT ?",
            (post_id, span),
        ).fetchall()
        after = self._db.execute(
            f"SELECT id FROM posts WHERE id > ? AND {_VISIBLE} ORDER BY id LIMIT ?",
            (post_id, span),
        ).fetchall()
        return [int(row[0]) for row in (*reversed(before), *after)]

    def get(self, post_ids: Iterable[int]) -> dict[int, Post]:
        """Return the posts with the given ids that exist."""
        ids = list(post_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        sql = f"SELECT * FROM posts WHERE id IN ({marks}) AND {_VISIBLE}"
        with closing(self._db.execute(sql, ids)) as cur:
            return {post.id: post for post in map(self._row_to_post, cur)}

    def iter_posts(self, only_unembedded: bool = False) -> Iterator[Post]:
        """Yield stored posts in id order."""
        where = f"WHERE embedded = {PENDING}" if only_unembedded else f"WHERE {_VISIBLE}"
        with closing(self._db.cursor()) as cur:
            yield from map(
                self._row_to_post, cur.execute(f"SELECT * FROM posts {where} ORDER BY id")
            )

    def fingerprint(self) -> str:
        """Return a value that changes whenever posts are added or changed."""
        meta = self.get_meta()
        return f"{meta.get('revision', '0')}-{self.count()}"

    def _bump_revision(self) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES ('revision', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def _row_to_post(self, row: tuple[object, ...]) -> Post:
        pid, date, edited, reply_to, fwd, text, links, hashtags = row[:8]
        return Post(
            channel_id=self.channel_id,
            id=int(str(pid)),
            date=int(str(date)),
            text=str(text),
            edited=int(str(edited)) if edited is not None else None,
            reply_to=int(str(reply_to)) if reply_to is not None else None,
            forwarded_from=str(fwd) if fwd is not None else None,
            links=tuple(json.loads(str(links))),
            hashtags=tuple(json.loads(str(hashtags))),
        )
