"""Formatting and recognising messages: HTML escaping, splitting, question detection."""

from __future__ import annotations

import html
import re

from postfinder.phrases import phrase

TELEGRAM_LIMIT = 4096
_INTERROGATIVES = re.compile(
    r"^(кто|что|где|когда|почему|зачем|как|какой|какая|какое|какие|каких|сколько|куда|"
    r"откуда|чей|чья|чьё|можно|правда|есть ли|who|what|where|when|why|how|which|is|are|"
    r"can|could|does|do|did|will|should)\b",
    re.IGNORECASE,
)
CITATION = re.compile(r"\[(\d{1,2})\]")
# The answer's phrase is marked **like this** (inside its quote too); paired markers only,
# so the tags are always balanced whatever a post contains.
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


def looks_like_question(text: str) -> bool:
    """Return True for messages that read like a question (Russian and English at least)."""
    stripped = text.strip()
    if len(stripped) < 8 or len(stripped.split()) < 2:
        return False
    return "?" in stripped or bool(_INTERROGATIVES.match(stripped))


def to_html(answer: str, sources: list[tuple[int, str]], language: str) -> str:
    """Render an answer with clickable [n] citations and a source list, safely escaped."""
    links = dict(sources)
    body = html.escape(answer, quote=False)

    def cite(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number in links:
            return f'<a href="{html.escape(links[number])}">[{number}]</a>'
        return match.group(0)

    body = BOLD.sub(r"<b>\1</b>", body)
    body = CITATION.sub(cite, body)
    if not sources:
        return body
    listing = "\n".join(
        f'[{n}] <a href="{html.escape(link)}">{html.escape(link)}</a>' for n, link in sources
    )
    return f"{body}\n\n<b>{html.escape(phrase('sources', language))}:</b>\n{listing}"


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split text into pieces within Telegram's limit, at line breaks where possible."""
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
