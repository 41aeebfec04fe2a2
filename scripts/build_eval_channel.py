#!/usr/bin/env python3
"""Cut an evaluation channel out of a tg-news-ru file, as a Telegram Desktop export.

The question sets in scripts/evalsets/ were written about exactly these cuts: the
newest N posts with at least 40 characters of text.

Usage: python scripts/build_eval_channel.py SOURCE_messages.json OUT_DIR --newest 250
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path


def build(source: Path, newest: int, min_chars: int) -> dict[str, object]:
    """Return the export object for the newest posts of a tg-news-ru channel file."""
    items = json.loads(source.read_text(encoding="utf-8"))
    items = sorted(items, key=lambda item: -int(item["message_id"]))
    posts = [item for item in items if len((item.get("text") or "").strip()) >= min_chars]
    posts = sorted(posts[:newest], key=lambda item: int(item["message_id"]))
    channel_id = str(abs(int(posts[0]["sender_id"])))[3:]  # -100XXXXXXXXXX -> XXXXXXXXXX
    name = posts[0]["channel"]
    messages = []
    for item in posts:
        when = datetime.fromisoformat(item["date"]).astimezone(timezone.utc)
        messages.append(
            {
                "id": int(item["message_id"]),
                "type": "message",
                "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
                "date_unixtime": str(int(when.timestamp())),
                "from": name,
                "from_id": f"channel{channel_id}",
                "text": item["text"],
                "text_entities": [{"type": "plain", "text": item["text"]}],
            }
        )
    return {"name": name, "type": "public_channel", "id": int(channel_id), "messages": messages}


def main() -> None:
    """Write OUT_DIR/result.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--newest", type=int, default=250)
    parser.add_argument("--min-chars", type=int, default=40)
    args = parser.parse_args()
    export = build(args.source, args.newest, args.min_chars)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / "result.json"
    out.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{out}: {len(export['messages'])} posts of {export['name']}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
