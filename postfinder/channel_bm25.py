"""A channel's BM25 index: its tokenizer, the languages of its posts, and rebuilds.

The index follows the post table: it is rebuilt when the table's fingerprint changes
(or the tokenizer's rule does), loaded from disk otherwise, and after live posts or
removals rebuilt in a background thread while searches use the previous one.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from postfinder.language import (
    LATIN_LANGUAGES,
    detect_language,
    main_latin_language,
    snowball_name,
)
from postfinder.lexical.bm25 import BM25Index
from postfinder.lexical.tokenize import Tokenizer
from postfinder.settings import LexicalSettings
from postfinder.store.documents import DocumentStore

BM25_DIR = "bm25"
# Part of the BM25 index's fingerprint: an index tokenised by an older rule is rebuilt.
TOKENIZER_VERSION = ":tok3"
log = logging.getLogger(__name__)


class ChannelBM25:
    """The BM25 index and tokenizer of one channel.

    Parameters
    ----------
    docs
        The channel's post table (its posts, metadata and fingerprint).
    directory
        The channel's directory; the index is saved under ``bm25/``.
    settings
        BM25 parameters and the configured language.
    """

    def __init__(self, docs: DocumentStore, directory: Path, settings: LexicalSettings) -> None:
        self.docs = docs
        self.directory = directory
        self.settings = settings
        self._lexical: tuple[str, BM25Index] | None = None
        self._tokenizer: Tokenizer | None = None
        self._refresh = threading.Lock()  # held while a background rebuild runs
        self._refresh_again = False

    def tokenizer(self) -> Tokenizer:
        """Return the channel's tokenizer, detecting its posts' languages once."""
        if self._tokenizer is None:
            meta = self.docs.get_meta()
            if not meta.get("languages"):
                self.detect_languages()
                meta = self.docs.get_meta()
            latins = [name for name in meta.get("latin_languages", "").split(",") if name]
            self._tokenizer = Tokenizer(meta.get("language") or "english", latins)
        return self._tokenizer

    def detect_languages(self) -> dict[str, float]:
        """Detect each post's language and record the channel's mix in its metadata.

        Metadata names languages by their Snowball names, as it always has (``language``
        and ``latin_languages`` configure the tokenizer; ``languages`` is the summary
        shown to people, such as ``"russian 93%, english 7%"``); "latin" counts the
        Latin-script posts whose language could not be told.

        Returns
        -------
        dict
            Share of posts per language (by those names), largest first.
        """
        # "": a Latin-script post whose function words say nothing.
        codes: Counter[str] = Counter(
            detect_language(post.search_text, default_latin="") for post in self.docs.iter_posts()
        )
        total = sum(codes.values()) or 1
        latin = {code: n for code, n in codes.items() if code in LATIN_LANGUAGES}
        configured = self.settings.language  # a Snowball name, or auto
        if configured != "auto":
            main = configured
        elif latin:
            main = snowball_name(max(latin, key=lambda code: latin[code]))
        else:
            main = snowball_name(main_latin_language(p.text for p in self.docs.iter_posts()))
        # A Latin language the channel really uses: a few posts and 5% of the Latin ones.
        used = [
            snowball_name(code)
            for code, n in sorted(latin.items(), key=lambda kv: -kv[1])
            if n >= 2 and n >= 0.05 * sum(latin.values())
        ]
        shares = {
            snowball_name(code) if code else "latin": n / total for code, n in codes.most_common()
        }
        self.docs.set_meta(
            language=main,
            latin_languages=",".join(dict.fromkeys([main, *used])),
            languages=", ".join(
                f"{name} {share:.0%}" for name, share in shares.items() if share >= 0.005
            ),
        )
        self._tokenizer = None
        return shares

    def index(self) -> BM25Index:
        """Return the BM25 index, rebuilding it if it is missing or out of date.

        While a background rebuild runs (see `refresh_soon`) the previous index
        is returned: searches never wait for it.
        """
        fingerprint = self.docs.fingerprint()
        current = self._lexical
        if current is not None and (current[0] == fingerprint or self._refresh.locked()):
            return current[1]
        index = self._load_saved()
        if index is None or index.meta.get("fingerprint") != fingerprint + TOKENIZER_VERSION:
            index = self.rebuild(fingerprint)
        self._lexical = (fingerprint, index)
        return index

    def _load_saved(self) -> BM25Index | None:
        """The BM25 index on disk, or None if missing, unreadable or of another tokenizer."""
        path = self.directory / BM25_DIR
        if not path.is_dir():
            return None
        try:
            index = BM25Index.load(path)
        except Exception:  # pylint: disable=broad-exception-caught
            return None  # unreadable: rebuilt from the post store
        fingerprint = str(index.meta.get("fingerprint", ""))
        return index if fingerprint.endswith(TOKENIZER_VERSION) else None

    def refresh_soon(self) -> None:
        """Rebuild the BM25 index in a background thread (after live posts or removals).

        Searches keep using the previous index until the new one is ready; a removed
        post they still rank is dropped because its row is gone, and a new post is
        found by dense search meanwhile. Changes during a rebuild trigger one more.
        """
        self._refresh_again = True
        if self._lexical is None:
            saved = self._load_saved()
            if saved is None:
                self.index()  # nothing to serve meanwhile: build it now, once
                self._refresh_again = False
                return
            self._lexical = ("stale", saved)
        if self._refresh.acquire(blocking=False):  # pylint: disable=consider-using-with
            threading.Thread(target=self._refresh_loop, name="bm25-refresh", daemon=True).start()

    def _refresh_loop(self) -> None:
        # Its own database connection and tokenizer: never shared with the caller's thread.
        twin = ChannelBM25(
            DocumentStore(self.docs.path, self.docs.channel_id), self.directory, self.settings
        )
        try:
            while self._refresh_again:
                self._refresh_again = False
                index = twin.rebuild()
                assert twin._lexical is not None  # pylint: disable=protected-access
                self.docs.forget_cached_meta()
                self._tokenizer = None  # the post languages may have changed
                self._lexical = (twin._lexical[0], index)  # pylint: disable=protected-access
        except Exception:  # pylint: disable=broad-exception-caught
            log.exception("Background BM25 rebuild of %s failed", self.directory)
        finally:
            twin.docs.close()
            self._refresh.release()
        if self._refresh_again:  # a change arrived while the lock was being released
            self.refresh_soon()

    def wait_for_refresh(self, timeout: float | None = None) -> bool:
        """Wait until no background rebuild runs; return False on timeout (for tests)."""
        # pylint: disable-next=consider-using-with
        if not self._refresh.acquire(timeout=-1 if timeout is None else timeout):
            return False
        self._refresh.release()
        return True

    def rebuild(self, fingerprint: str | None = None) -> BM25Index:
        """Rebuild the BM25 index from the stored posts and save it."""
        fingerprint = fingerprint or self.docs.fingerprint()
        self.detect_languages()
        tokenizer = self.tokenizer()
        ids: list[int] = []

        def tokens() -> Iterator[list[str]]:
            # Streamed: at 200k posts the token lists alone would take most of a gigabyte.
            for post in self.docs.iter_posts():
                ids.append(post.id)
                yield tokenizer.tokenize(post.search_text)

        cfg = self.settings
        index = BM25Index(k1=cfg.k1, b=cfg.b, idf=cfg.idf)
        index.build(ids, tokens())
        index.meta = {
            "fingerprint": fingerprint + TOKENIZER_VERSION,
            "languages": self.docs.get_meta().get("languages", ""),
        }
        if ids:
            index.save(self.directory / BM25_DIR)
        self._lexical = (fingerprint, index)
        return index
