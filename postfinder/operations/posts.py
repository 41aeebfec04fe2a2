"""Forget one post: it leaves every store and is never cited again."""

from __future__ import annotations

from dataclasses import dataclass

from postfinder.app import App
from postfinder.channels import Channel
from postfinder.errors import ConfigError
from postfinder.ingest.post import parse_post_ref
from postfinder.operations import cache


def find_post(app: App, ref: str, channel: str | int | None = None) -> tuple[Channel, int]:
    """Resolve a post link (``https://t.me/name/42``) or id to its channel and post id.

    Parameters
    ----------
    app
        The wired components.
    ref
        A post link or a bare post id.
    channel
        The channel meant: an indexed channel's id (a chat's own channel, which a
        link must then name), a selector (id, ``@username`` or name), or None (the
        link's channel, or the only indexed one).

    Raises
    ------
    ConfigError
        If ``ref`` is no post reference, or names another channel than ``channel``.
    ChannelNotFoundError
        If the channel is not indexed.
    """
    try:
        selector, post_id = parse_post_ref(ref)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(channel, int):
        return app.catalog.resolve(channel or selector), post_id
    target = app.catalog.get(channel, create=True)
    names = {str(channel), f"@{target.meta.get('username', '')}".lower()}
    if selector is not None and selector.lower() not in names:
        raise ConfigError(f"{ref} is a post of another channel than {channel}.")
    return target, post_id


@dataclass(frozen=True)
class Forgotten:
    """Which post a forget request named, and whether it was indexed."""

    channel_id: int
    post_id: int
    removed: bool


def forget_post(
    app: App, ref: str, channel: str | int | None = None, rebuild_now: bool = True
) -> Forgotten:
    """Remove a post from the channel's documents, vectors and BM25 index.

    The writer lock is taken first; then what an interrupted writer left is finished
    (a half-done removal included) before the post goes.

    Parameters
    ----------
    app
        The wired components.
    ref, channel
        The post and its channel, as `find_post` takes them.
    rebuild_now
        Rebuild BM25 before returning (a command); a running bot passes False and
        rebuilds in the background, searches dropping the post meanwhile.

    Raises
    ------
    ConfigError, ChannelNotFoundError
        As `find_post`.
    DataDirBusyError
        When another process writes the data directory.
    """
    with app.writing("forget-post"):
        target, post_id = find_post(app, ref, channel)
        indexer = app.indexer()
        cache.healed(app, target.id, indexer.heal(target))
        if not target.has_post(post_id):
            return Forgotten(target.id, post_id, False)
        indexer.remove_posts(target, [post_id], refresh_lexical=rebuild_now)
        cache.posts_changed(app, target.id, [post_id])
        if not rebuild_now:
            target.refresh_lexical_soon()
            target.touch()
    return Forgotten(target.id, post_id, True)
