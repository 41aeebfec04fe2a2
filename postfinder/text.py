"""Small text helpers shared by chunking and answering."""

from __future__ import annotations

import re

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
