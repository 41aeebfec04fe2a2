"""Small text helpers shared by chunking, retrieval and answering (they import only
`postfinder.language`, which imports nothing of PostFinder, so any module may use them)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from postfinder.language import CJK_CHARS

# ANSI escape sequences, C0/C1 controls (but tab and newline), zero-width and bidi marks.
CONTROL_RE = re.compile(
    "\x1b\\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e"
    "\u2066-\u2069\ufeff]"
)

# Full-width end marks (Chinese, Japanese) end a sentence without a space after them; a
# closing quote or bracket right after the mark stays with its sentence.
_CLOSING = "[”’」』）〕】》\"']"
SENTENCE_END = re.compile(
    rf"(?<=[.!?…])\s+|(?<=[。！？])(?!{_CLOSING})\s*|(?<=[。！？]{_CLOSING})\s*|\n+"
)
FULL_WIDTH_END = re.compile(rf"[。！？]{_CLOSING}?$")
# Text in CJK scripts may be cut after any character (CJK and full-width punctuation too).
_BREAK_AFTER_RE = re.compile(f"[{CJK_CHARS}\u3000-\u303f\uff00-\uffef]")
INTERROGATIVES = re.compile(
    r"^(кто|что|где|когда|почему|зачем|как|какой|какая|какое|какие|каких|сколько|куда|"
    r"откуда|чей|чья|чьё|можно|правда|есть ли|who|what|where|when|why|how|which|is|are|"
    r"can|could|does|do|did|will|should)\b",
    re.IGNORECASE,
)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, "…" marking the cut.

    After an ideograph is a word boundary too: Chinese has no spaces, and cutting at the
    last space (often after a Latin name near the start) would drop most of the text.
    """
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    after_cjk = max((m.end() for m in _BREAK_AFTER_RE.finditer(head)), default=-1)
    cut = max(head.rfind(" "), after_cjk)
    return (head[:cut] if cut >= 0 else head).rstrip() + "…"


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences joined as they stand in a text: by a space, or by nothing after a
    full-width end mark (Chinese text has no space between sentences)."""
    joined = ""
    for sentence in sentences:
        glue = "" if not joined or FULL_WIDTH_END.search(joined) else " "
        joined += glue + sentence
    return joined


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
