"""What members asked, how the bot answered, and what the channel could not answer."""

from __future__ import annotations

import re
from typing import Any

from postfinder.app import App

_LONG_NUMBER_RE = re.compile(r"\+?\d[\d\s().-]{3,}\d")


def stats_report(app: App, days: int = 30, chat_id: int | None = None) -> dict[str, Any]:
    """The stats of the last ``days`` days (of one chat, or all), after retention ran.

    Question texts past the retention period are forgotten first, so a report never
    shows what the owner promised to delete.
    """
    app.storage.purge(app.settings.telegram.retention_days)
    return app.storage.stats(chat_id=chat_id, days=days)


def mask_numbers(text: str) -> str:
    """Hide numbers of five digits or more (phones, passports, cards) in a member's words."""

    def hide(match: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in match.group())
        return "•" * len(match.group()) if digits >= 5 else match.group()

    return _LONG_NUMBER_RE.sub(hide, text)


def format_stats(stats: dict[str, Any]) -> str:
    """Render a stats report as plain text (the same for every front end)."""
    modes = stats["modes"]
    shares = stats["shares"]
    lines = [
        f"Last {stats['days']} days: {stats['questions']} questions.",
        f"Generated {modes['generated']} ({shares['generated']:.0%}), extractive "
        f"{modes['extractive']} ({shares['extractive']:.0%}), refused {modes['refused']} "
        f"({shares['refused']:.0%}), busy {modes['busy']}.",
        f"Feedback: 👍 {stats['feedback']['up']}  👎 {stats['feedback']['down']}.",
    ]
    if set(stats.get("platforms", {})) - {"telegram"}:  # say so once Discord is in use
        lines.insert(
            1,
            "By platform: "
            + ", ".join(f"{name} {count}" for name, count in stats["platforms"].items())
            + ".",
        )
    if stats["latency_ms_p50"] is not None:
        lines.append(
            f"Answer time p50 {stats['latency_ms_p50'] / 1000:.1f} s, "
            f"p95 {stats['latency_ms_p95'] / 1000:.1f} s."
        )
    if stats["top_unanswered"]:
        lines.append("Asked but not in the channel (write about these):")
        lines.extend(
            f"  {item['count']}× {mask_numbers(item['question'])}"
            for item in stats["top_unanswered"]
        )
    return "\n".join(lines)
