#!/usr/bin/env python3
"""Index a corpus of hostile exports into an existing index; count outcomes and peak memory.

The corpus: ``--examples`` exports drawn by the property-based strategies of
tests/test_fuzz.py (wrong types, out-of-range ids and dates, truncated or spliced bytes),
plus large hand-made ones (lists nested 100,000 deep, a 20M-character post, 1e30 dates,
fractional ids, 50 MB of one string). Each goes through `Indexer.index_export` with the
fake embedder; every refusal must be an `ExportError` and leave the index unchanged.

Usage: python scripts/fuzz_exports.py [--examples 1000]
Prints one JSON line; exits 1 on any other exception or a changed index.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_fuzz import (  # noqa: E402  pylint: disable=wrong-import-position,import-error
    EXPORT,
    JSON,
    raw_export,
)

from postfinder.app import App  # noqa: E402  pylint: disable=wrong-import-position
from postfinder.embeddings.fake import (  # noqa: E402  pylint: disable=wrong-import-position
    FakeEmbedder,
)
from postfinder.errors import PostfinderError  # noqa: E402  pylint: disable=wrong-import-position
from postfinder.settings import load_settings  # noqa: E402  pylint: disable=wrong-import-position
from postfinder.store.vectors import (  # noqa: E402  pylint: disable=wrong-import-position
    MemoryVectorStore,
)

CHANNEL = 1_700_000_077
HEAD = b'{"name": "Fuzz", "type": "public_channel", "id": %d, "messages": [' % CHANNEL


def _post(post_id: int, text: bytes, date: bytes = b'"1704103200"') -> bytes:
    return b'{"id": %d, "type": "message", "date_unixtime": %s, "text": %s}' % (
        post_id,
        date,
        text,
    )


def big_cases() -> Iterator[tuple[str, bytes]]:
    """Large hostile exports that property-based examples are too small to reach."""
    good = _post(1, b'"ok"')
    end = b"]}"
    deep_lists = b"[" * 100_000 + b"]" * 100_000
    deep_objects = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    yield "deep-lists-100k", HEAD + _post(2, deep_lists) + end
    yield "deep-objects-100k", HEAD + _post(2, deep_objects) + end
    long_post = b'"' + "ж".encode() * 20_000_000 + b'"'
    yield "post-20M-chars", HEAD + good + b", " + _post(2, long_post) + end
    yield "string-50MB-unclosed", HEAD + b'{"id": 2, "text": "' + b"x" * 50_000_000
    yield "date-1e30", HEAD + good + b", " + _post(2, b'"x"', b"1e30") + end
    yield "id-fraction", HEAD + good + b', {"id": 1.5, "date_unixtime": "1", "text": "x"}' + end
    yield "id-2^63", HEAD + _post(2**63, b'"x"') + end
    entities = b"[" + b",".join([b'{"type": "bold", "text": "a"}'] * 200_000) + b"]"
    yield "many-entities", HEAD + _post(3, entities) + end
    personal = b'{"name": "Mum", "type": "personal_chat", "id": %d, "messages": [' % CHANNEL
    yield "personal-chat", personal + good + end
    many = b",".join(_post(i, b'"post %d"' % i) for i in range(1, 100_001))
    yield "100k-posts-one-bad", HEAD + many + b", " + _post(100_001, b'"bad"', b'"-1"') + end


class Run:
    """Indexes exports into one app and keeps the tallies."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.app = App(
            load_settings(data_dir=work / "data", embedding={"mode": "fake"}),
            embedder=FakeEmbedder(dim=64),
            vectors=MemoryVectorStore(),
        )
        base = work / "base.json"
        base.write_bytes(
            HEAD
            + b",".join(
                b'{"id": %d, "type": "message", "date_unixtime": "1704103200", "text": "base %d"}'
                % (i, i)
                for i in range(1, 31)
            )
            + b"]}"
        )
        self.app.indexer().index_export(base, progress=False)
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.slowest = 0.0

    def state(self) -> tuple[dict[int, str], int]:
        """Post hashes and chunk count of the channel."""
        channel = self.app.catalog.get(CHANNEL)
        return channel.docs.hashes(), self.app.vectors.count(channel.collection)

    def index(self, name: str, raw: bytes) -> None:
        """Index one export and record what happened."""
        path = self.work / "hostile.json"
        path.write_bytes(raw)
        before = self.state()
        started = time.perf_counter()
        try:
            self.app.indexer().index_export(path, progress=False, keep_missing=True)
            self.outcomes["indexed"] += 1
        except PostfinderError:
            self.outcomes["refused with a clear error"] += 1
            if self.state() != before:
                self.failures.append(f"{name}: refused but the index changed")
        except Exception:  # pylint: disable=broad-exception-caught
            self.outcomes["traceback"] += 1
            self.failures.append(f"{name}: {traceback.format_exc(limit=3)}")
        self.slowest = max(self.slowest, time.perf_counter() - started)


def main() -> None:
    """Run the corpus and print the tallies."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--examples", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pf-fuzz-") as tmp:
        run = Run(Path(tmp))
        for name, raw in big_cases():
            run.index(name, raw)
        counter = iter(range(10**9))

        @settings(
            max_examples=args.examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            data=EXPORT | JSON,
            cut=st.none() | st.integers(min_value=0),
            junk=st.sampled_from([b"", b"[" * 50, b'"', b"\xff\xfe", b"}", b"\x00"]),
        )
        def drawn(data: Any, cut: int | None, junk: bytes) -> None:
            if isinstance(data, dict):
                data.setdefault("id", CHANNEL)
                data.setdefault("type", "public_channel")
            run.index(f"example {next(counter)}", raw_export(data, cut, junk))

        drawn()  # pylint: disable=no-value-for-parameter  # hypothesis supplies them
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {
                    "exports": sum(run.outcomes.values()),
                    **run.outcomes,
                    "peak_rss_mb": round(peak_mb),
                    "slowest_s": round(run.slowest, 2),
                    "failures": run.failures[:5],
                },
                ensure_ascii=False,
            )
        )
        sys.exit(1 if run.failures else 0)


if __name__ == "__main__":
    main()
