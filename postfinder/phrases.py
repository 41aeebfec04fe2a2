"""Every fixed phrase a member or admin sees, in one table, per language.

The answer pipeline (refusals, headings) and every front end (busy, rate limits, help)
take their words from here, so a chat's language setting reaches all of them and a new
language is one column.
"""

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
    "topic": {
        "ru": "В канале был пост об этом, подробности — по ссылке в нём:",
        "uk": "У каналі був допис про це, подробиці — за посиланням у ньому:",
        "en": "The channel posted about this; the details are behind its link:",
        "zh": "频道发过相关帖子，详情见其中的链接：",
    },
    "sources": {"ru": "Источники", "uk": "Джерела", "en": "Sources", "zh": "来源"},
    "busy": {
        "ru": "Сейчас я отвечаю на другие вопросы, спросите, пожалуйста, через минуту.",
        "uk": "Зараз я відповідаю на інші запитання, спитайте, будь ласка, за хвилину.",
        "en": "I am answering other questions right now; please ask again in a minute.",
        "zh": "我正在回答其他问题，请一分钟后再问。",
    },
    "rate": {
        "ru": "Слишком много вопросов подряд, подождите немного.",
        "uk": "Забагато запитань поспіль, зачекайте трохи.",
        "en": "Too many questions in a row; please wait a little.",
        "zh": "提问太频繁了，请稍等。",
    },
    "error": {
        "ru": "Извините, что-то пошло не так. Попробуйте ещё раз.",
        "uk": "Вибачте, щось пішло не так. Спробуйте ще раз.",
        "en": "Sorry, something went wrong. Please try again.",
        "zh": "抱歉，出了点问题，请再试一次。",
    },
    "thinking": {
        "ru": "Ищу в постах канала…",
        "uk": "Шукаю в дописах каналу…",
        "en": "Searching the channel's posts…",
        "zh": "正在搜索频道的帖子…",
    },
    "thanks": {
        "ru": "Спасибо за оценку!",
        "uk": "Дякую за оцінку!",
        "en": "Thanks for the feedback!",
        "zh": "感谢反馈！",
    },
    "admins": {
        "ru": "Эта команда только для администраторов чата.",
        "uk": "Ця команда лише для адміністраторів чату.",
        "en": "This command is for the chat's admins only.",
        "zh": "此命令仅供群管理员使用。",
    },
    "ask_usage": {
        "ru": "/ask <вопрос>",
        "en": "/ask <question>",
    },
    "help": {
        "ru": "Я отвечаю на вопросы по постам этого канала и даю ссылки на них.\n"
        "Спросите через /ask <вопрос>, упомяните меня или ответьте на моё сообщение.\n"
        "Администраторам: /stats (что спрашивали и на что в канале нет ответа), "
        "/settings auto on|off, /settings language ru|en|uk|zh|auto, "
        "/forget <ссылка на удалённый пост>.",
        "en": "I answer questions from this channel's posts, with links to them.\n"
        "Ask with /ask <question>, mention me, or reply to my message.\n"
        "Admins: /stats (what was asked, what the channel could not answer), "
        "/settings auto on|off, /settings language ru|en|uk|zh|auto, "
        "/forget <link of a deleted post>.",
    },
    "settings_usage": {
        "ru": "Использование: /settings auto on|off, /settings language ru|en|uk|zh|auto",
        "en": "Usage: /settings auto on|off, /settings language ru|en|uk|zh|auto",
    },
    "forget_usage": {
        "ru": "Использование: /forget <ссылка на пост>",
        "en": "Usage: /forget <post link>",
    },
    "forgotten": {
        "ru": "Пост {post} удалён из поиска: бот больше не будет на него ссылаться.",
        "en": "Post {post} is removed from the search: the bot will not cite it again.",
    },
    "not_indexed": {
        "ru": "Поста {post} нет в поиске этого канала.",
        "en": "Post {post} is not in this channel's search.",
    },
    "private_only": {
        "ru": "Эта команда работает в личном чате с ботом.",
        "en": "This command works in a private chat with the bot.",
    },
    "mydata": {
        "ru": "Всё, что бот хранит о вас (ваш Telegram id: {user}): {questions} вопросов и "
        "{votes} оценок. Удалить: /forgetme",
        "en": "Everything the bot stores about you (your Telegram id: {user}): {questions} "
        "questions and {votes} votes. To erase it: /forgetme",
    },
    "forgetme_confirm": {
        "ru": "Удалить все ваши вопросы и оценки? Это нельзя отменить.",
        "en": "Erase all your questions and votes? This cannot be undone.",
    },
    "forgetme_button": {"ru": "Удалить мои данные", "en": "Erase my data"},
    "forgetme_done": {
        "ru": "Удалено: {questions} вопросов и {votes} оценок.",
        "en": "Erased: {questions} questions and {votes} votes.",
    },
}
LANGUAGES = ("ru", "uk", "en", "zh")


def phrase(key: str, language: str) -> str:
    """Return the phrase ``key`` in ``language`` (English when missing)."""
    table = PHRASES[key]
    return table.get(language, table["en"])
