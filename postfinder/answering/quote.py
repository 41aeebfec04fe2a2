"""The quoted evidence of an answer: its sentence, with the phrase that answers in bold."""

from __future__ import annotations

from postfinder.answering.extractive import REFERRING_RE
from postfinder.answering.passages import RankedPost
from postfinder.answering.sanitize import CONTROL_RE
from postfinder.answering.span import Pick


def render_quote(item: RankedPost, pick: Pick, max_chars: int) -> str:
    """``«…sentence with **phrase**…» [1]``: only the sentence, not the whole post.

    The sentence before is added when this one leans on it ("Это ...", "It ...").
    "…" marks the post's text left out on either side. A pick without a range (a
    yes/no word, or the sentence itself) quotes the sentence without bold.

    Parameters
    ----------
    item
        The post the sentence belongs to.
    pick
        The phrase; its ``source.sentence`` names the sentence.
    max_chars
        Longest quote.
    """
    index = pick.source.sentence
    sentence = item.sentences[index]
    start, end = pick.start, pick.end
    if end > start and pick.source.text == sentence:
        phrase = sentence[start:end].replace("**", "")
        body = f"{sentence[:start]}**{phrase}**{sentence[end:]}"
    else:
        body = sentence
    first = index
    if index > 0 and REFERRING_RE.match(sentence):
        first = index - 1
        body = f"{item.sentences[first]} {body}"
    body = CONTROL_RE.sub("", body)
    if len(body) > max_chars - 10:
        body = body[: max_chars - 11].rsplit(" ", 1)[0] + "…"
    lead = "…" if first > 0 else ""
    tail = "…" if index < len(item.sentences) - 1 else ""
    return f"«{lead}{body}{tail}» [1]"
