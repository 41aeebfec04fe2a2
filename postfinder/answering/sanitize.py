"""Make generated text safe to post: only known links, no mass mentions, bounded length."""

from __future__ import annotations

import re
from collections.abc import Iterable

URL_RE = re.compile(r"(?:https?://|www\.|t\.me/)[^\s<>()\[\]\"']+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![\w@])@(\w{3,})")
MASS_MENTION_RE = re.compile(r"@(?:all|everyone|here|channel)\b", re.IGNORECASE)


def sanitize_answer(
    text: str, allowed_links: Iterable[str], allowed_mentions: Iterable[str], max_chars: int
) -> str:
    """Remove links and mentions that the cited posts do not contain, and cap the length.

    Parameters
    ----------
    text
        Generated answer.
    allowed_links
        Links to the channel's posts and links that appear in the cited posts.
    allowed_mentions
        Usernames (without ``@``) that appear in the cited posts.
    max_chars
        Maximum length of the result.

    Returns
    -------
    str
        The cleaned answer.
    """
    links = {link.rstrip("/.,") for link in allowed_links}
    mentions = {m.casefold() for m in allowed_mentions}

    def keep_link(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".,;:!?")
        trailing = match.group(0)[len(url) :]
        return (url if url.rstrip("/") in links else "[link removed]") + trailing

    def keep_mention(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0) if name.casefold() in mentions else name

    cleaned = URL_RE.sub(keep_link, text)
    cleaned = MASS_MENTION_RE.sub(lambda m: m.group(0)[1:], cleaned)
    cleaned = MENTION_RE.sub(keep_mention, cleaned)
    cleaned = re.sub(r"[ \t]+", " ", cleaned).strip()
    if len(cleaned) > max_chars:
        cleaned = cleaned[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return cleaned
