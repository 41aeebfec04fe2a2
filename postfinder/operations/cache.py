"""What ends cached answers: a changed post, a changed channel.

Every use-case that changes what a channel's posts say calls one of these, so no
member is given an answer the channel no longer supports. (A recalibration needs no
call: its new file time changes every answer's stamp, `App.cache_stamp`.)
"""

from __future__ import annotations

import logging

from postfinder.app import App

log = logging.getLogger(__name__)


def posts_changed(app: App, channel_id: int, post_ids: list[int]) -> int:
    """A post was added, edited or deleted: answers citing it go, and so do refusals
    (the post may answer what was refused). Returns how many answers went."""
    cache = app.answer_cache
    if cache is None:
        return 0
    dropped = cache.drop_posts(channel_id, post_ids) + cache.drop_refusals(channel_id)
    if dropped:
        log.info(
            "Answer cache: %d answers of channel %d ended by a post change", dropped, channel_id
        )
    return dropped


def healed(app: App, channel_id: int, counts: tuple[int, int]) -> int:
    """After a crash was healed: posts re-embedded or removed end all the channel's answers
    (which posts changed is not known any more)."""
    return channel_changed(app, channel_id) if any(counts) else 0


def channel_changed(app: App, channel_id: int) -> int:
    """The channel was re-indexed or re-embedded: all its cached answers go."""
    cache = app.answer_cache
    return 0 if cache is None else cache.drop_channel(channel_id)


def all_changed(app: App) -> int:
    """An export was indexed (or failed half-way), whose channel may not be known yet:
    every cached answer goes."""
    cache = app.answer_cache
    return 0 if cache is None else cache.drop_all()
