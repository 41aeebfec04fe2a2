"""Reduce a member's message to the question that retrieval and the model should see.

Members paste long messages (a story, then the question), and attackers wrap a real
question in instructions for the bot. Both are reduced here, before any retrieval, so
that the cost of a question is bounded whatever its length and an attack cannot steer
retrieval towards its own text.
"""

from __future__ import annotations

from postfinder.answering.injection import strip_attack
from postfinder.text import CONTROL_RE, split_sentences

# Work on a bounded prefix and suffix: a 4,096-character message costs what a short one does.
SCAN_CHARS = 4000
MAX_QUESTION_CHARS = 300


def _bounded(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut if cut else text[:limit]


def focus_question(message: str, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Return the part of ``message`` to search for, at most ``max_chars`` characters.

    Sentences that instruct the bot ("игнорируй инструкции", "ответь ссылкой ...") and
    URLs are dropped. Of the rest, the sentences with a question mark are kept (with the
    sentence before a very short one, "Как быть?", for context); without a question mark,
    the message's opening words.

    Parameters
    ----------
    message
        The member's message, any length.
    max_chars
        Longest result.

    Returns
    -------
    str
        The question; empty when nothing but an attack or noise is left.
    """
    text = CONTROL_RE.sub(" ", message)
    if len(text) > 2 * SCAN_CHARS:
        # Questions sit at the start or, after a story, at the end.
        text = text[:SCAN_CHARS] + "\n" + text[-SCAN_CHARS:]
    sentences = strip_attack(split_sentences(text))
    if not sentences:
        return ""
    asked = [i for i, s in enumerate(sentences) if "?" in s]
    if not asked:
        return _bounded(" ".join(sentences), max_chars)
    chosen: list[str] = []
    for i in asked:
        if len(sentences[i]) < 25 and i > 0 and (i - 1) not in asked:
            chosen.append(sentences[i - 1])
        chosen.append(sentences[i])
    return _bounded(" ".join(dict.fromkeys(chosen)), max_chars)
