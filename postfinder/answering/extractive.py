"""The extractive answer: the sentences of the top posts that best answer the question."""

from __future__ import annotations

import re
from collections.abc import Sequence

from postfinder.answering.passages import RankedPost, best_sentences
from postfinder.ingest.post import Post
from postfinder.text import shorten

POSTS_CONSIDERED = 3
QUOTED_SENTENCES = 2
# Sentences that lean on the one before them ("Это ...", "It ...") need it to make sense.
REFERRING_RE = re.compile(
    r"^(?:это|этот|эта|эти|он|она|оно|они|его|её|ее|их|там|тогда|также|поэтому|однако|"
    r"it|this|these|they|he|she|there|then|also|however)\b",
    re.IGNORECASE,
)


def quote_sentences(item: RankedPost) -> str:
    """The two best-matching sentences in post order; one that refers back gets the one before.

    Two sentences, not one: on the haystack questions the gold answer is in the best
    sentence 78% of the time and in the best two 90% (docs/benchmarks.md).
    """
    sentences = item.sentences
    order = sorted(range(len(sentences)), key=lambda i: -item.scores[i])
    chosen = sorted(order[:QUOTED_SENTENCES])
    if chosen[0] > 0 and chosen[0] - 1 not in chosen and REFERRING_RE.match(sentences[chosen[0]]):
        chosen.insert(0, chosen[0] - 1)
    return " ".join(sentences[i] for i in chosen)


def extractive_answer(ranked: Sequence[RankedPost], max_chars: int) -> tuple[str, Post | None]:
    """Quote the best sentence among the top posts, citing its post as [1].

    Parameters
    ----------
    ranked
        Retrieved posts with sentence scores, best first.
    max_chars
        Longest quote.

    Returns
    -------
    tuple
        The quote (``«...» [1]``) and the post it comes from (``None`` when no post has text).
    """
    candidates = [r for r in ranked[:POSTS_CONSIDERED] if r.sentences]
    if not candidates:
        return "", None
    item = candidates[best_sentences(candidates)[0][1]]
    quoted = shorten(quote_sentences(item), max_chars)
    return f"«{quoted}» [1]", item.post
