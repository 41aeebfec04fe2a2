"""Formatting and recognising messages: HTML escaping, splitting, question detection."""

from __future__ import annotations

import html
import re

from postfinder.phrases import phrase
from postfinder.text import looks_like_question, split_message

__all__ = ["looks_like_question", "split_message", "to_html"]

CITATION = re.compile(r"\[(\d{1,2})\]")
# The answer's phrase is marked **like this** (inside its quote too); paired markers only,
# so the tags are always balanced whatever a post contains.
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


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
