"""Build and run the Discord bot from the settings, in one place."""

from __future__ import annotations

import discord
import yarl

from postfinder.app import App
from postfinder.discord.client import PostFinderDiscord
from postfinder.discord.commands import Commands
from postfinder.errors import ConfigError
from postfinder.operations import maintenance
from postfinder.redact import redact_everywhere


def build_client(app: App) -> tuple[PostFinderDiscord, str]:
    """Create the client with its commands and return it with the token (or `ConfigError`)."""
    cfg = app.settings.discord
    token = cfg.token.get_secret_value().strip() if cfg.token else ""
    if not token:
        raise ConfigError(
            "No Discord bot token. Create an application and its bot in the Discord "
            "developer portal and set POSTFINDER_DISCORD__TOKEN."
        )
    if not cfg.sources:
        raise ConfigError(
            "No Discord source channel. List the channels whose messages are the posts in "
            'POSTFINDER_DISCORD__SOURCES, e.g. {"<channel id>": {"ask_in": []}}.'
        )
    redact_everywhere(token, ("discord", "aiohttp", "postfinder"))
    # discord.py keeps its API base in a class attribute; the gateway's URL is asked of
    # that API at start (`connect`), so both come from one setting.
    discord.http.Route.BASE = cfg.api_base_url.rstrip("/")
    # PostFinder speaks no voice: no warning that voice's optional libraries are missing.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    client = PostFinderDiscord(app, cfg)
    Commands(client)
    return client, token


async def connect(client: discord.Client, token: str) -> None:
    """Log in, ask the API for the gateway, stay connected (bad token: `ConfigError`)."""
    try:
        await client.login(token)
    except discord.LoginFailure as exc:
        raise ConfigError(
            "Discord rejected the bot token; check POSTFINDER_DISCORD__TOKEN."
        ) from exc
    _, url, _ = await client.http.get_bot_gateway()
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    await client.connect()


async def run_async(app: App, background: bool = True) -> None:
    """Run the Discord bot on the running event loop until cancelled.

    ``background``: also run the heartbeat, the inbox and retention (False when the
    Telegram bot in the same process runs them).
    """
    client, token = build_client(app)
    tasks = maintenance.start_background(app) if background else []
    try:
        async with client:
            await connect(client, token)
    finally:
        for task in [*tasks, *client.tasks]:
            task.cancel()
