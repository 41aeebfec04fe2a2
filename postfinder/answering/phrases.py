"""Fixed phrases in the asker's language."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "refusal": {
        "ru": "В канале нет поста об этом.",
        "uk": "У каналі немає допису про це.",
        "en": "The channel has no post about this.",
        "zh": "频道里没有关于这个问题的帖子。",
    },
    "extractive": {
        "ru": "Вот что об этом писали в канале:",
        "uk": "Ось що про це писали в каналі:",
        "en": "Here is what the channel posted about it:",
        "zh": "频道中的相关内容：",
    },
    "sources": {"ru": "Источники", "uk": "Джерела", "en": "Sources", "zh": "来源"},
}


def phrase(key: str, language: str) -> str:
    """Return the phrase ``key`` in ``language`` (English when missing)."""
    table = PHRASES[key]
    return table.get(language, table["en"])
