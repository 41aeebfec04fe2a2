"""A member's rights over what the bot stored about them: access and erasure (GDPR)."""

from __future__ import annotations

from typing import Any

from postfinder.app import App
from postfinder.errors import ConfigError


def member_id(text: str) -> int:
    """Parse a member's numeric user id.

    Raises
    ------
    ConfigError
        If ``text`` is not a number (PostFinder stores no usernames).
    """
    if not text.strip().lstrip("-").isdigit():
        raise ConfigError(
            f"{text!r} is not a Telegram user id. PostFinder stores no usernames, only a keyed "
            "pseudonym of the numeric id: ask the member for it (the bot's /mydata shows it, "
            "as does @userinfobot)."
        )
    return int(text)


def export_member(app: App, user_id: int) -> dict[str, Any]:
    """Everything stored about a member: questions, answers sent, votes."""
    return app.storage.member_data(user_id)


def forget_member(app: App, user_id: int) -> dict[str, int]:
    """Erase everything stored about a member; return what was erased, by kind."""
    return app.storage.forget_member(user_id)
