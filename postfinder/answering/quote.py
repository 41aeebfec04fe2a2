"""The quoted evidence of an answer: its sentence, with the phrase that answers in bold."""

from __future__ import annotations

from postfinder.answering.extractive import REFERRING_RE, unmarked
from postfinder.answering.passages import RankedPost
from postfinder.text import CONTROL_RE, shorten


def render_quote(item: RankedPost, index: int, bold: tuple[int, int] | None, max_chars: int) -> str:
    """``«…sentence with **phrase**…» [1]``: only the sentence, not the whole post.

    The sentence before is added when this one leans on it ("Это ...", "It ...").
    "…" marks the post's text left out on either side.

    Parameters
    ----------
    item
        The post the sentence belongs to.
    index
        The sentence's index in the post.
    bold
        Character range of the phrase to set in bold, or ``None``.
    max_chars
        Longest quote.
    """
    sentence = item.sentences[index]
    # The post's own bold marks are dropped: only the phrase that answers is in bold.
    body = unmarked(sentence)
    if bold is not None and bold[1] > bold[0]:
        start, end = bold
        body = "**".join(
            unmarked(part) for part in (sentence[:start], sentence[start:end], sentence[end:])
        )
    first = index
    if index > 0 and REFERRING_RE.match(sentence):
        first = index - 1
        body = f"{unmarked(item.sentences[first])} {body}"
    body = CONTROL_RE.sub("", body)
    body = shorten(body, max_chars - 10)
    lead = "…" if first > 0 else ""
    tail = "…" if index < len(item.sentences) - 1 else ""
    return f"«{lead}{body}{tail}» [1]"
