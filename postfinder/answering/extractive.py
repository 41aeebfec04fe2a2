"""The extractive answer: the sentences of the top posts that best answer the question."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from postfinder.answering.passages import RankedPost, best_sentences
from postfinder.ingest.post import Post
from postfinder.text import join_sentences, shorten

POSTS_CONSIDERED = 3
# A post whose share of the question's content words is below this part of the best
# post's share is about something else. Replayed by scripts/fit_typed_extract.py: 0 (a
# post with any of the words) ships, since higher parts refuse 3 more of 120 near-misses
# but it-library's answerable questions up to 0.10 (docs/benchmarks.md).
TOPIC_SHARE = 0.0
QUOTED_SENTENCES = 2
# Sentences that lean on the one before them ("Это ...", "It ...", "因此…") need it to make
# sense (Chinese words have no boundary to match: a sentence that starts with them counts).
REFERRING_RE = re.compile(
    r"^(?:(?:это|этот|эта|эти|он|она|оно|они|его|её|ее|их|там|тогда|также|поэтому|однако|"
    r"it|this|these|they|he|she|there|then|also|however)\b"
    r"|因此|所以|但是|但|不过|然而|此外|同时|于是|这|那|该|其|他|她|它)",
    re.IGNORECASE,
)


def quote_sentences(item: RankedPost, include: int | None = None) -> str:
    """The two best-matching sentences in post order; each that refers back gets the one before.

    Two sentences, not one: on the haystack questions the gold answer is in the best
    sentence 78% of the time and in the best two 90% (docs/benchmarks.md). ``include``:
    a sentence that must be among them (the one that says what was asked).
    """
    sentences = item.sentences
    order = sorted(range(len(sentences)), key=lambda i: -item.scores[i])
    chosen = set(order[:QUOTED_SENTENCES])
    if include is not None and include not in chosen:
        chosen = {order[0], include}
    chosen |= {i - 1 for i in chosen if i > 0 and REFERRING_RE.match(sentences[i])}
    return join_sentences([sentences[i] for i in sorted(chosen)])


def extractive_answer(
    ranked: Sequence[RankedPost],
    max_chars: int,
    says: Callable[[str], bool] | None = None,
    within: int = 0,
    about: Callable[[Post], float] | None = None,
    topic_share: float = TOPIC_SHARE,
) -> tuple[str, Post | None]:
    """Quote the best sentence among the top posts, citing its post as [1].

    Parameters
    ----------
    ranked
        Retrieved posts with sentence scores, best first.
    max_chars
        Longest quote.
    says
        Whether a sentence can say what was asked (a sum for "how much does it cost?");
        when given, the quote is of the best such sentence among the ``within`` best
        sentences, and there is none when no sentence can: the posts share the topic,
        not the detail.
    within
        How far down the sentences a ``says`` sentence may be.
    about
        How much a post is about the question (its share of the question's content
        words): a ``says`` sentence must come from a post with some, and with at least
        ``topic_share`` of the best post's ("Вход — 300 рублей" of a rink's post says a
        sum, but does not answer what a bus ride costs).
    topic_share
        See ``about``.

    Returns
    -------
    tuple
        The quote (``«...» [1]``) and the post it comes from (``None`` when no post has
        text, or none says what was asked).
    """
    candidates = [r for r in ranked[:POSTS_CONSIDERED] if r.sentences]
    if not candidates:
        return "", None
    order = best_sentences(candidates)
    if says is not None:
        shares = [1.0 if about is None else about(c.post) for c in candidates]
        topical = [share > 0 and share >= topic_share * max(shares) for share in shares]
        order = [
            o for o in order[:within] if topical[o[1]] and says(candidates[o[1]].sentences[o[2]])
        ]
        if not order:
            return "", None
    _, index, sentence = order[0]
    item = candidates[index]
    quoted = shorten(quote_sentences(item, sentence), max_chars)
    return f"«{quoted}» [1]", item.post
