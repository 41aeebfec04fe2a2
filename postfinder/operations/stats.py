"""What members asked, how the bot answered, and what the channel could not answer."""

from __future__ import annotations

import re
import time
from typing import Any

from postfinder.app import App
from postfinder.repeats.report import ANSWERED, repeats_report
from postfinder.repeats.rule import ParaphraseRule
from postfinder.text import shorten

_LONG_NUMBER_RE = re.compile(r"\+?\d[\d\s().-]{3,}\d")


def stats_report(
    app: App, days: int = 30, chat_id: int | None = None, repeats: bool = False, top: int = 10
) -> dict[str, Any]:
    """The stats of the last ``days`` days (of one chat, or all), after retention ran.

    Question texts past the retention period are forgotten first, so a report never
    shows what the owner promised to delete. With ``repeats``, the report also holds
    what members keep asking (`repeats_report`, under ``"repeats"``), judged by the
    answer cache's paraphrase rule, with the ``top`` largest clusters.
    """
    app.storage.purge(app.settings.telegram.retention_days)
    report = app.storage.stats(chat_id=chat_id, days=days)
    if repeats:
        rule = ParaphraseRule(app.settings.cache.min_similarity)
        # A question of the period may repeat one asked before it, as far back as
        # retention kept the texts.
        history = days + app.settings.telegram.retention_days
        since = int(time.time()) - days * 86400
        rows = app.storage.asked(history, chat_id)
        report["repeats"] = repeats_report(rows, rule, top, since)
    return report


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
        f"({shares['refused']:.0%}), "
        + (f"headline posts {modes['topic']}, " if modes.get("topic") else "")
        + f"busy {modes['busy']}"
        + (f"; {stats['cached']} given again from the cache." if stats.get("cached") else "."),
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
    if "repeats" in stats:
        lines.extend(format_repeats(stats["repeats"]))
    if stats["top_unanswered"]:
        lines.append("Asked but not in the channel (write about these):")
        lines.extend(
            f"  {item['count']}× {mask_numbers(item['question'])}"
            for item in stats["top_unanswered"]
        )
    return "\n".join(lines)


def _short(text: str, limit: int = 120) -> str:
    """A member's question cut to one line of a report."""
    text = " ".join(text.split())
    return shorten(text, limit)


def format_repeats(report: dict[str, Any]) -> list[str]:
    """The repeats part of a stats report, as lines of plain text."""
    lines = [
        f"Repeated questions: {report['repeats']} of {report['questions']} "
        f"({report['repeat_share']:.0%}) repeat an earlier one."
    ]
    if report["weeks"]:
        lines.append("Per week: questions, repeats, answered, 👍 more than 👎:")
        lines.extend(
            f"  {w['week']}: {w['questions']}, {w['repeat_share']:.0%}, "
            f"{w['answered_share']:.0%}, {w['positive_share']:.0%}"
            for w in report["weeks"]
        )
    if report["trend"]:
        trend = report["trend"]
        lines.append(
            "Since the first week: repeats "
            + ", answered ".join(
                f"{trend[k] * 100:+.0f} points" for k in ("repeat_share", "answered_share")
            )
            + f", 👍 {trend['positive_share'] * 100:+.0f} points."
        )
    if report["clusters"]:
        lines.append("Asked again and again:")
    for item in report["clusters"]:
        answered = item["answered"]
        how = (
            "no post about this yet"
            if item["no_post"]
            else f"answered {sum(answered[m] for m in ANSWERED)}, "
            f"refused {answered['refused']}, from the cache {item['cached']}"
        )
        lines.append(
            f"  {item['size']}× by {item['members']} members ({how}; "
            f"👍 {item['feedback']['up']} 👎 {item['feedback']['down']}): "
            f"{_short(mask_numbers(item['example']))}"
        )
    return lines
