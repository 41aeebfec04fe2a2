"""Build the python-telegram-bot Application from the settings, in one place."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from postfinder.app import App
from postfinder.bot.commands import Commands
from postfinder.bot.handlers import PostFinderBot
from postfinder.conversation.storage import BotStorage
from postfinder.errors import ConfigError
from postfinder.operations import maintenance
from postfinder.operations.maintenance import purge_daily as _purge_daily
from postfinder.redact import RedactToken, redact_everywhere
from postfinder.settings import TelegramSettings

log = logging.getLogger(__name__)
__all__ = [
    "RedactToken",
    "_purge_daily",
    "build_application",
    "run",
    "run_async",
    "wait_for_bot_api",
]
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")
REJECTED_TOKEN = "Telegram rejected the bot token; check POSTFINDER_TELEGRAM__TOKEN."


async def wait_for_bot_api(
    token: str,
    base_url: str,
    *,
    first_delay_s: float = 1.0,
    max_delay_s: float = 60.0,
    attempts: int | None = None,
) -> None:
    """Return once the Bot API answers; retry an unreachable one with backoff.

    Each failed attempt is one log line (no traceback); the delay doubles up to
    ``max_delay_s``. A rejected token is not retried.

    Parameters
    ----------
    token
        The bot token (never logged).
    base_url
        Bot API server, e.g. ``https://api.telegram.org``.
    first_delay_s, max_delay_s
        Backoff bounds.
    attempts
        Give up after this many attempts (``None``: keep trying, as ``serve`` does).

    Raises
    ------
    ConfigError
        When the token is rejected, or after ``attempts`` failed attempts.
    """
    delay = first_delay_s
    for attempt in itertools.count(1):
        bot = Bot(token, base_url=f"{base_url.rstrip('/')}/bot")
        try:
            async with bot:  # initialising the bot calls getMe
                return
        except InvalidToken as exc:
            raise ConfigError(REJECTED_TOKEN) from exc
        except (NetworkError, TimedOut) as exc:
            reason = str(exc).replace(token, "<token>")
            if attempts is not None and attempt >= attempts:
                raise ConfigError(
                    f"Cannot reach the Telegram Bot API at {base_url} after {attempt} attempts "
                    f"({reason}). Check the network or POSTFINDER_TELEGRAM__BASE_URL."
                ) from None
            message = "Telegram Bot API at %s unreachable (attempt %d: %s); retrying in %.0f s"
            log.warning(message, base_url, attempt, reason, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay_s)


def redact_in_logs(token: str) -> None:
    """Keep the token out of every log handler and of the HTTP and Telegram loggers."""
    redact_everywhere(token, ("httpx", "telegram", "postfinder"))
    logging.getLogger("httpx").setLevel(logging.WARNING)


def build_application(
    app: App, start_background: bool = True
) -> tuple[Application, PostFinderBot]:  # type: ignore[type-arg]
    """Create the bot Application with all handlers.

    ``start_background``: also run the heartbeat, the inbox and retention (off when
    another front end in the process runs them).

    Raises
    ------
    ConfigError
        If the token is missing or no channel is indexed or configured.
    """
    cfg = app.settings.telegram
    if cfg.token is None or not cfg.token.get_secret_value().strip():
        raise ConfigError(
            "No bot token. Create a bot with @BotFather and set POSTFINDER_TELEGRAM__TOKEN."
        )
    token = cfg.token.get_secret_value().strip()
    redact_in_logs(token)
    if not app.catalog.ids() and not cfg.channels:
        raise ConfigError(
            "No channel is indexed. Index the channel's export first "
            "(postfinder index result.json) or list it in POSTFINDER_TELEGRAM__CHANNELS."
        )
    storage = app.storage
    storage.purge(cfg.retention_days)
    bot = PostFinderBot(app, cfg)
    tasks: list[asyncio.Task[None]] = []

    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        me = application.bot
        bot.bot_id, bot.username = me.id, me.username or ""
        await bot.discover_groups(me)
        if start_background:
            tasks.extend(maintenance.start_background(app))

    application = (
        Application.builder()
        .token(token)
        .base_url(f"{cfg.base_url.rstrip('/')}/bot")
        .base_file_url(f"{cfg.base_url.rstrip('/')}/file/bot")
        .concurrent_updates(cfg.concurrent_updates)
        .post_init(post_init)
        .post_shutdown(lambda _: _close(storage, tasks))
        .build()
    )
    _add_handlers(application, bot, Commands(bot))
    return application, bot


def _add_handlers(
    application: Application, bot: PostFinderBot, commands: Commands  # type: ignore[type-arg]
) -> None:
    """Route each kind of update to its handler; one error handler for all."""
    application.add_handler(TypeHandler(Update, bot.drop_impossible), group=-1)
    channel_posts = filters.UpdateType.CHANNEL_POSTS
    application.add_handler(MessageHandler(channel_posts, bot.on_channel_post))
    application.add_handler(CommandHandler("ask", bot.on_ask))
    application.add_handler(CommandHandler("stats", commands.on_stats))
    application.add_handler(CommandHandler("settings", commands.on_settings))
    application.add_handler(CommandHandler("forget", commands.on_forget))
    application.add_handler(CommandHandler("mydata", commands.on_mydata))
    application.add_handler(CommandHandler("forgetme", commands.on_forgetme))
    application.add_handler(
        CallbackQueryHandler(commands.on_forgetme_confirmed, pattern=r"^forgetme$")
    )
    application.add_handler(CommandHandler(["help", "start"], commands.on_help))
    application.add_handler(CallbackQueryHandler(commands.on_feedback, pattern=r"^v:"))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND,
            bot.on_message,
        )
    )
    application.add_error_handler(bot.on_error)


async def _close(storage: BotStorage, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    storage.close()


def webhook_secret(cfg: TelegramSettings) -> str:
    """Return the webhook secret, checked before anything listens.

    Raises
    ------
    ConfigError
        If the URL or a usable secret is missing: without the secret anyone who finds the
        URL could post forged channel posts.
    """
    if not cfg.webhook_url:
        raise ConfigError("Webhook mode needs POSTFINDER_TELEGRAM__WEBHOOK_URL.")
    secret = cfg.webhook_secret.get_secret_value().strip() if cfg.webhook_secret else ""
    if not WEBHOOK_SECRET_RE.fullmatch(secret):
        raise ConfigError(
            "Webhook mode needs POSTFINDER_TELEGRAM__WEBHOOK_SECRET: 16-256 characters of "
            "A-Z, a-z, 0-9, _ and - (for example: openssl rand -hex 32)."
        )
    return secret


def run(app: App) -> None:
    """Run the bot until interrupted (long polling, or a webhook server).

    Raises
    ------
    ConfigError
        If the token is rejected or the settings are incomplete.
    """
    application, _ = build_application(app)
    cfg = app.settings.telegram
    secret = webhook_secret(cfg) if cfg.mode == "webhook" else ""
    updates = Update.ALL_TYPES
    token = application.bot.token  # build_application checked it is there
    # A loop of its own: python-telegram-bot then runs on the default one as usual.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(wait_for_bot_api(token, cfg.base_url))
    finally:
        loop.close()
    try:
        if cfg.mode == "webhook":
            application.run_webhook(
                listen=cfg.webhook_listen,
                port=cfg.webhook_port,
                webhook_url=cfg.webhook_url,
                secret_token=secret,
                allowed_updates=updates,
            )
        else:
            application.run_polling(allowed_updates=updates)
    except InvalidToken as exc:
        raise ConfigError(REJECTED_TOKEN) from exc
    except TelegramError as exc:
        reason = str(exc).replace(token, "<token>")
        raise ConfigError(
            f"Cannot reach the Telegram Bot API at {cfg.base_url}: {reason}"
        ) from None


async def run_async(app: App) -> None:
    """Run the bot on the running event loop until cancelled, beside another front end.

    The same bot as `run`, started by hand (python-telegram-bot's ``run_polling`` owns
    its loop); the heartbeat, inbox and retention are left to the caller.
    """
    application, _ = build_application(app, start_background=False)
    cfg = app.settings.telegram
    secret = webhook_secret(cfg) if cfg.mode == "webhook" else ""
    await wait_for_bot_api(application.bot.token, cfg.base_url)
    async with application:
        await application.post_init(application)  # type: ignore[misc]
        await application.start()
        updater = application.updater
        assert updater is not None
        if cfg.mode == "webhook":
            await updater.start_webhook(
                listen=cfg.webhook_listen,
                port=cfg.webhook_port,
                webhook_url=cfg.webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)
        try:
            await asyncio.Event().wait()
        finally:
            await updater.stop()
            await application.stop()
            await application.post_shutdown(application)  # type: ignore[misc]
