"""The extractive answer: the sentences of the top posts that best answer the question."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from postfinder.answering.grounding import CITATION_RE, STOPWORDS
from postfinder.answering.passages import RankedPost, best_sentences
from postfinder.ingest.post import Post
from postfinder.language import CJK_RE
from postfinder.text import join_sentences, shorten, split_sentences

POSTS_CONSIDERED = 3
# A post whose share of the question's content words is below this part of the best
# post's share is about something else. Replayed by scripts/fit_typed_extract.py: 0 (a
# post with any of the words) ships, since higher parts refuse 3 more of 120 near-misses
# but it-library's answerable questions up to 0.10 (docs/benchmarks.md).
TOPIC_SHARE = 0.0
QUOTED_SENTENCES = 2
# A rejected draft points at the sentence that holds this share of one of its sentences'
# new words (those the question lacks): enough that it copied from there, not one word.
POINTED_SHARE = 0.5
# Sentences that lean on the one before them ("Это ...", "It ...", "因此…") need it to make
# sense (Chinese words have no boundary to match: a sentence that starts with them counts).
REFERRING_RE = re.compile(
    r"^(?:(?:это|этот|эта|эти|он|она|оно|они|его|её|ее|их|там|тогда|также|поэтому|однако|"
    r"it|this|these|they|he|she|there|then|also|however)\b"
    r"|因此|所以|但是|但|不过|然而|此外|同时|于是|这|那|该|其|他|她|它)",
    re.IGNORECASE,
)


def quote_sentences(item: RankedPost, include: int | None = None) -> str:
    """The two best-matching sentences in post order; each that refers back gets the one
    before, and one sentence between two chosen ones is taken too.

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
    # One sentence between two quoted ones is quoted too: "1️⃣ Откройте … 3️⃣ Просмотрите …"
    # without step 2 reads as if it were the whole recipe.
    chosen |= {i + 1 for i in chosen if i + 2 in chosen}
    return unmarked(join_sentences([sentences[i] for i in sorted(chosen)]))


def unmarked(text: str) -> str:
    """``text`` without bold marks: a post's own would read as the bold of the phrase that
    answers, and one cut in half as a stray "**"."""
    return text.replace("**", "")


def pointed_sentence(
    ranked: Sequence[RankedPost],
    draft: str,
    question: str,
    tokenize: Callable[[str], list[str]],
) -> tuple[int, int] | None:
    """The sentence a rejected draft was written from, as ``(post, sentence)`` indices
    among the posts the extract quotes (the first `POSTS_CONSIDERED` with text).

    A small model often finds the sentence that answers when the ranking puts the post's
    title first ("Иван Потапов [1]." for "кто вёл вебинар?" while the best-ranked sentence
    only announces the webinar), and its draft fails the checks that hold it to the best
    sentence. The extract may still quote the sentence it points at, in the post's words:
    the one holding the largest share (at least `POINTED_SHARE`) of the new words of one of
    the draft's sentences; ``None`` when none does, or the draft adds no word to the
    question.

    Parameters
    ----------
    ranked
        Retrieved posts with sentence scores, best first.
    draft
        The model's rejected draft.
    question
        The member's question: its words say nothing about where the draft comes from.
    tokenize
        Stemming tokenizer of the channel.
    """
    new = _draft_terms(draft, question, tokenize)
    best: tuple[float, int, int, int] | None = None
    for n, item in enumerate(_candidates(ranked)):
        for i, sentence in enumerate(item.sentences):
            terms = set(tokenize(sentence))
            for words in new:
                held = len(words & terms)
                key = (held / len(words), held, -n, -i)
                if held and key[0] >= POINTED_SHARE and (best is None or key > best):
                    best = key
    return None if best is None else (-best[2], -best[3])


def invented_share(
    ranked: Sequence[RankedPost],
    draft: str,
    question: str,
    tokenize: Callable[[str], list[str]],
) -> float | None:
    """The share of the words a draft adds to the question that no retrieved post holds.

    A model asked for a detail the posts lack (the topic is there, the sum or the name is
    not) often writes one anyway; when all its new words come from nowhere, the posts do
    not say, and an extract of the topic would answer a question the model could not.
    ``None`` when the draft adds no telling word (a draft cut at "В" says nothing).

    Parameters
    ----------
    ranked
        Retrieved posts with sentence scores, best first (the posts the model was shown).
    draft
        The model's rejected draft.
    question
        The member's question.
    tokenize
        Stemming tokenizer of the channel.
    """
    words = set().union(*_draft_terms(draft, question, tokenize))
    if not words:
        return None
    held = set().union(*(tokenize(" ".join(item.sentences)) for item in ranked))
    return len(words - held) / len(words)


def _draft_terms(draft: str, question: str, tokenize: Callable[[str], list[str]]) -> list[set[str]]:
    """Per sentence of ``draft`` (citations removed), its telling terms not in ``question``;
    sentences that add none are left out."""
    asked = set(tokenize(question))
    return [
        terms
        for part in split_sentences(CITATION_RE.sub(" ", draft))
        if (terms := _telling(tokenize(part)) - asked)
    ]


def _candidates(ranked: Sequence[RankedPost]) -> list[RankedPost]:
    """The posts an extract may quote: the first `POSTS_CONSIDERED`, those with text."""
    return [r for r in ranked[:POSTS_CONSIDERED] if r.sentences]


def _telling(terms: Sequence[str]) -> set[str]:
    """The terms that can tell where a draft comes from: content words and numbers, not
    "в", "на" or "3" (a draft cut at its first unsure word is often one of them)."""
    return {
        t
        for t in terms
        if t not in STOPWORDS and len(t) >= (2 if CJK_RE.search(t) or t.isdigit() else 3)
    }


def extractive_answer(
    ranked: Sequence[RankedPost],
    max_chars: int,
    says: Callable[[str], bool] | None = None,
    within: int = 0,
    about: Callable[[Post], float] | None = None,
    topic_share: float = TOPIC_SHARE,
    pointed: tuple[int, int] | None = None,
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
    pointed
        The sentence a rejected draft points at (`pointed_sentence`): quoted with its
        post's best sentence, when it says what was asked (``says``, at any depth) in a
        post about the question.

    Returns
    -------
    tuple
        The quote (``«...» [1]``) and the post it comes from (``None`` when no post has
        text, or none says what was asked).
    """
    candidates = _candidates(ranked)
    if not candidates:
        return "", None
    topical: list[bool] = []
    if says is not None:  # only the typed extract asks whether a post is on topic
        shares = [1.0 if about is None else about(c.post) for c in candidates]
        topical = [share > 0 and share >= topic_share * max(shares) for share in shares]

    def usable(n: int, i: int) -> bool:
        return says is None or (topical[n] and says(candidates[n].sentences[i]))

    order = best_sentences(candidates)
    if says is not None:
        order = [o for o in order[:within] if usable(o[1], o[2])]
    if pointed is not None and pointed[0] < len(candidates) and usable(*pointed):
        order = [(0.0, *pointed)]
    if not order:
        return "", None
    _, index, sentence = order[0]
    item = candidates[index]
    quoted = shorten(quote_sentences(item, sentence), max_chars)
    return f"«{quoted}» [1]", item.post
