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
INTERROGATIVES = re.compile(
    r"^(кто|что|где|когда|почему|зачем|как|какой|какая|какое|какие|каких|сколько|куда|"
    r"откуда|чей|чья|чьё|можно|правда|есть ли|who|what|where|when|why|how|which|is|are|"
    r"can|could|does|do|did|will|should)\b",
    re.IGNORECASE,
)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, "…" marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at end punctuation and line breaks."""
    return [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]


def looks_like_question(text: str) -> bool:
    """Return True for messages that read like a question (Russian and English at least)."""
    stripped = text.strip()
    if len(stripped) < 8 or len(stripped.split()) < 2:
        return False
    return "?" in stripped or bool(INTERROGATIVES.match(stripped))


TELEGRAM_LIMIT = 4096


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split text into pieces within a message limit, at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        pieces.append(text)
    return pieces
