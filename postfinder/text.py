"""Small text helpers shared by chunking, retrieval and answering (they import nothing of
PostFinder, so any module may use them)."""

from __future__ import annotations

import re

# ANSI escape sequences, C0/C1 controls (but tab and newline), zero-width and bidi marks.
CONTROL_RE = re.compile(
    "\x1b\\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e"
    "\u2066-\u2069\ufeff]"
)

SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at end punctuation and line breaks."""
    return [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]
