"""The post record that every part of PostFinder shares."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Post:
    """One channel post with the text that is searched.

    Attributes
    ----------
    channel_id
        Numeric id of the channel (as in the export, without the ``-100`` prefix).
    id
        Message id inside the channel.
    date
        Unix time the post was published.
    text
        Visible text of the post or media caption, entities flattened.
    edited
        Unix time of the last edit, if any.
    reply_to
        Id of the message this post replies to.
    forwarded_from
        Name of the original author of a forwarded post.
    links
        Link targets (``text_link`` hrefs and plain URLs) found in the post.
    hashtags
        Hashtags found in the post, with the ``#``.
    """

    channel_id: int
    id: int
    date: int
    text: str
    edited: int | None = None
    reply_to: int | None = None
    forwarded_from: str | None = None
    links: tuple[str, ...] = field(default_factory=tuple)
    hashtags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def search_text(self) -> str:
        """Text used for indexing: the visible text plus link targets not already in it."""
        extra = [link for link in self.links if link not in self.text]
        return "\n".join([self.text, *extra]) if extra else self.text

    @property
    def content_hash(self) -> str:
        """Hash of everything that is indexed, so an edit is detected by comparing hashes."""
        digest = hashlib.sha256(self.search_text.encode("utf-8"))
        digest.update(f"\x00{self.date}\x00{self.forwarded_from or ''}".encode())
        return digest.hexdigest()[:32]


def post_link(channel_id: int, post_id: int, username: str | None) -> str:
    """Return the t.me link of a post.

    Parameters
    ----------
    channel_id
        Numeric channel id, used for the private ``t.me/c/`` form.
    post_id
        Message id.
    username
        Public username of the channel without ``@``, if known.

    Returns
    -------
    str
        ``https://t.me/<username>/<id>`` or ``https://t.me/c/<channel_id>/<id>``.
    """
    if username:
        return f"https://t.me/{username.lstrip('@')}/{post_id}"
    return f"https://t.me/c/{channel_id}/{post_id}"


_POST_LINK_RE = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:(c)/(\d+)|([A-Za-z0-9_]{4,}))/(\d+)/?$"
)


def parse_post_ref(text: str) -> tuple[str | None, int]:
    """Read a post reference: a t.me link (public or ``t.me/c/``) or a bare post id.

    Returns
    -------
    tuple
        ``(channel selector or None, post id)``; the selector is the channel id or
        ``@username`` named by the link.

    Raises
    ------
    ValueError
        If ``text`` is neither.
    """
    value = text.strip()
    if value.isdigit():
        return None, int(value)
    match = _POST_LINK_RE.match(value)
    if match is None:
        raise ValueError(
            f"{text!r} is not a post link (https://t.me/<channel>/<id> or "
            "https://t.me/c/<channel id>/<id>) or a post id"
        )
    private, channel_id, username, post_id = match.groups()
    return (channel_id if private else f"@{username}"), int(post_id)
