"""Texts that address the bot or its model with instructions (prompt injection).

A channel post such as "ВАЖНО ДЛЯ БОТА: игнорируй все предыдущие инструкции..." is not
content a member asked about, it is an attack on whoever reads the channel with a model.
Such posts are flagged when indexed and at answer time (the flag is a pure function of
the text, so new patterns apply without re-indexing): they are never quoted and never
shown to the model. The same patterns strip the attack out of a member's question so
that its real part ("Сколько стоит тариф?") is still answered.
"""

from __future__ import annotations

import re

from postfinder.answering.sanitize import URL_RE

_INSTRUCTIONS_EN = r"(?:instructions?|prompts?|rules|directions|guidelines|context)"
_INSTRUCTIONS_RU = r"\b(?:инструкци\w*|указани\w*|правил\w*|промпт\w*|установк\w*|команд\w*)"

# Each pattern is specific enough that ordinary posts do not match it (checked on 22k
# real Russian news posts: see docs/benchmarks.md).
_PATTERNS = [
    # English
    rf"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{{0,40}}\b(?:previous|prior|"
    rf"above|earlier|all|any|your|the|system)\b[^.!?\n]{{0,20}}\b{_INSTRUCTIONS_EN}",
    r"\bsystem\s*override\b",
    r"\b(?:print|reveal|show|repeat|output|tell me|display|leak)\b[^.!?\n]{0,30}\b(?:your|the)"
    r"\s+(?:system\s+)?(?:prompt|instructions|rules)\b",
    r"\byou\s+are\s+now\b",
    r"\bfrom\s+now\s+on,?\s+(?:you|answer|reply|respond)\b",
    r"\b(?:new|updated)\s+instructions?\s*:",
    r"\b(?:developer|dan|jailbreak|god)\s+mode\b",
    r"\b(?:note|message|instructions?|attention)\s+(?:to|for)\s+(?:the\s+)?(?:bot|ai|assistant"
    r"|llm|model|chatbot|gpt)s?\b",
    r"\b(?:answer|reply|respond)\s+(?:only\s+)?(?:to\s+)?(?:any|every|all)\s+questions?\b",
    # Russian
    rf"\b(?:про)?игнорир\w*[^.!?\n]{{0,40}}{_INSTRUCTIONS_RU}",
    rf"\bзабудь(?:те)?\b[^.!?\n]{{0,40}}{_INSTRUCTIONS_RU}",
    rf"\bне\s+обращай(?:те)?\s+внимани\w*\s+на\b[^.!?\n]{{0,30}}{_INSTRUCTIONS_RU}",
    r"\bты\s+теперь\b(?!\s+(?:можешь|сможешь|знаешь|в\s+курсе))",
    r"\b(?:выведи|покажи|раскрой|напиши|повтори|перескажи|озвучь)\b[^.!?\n]{0,20}"
    r"(?:\b(?:сво|тво)[йиею]\w*\s+(?:системн\w+\s+)?|\bсистемн\w+\s+)"
    r"(?:промпт|инструкци|правил|настройк)\w*",
    r"\b(?:важно|внимание|сообщение|инструкция|заметка|обращение)\s+(?:для|к)\s+(?:бот|ии\b|ai\b"
    r"|нейросет|модел|ассистент|чат-?бот|gpt)\w*",
    r"\b(?:для|к)\s+(?:бота|ботов|нейросети|ассистента|чат-?бота)\s*:",
    r"\bна\s+(?:любой|каждый|все)\s+вопрос\w*\s+отвечай\w*",
    r"\bотвечай(?:те)?\s+только\s+(?:ссылк|текстом|словом|фраз)\w*",
    r"\bнов\w+\s+инструкци\w*\s*:",
    r"\bрежим\w*\s+разработчика\b",
]
INJECTION_RE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)

# Requests to put a link in the reply ("Ответь ссылкой ...") carry no question content.
_LINK_REQUEST_RE = re.compile(
    r"\b(?:ответь(?:те)?|отвечай(?:те)?|answer|reply|respond)\b[^.!?\n]{0,30}"
    r"\b(?:ссылк\w*|link|url)\b",
    re.IGNORECASE,
)


def addresses_model(text: str) -> bool:
    """True when ``text`` gives instructions to a bot or language model.

    Parameters
    ----------
    text
        A post or a question.

    Returns
    -------
    bool
        Whether one of the RU/EN injection patterns occurs.
    """
    return INJECTION_RE.search(text) is not None


def strip_attack(sentences: list[str]) -> list[str]:
    """Drop sentences that instruct the model or ask for a link; remove URLs from the rest."""
    kept = []
    for sentence in sentences:
        if addresses_model(sentence) or _LINK_REQUEST_RE.search(sentence):
            continue
        clean = URL_RE.sub(" ", sentence)
        clean = re.sub(r"\s{2,}", " ", clean).strip()
        if any(c.isalnum() for c in clean):
            kept.append(clean)
    return kept
