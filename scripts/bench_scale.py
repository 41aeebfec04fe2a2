#!/usr/bin/env python3
"""Index a large synthetic channel with the fake embedder: throughput and peak memory.

Writes an export of ``--posts`` posts (sentences drawn from the posts of an existing
export, so word statistics stay realistic), then runs ``postfinder index`` on it in a
child process with ``POSTFINDER_EMBEDDING__MODE=fake`` and real ChromaDB. The fake
embedder costs next to nothing, so the rate is PostFinder's own cost outside the model.
Prints posts/s and the child's peak resident memory.

Usage: python scripts/bench_scale.py SOURCE_EXPORT [--posts 200000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from postfinder.ingest.telegram_export import TelegramExport

CHANNEL = 1_700_000_200


def sentences(source: Path) -> list[str]:
    """The sentences of every post of an export."""
    export = TelegramExport(source)
    chat = export.select_chat(None)
    found: list[str] = []
    for post in export.iter_posts(chat):
        found.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", post.text) if len(s) > 20)
    return found


def write_export(path: Path, pool: list[str], posts: int, seed: int) -> None:
    """Stream a one-channel export of ``posts`` posts to ``path``."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(f'{{"name": "Scale", "type": "public_channel", "id": {CHANNEL}, "messages": [')
        for post_id in range(1, posts + 1):
            text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 6)))
            message = {
                "id": post_id,
                "type": "message",
                "date_unixtime": str(1_600_000_000 + post_id * 60),
                "text": text,
            }
            out.write(("," if post_id > 1 else "") + json.dumps(message, ensure_ascii=False))
        out.write("]}")


def main() -> None:
    """Build the export, index it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, help="Keep the export and index here.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pf-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    export = work / "result.json"
    write_export(export, sentences(args.source), args.posts, args.seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTFINDER_")}
    env.update(
        POSTFINDER_DATA_DIR=str(work / "data"),
        POSTFINDER_EMBEDDING__MODE="fake",
        POSTFINDER_LLM__MODE="none",
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "postfinder", "index", str(export), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(result.stderr[-3000:])
    report = json.loads(result.stdout)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "posts": report["posts_in_export"],
                "export_mb": round(export.stat().st_size / 2**20, 1),
                "seconds": round(seconds, 1),
                "posts_per_s": round(report["posts_in_export"] / seconds),
                "peak_rss_mb": round(peak_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
