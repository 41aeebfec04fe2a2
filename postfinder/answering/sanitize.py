"""Make answer text safe to post: only known links, no mass mentions, no control
characters, bounded length."""

from __future__ import annotations

import re
from collections.abc import Iterable

from postfinder.text import CONTROL_RE, shorten

# Links in every form a chat client turns into something clickable: with a scheme
# (http, https, tg), www., Telegram's short hosts, and bare domains such as evil.com/login.
_TLDS = (
    "com|ru|net|org|io|me|info|biz|xyz|site|online|top|club|pro|app|dev|link|ly|to|cc|su|рф"
    "|co|uk|de|fr|es|it|ua|by|kz|cn|jp|us|eu|tv|gg|ai|shop|store|click|live|news"
)
URL_RE = re.compile(
    r"(?:https?://|tg://|www\.|(?:t|telegram)\.(?:me|dog)/)[^\s<>()\[\]\"'«»]+"
    rf"|\b[\w-]+(?:\.[\w-]+)*\.(?:{_TLDS})\b(?:/[^\s<>()\[\]\"'«»]*)?",
    re.IGNORECASE,
)


def normalise_link(link: str) -> str:
    """Compare links by what they open: no scheme, no www., t.me for telegram.me."""
    text = link.strip().rstrip("/.,;:!?»)").lower()
    text = re.sub(r"^(?:https?://|tg://)", "", text)
    text = re.sub(r"^www\.", "", text)
    return re.sub(r"^telegram\.(?:me|dog)/", "t.me/", text)


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
    links = {normalise_link(link) for link in allowed_links}
    mentions = {m.casefold() for m in allowed_mentions}

    def keep_link(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".,;:!?")
        trailing = match.group(0)[len(url) :]
        return (url if normalise_link(url) in links else "[link removed]") + trailing

    def keep_mention(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0) if name.casefold() in mentions else name

    cleaned = URL_RE.sub(keep_link, CONTROL_RE.sub("", text))
    cleaned = MASS_MENTION_RE.sub(lambda m: m.group(0)[1:], cleaned)
    cleaned = MENTION_RE.sub(keep_mention, cleaned)
    cleaned = re.sub(r"[ \t]+", " ", cleaned).strip()
    return shorten(cleaned, max_chars)
