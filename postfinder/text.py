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
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_UKRAINIAN = re.compile(r"[іїєґ]", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at end punctuation and line breaks."""
    return [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]


def detect_language(text: str) -> str:
    """Guess the language of a short text from its script: ``ru``, ``uk``, ``zh`` or ``en``.

    Good enough to pick the language of fixed phrases (refusals, headings); the model
    itself is told to answer in the question's language.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    cjk = sum(1 for c in letters if _CJK.match(c))
    cyrillic = sum(1 for c in letters if _CYRILLIC.match(c))
    if cjk / len(letters) > 0.3:
        return "zh"
    if cyrillic / len(letters) > 0.3:
        return "uk" if _UKRAINIAN.search(text) else "ru"
    return "en"
