"""The sentences of retrieved posts that answer a question, and windows around them.

Both the model's prompt and the extractive answer use the same ranking: a post is
shown to the model as the window around its best sentence (not its opening lines), and
the extract quotes that sentence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from postfinder.embeddings.base import Embedder
from postfinder.ingest.post import Post
from postfinder.text import join_sentences, split_sentences

MAX_SENTENCES = 60  # per post: bounds the embedding work for very long posts
LEXICAL_WEIGHT = 0.5
RANK_PENALTY = 0.05  # a lower-ranked post's sentence must match clearly better to be preferred


@dataclass(frozen=True)
class RankedPost:
    """A post split into sentences with each sentence's score for the question."""

    post: Post
    sentences: list[str]
    scores: list[float]

    @property
    def best(self) -> int:
        """Index of the best-matching sentence."""
        return int(np.argmax(self.scores)) if self.scores else 0

    def top_text(self, count: int) -> str:
        """The ``count`` best-matching sentences, in post order (what an answer may use)."""
        order = sorted(range(len(self.scores)), key=lambda i: -self.scores[i])[:count]
        return join_sentences([self.sentences[i] for i in sorted(order)])

    def window_range(
        self, budget: int, count_tokens: Callable[[str], int], max_sentences: int = 10**6
    ) -> tuple[int, int]:
        """First and last index of the best sentence's window within ``budget`` tokens.

        Neighbours are added alternately after and before the best sentence while they
        fit and while the window holds fewer than ``max_sentences``.
        """
        start = end = self.best
        used = count_tokens(self.sentences[start])
        last = len(self.sentences) - 1
        grow_after = True
        while (start > 0 or end < last) and end - start + 1 < max_sentences:
            after = (grow_after and end < last) or start == 0
            candidate = end + 1 if after else start - 1
            cost = count_tokens(self.sentences[candidate]) + 1
            if used + cost > budget:
                break
            used += cost
            if candidate > end:
                end = candidate
            else:
                start = candidate
            grow_after = not grow_after
        return start, end

    def window(self, budget: int, count_tokens: Callable[[str], int]) -> str:
        """The best sentence and its neighbours, within ``budget`` tokens.

        "…" marks text left out at either end (see `window_range`).
        """
        if not self.sentences:
            return ""
        best = self.best
        used = count_tokens(self.sentences[best])
        if used > budget:  # one very long sentence: keep its start
            keep = max(int(len(self.sentences[best]) * budget / used), 40)
            lead = "… " if best > 0 else ""
            return lead + self.sentences[best][:keep].rstrip() + " …"
        start, end = self.window_range(budget, count_tokens)
        last = len(self.sentences) - 1
        text = join_sentences(self.sentences[start : end + 1])
        return ("… " if start > 0 else "") + text + (" …" if end < last else "")


def _idf(term_sets: Sequence[set[str]]) -> dict[str, float]:
    """Inverse sentence frequency of terms among the candidate sentences."""
    df: Counter[str] = Counter(t for terms in term_sets for t in terms)
    n = len(term_sets)
    return {term: math.log(1 + n / count) for term, count in df.items()}


def rank_sentences(
    question: str,
    posts: Sequence[Post],
    embedder: Embedder,
    tokenize: Callable[[str], list[str]],
) -> list[RankedPost]:
    """Score every sentence of ``posts`` against ``question``.

    The score is the embedding similarity plus ``LEXICAL_WEIGHT`` times the idf-weighted
    share of the question's terms the sentence contains.

    Parameters
    ----------
    question
        The member's question.
    posts
        Retrieved posts, best first.
    embedder
        Embeds the question and the sentences (one batch).
    tokenize
        Stemming tokenizer of the channel.

    Returns
    -------
    list of RankedPost
        In the order of ``posts``.
    """
    split = [[s for s in split_sentences(p.text) if len(s) > 2][:MAX_SENTENCES] for p in posts]
    flat = [s for sentences in split for s in sentences]
    if not flat:
        return [RankedPost(p, [], []) for p in posts]
    term_sets = [set(tokenize(s)) for s in flat]
    idf = _idf(term_sets)
    query_terms = set(tokenize(question))
    total = sum(idf.get(t, math.log(1 + len(flat))) for t in query_terms) or 1.0
    lexical = np.asarray([sum(idf[t] for t in query_terms & terms) / total for terms in term_sets])
    query = embedder.embed_queries([question])[0]
    dense = embedder.embed_passages(flat) @ query
    scores = (dense + LEXICAL_WEIGHT * lexical).tolist()
    ranked, offset = [], 0
    for post, sentences in zip(posts, split, strict=True):
        ranked.append(RankedPost(post, sentences, scores[offset : offset + len(sentences)]))
        offset += len(sentences)
    return ranked


def best_sentences(items: Sequence[RankedPost]) -> list[tuple[float, int, int]]:
    """All sentences of ``items`` as ``(score, post index, sentence index)``, best first.

    A sentence of a lower-ranked post loses ``RANK_PENALTY`` per rank, so it must match
    clearly better to be preferred.
    """
    scored = [
        (score - RANK_PENALTY * n, n, i)
        for n, item in enumerate(items)
        for i, score in enumerate(item.scores)
    ]
    return sorted(scored, reverse=True)


def support_texts(items: Sequence[RankedPost], count: int) -> list[str]:
    """The ``count`` sentences that best answer the question, under their posts' numbers.

    What a generated answer may rest on: the best sentences over all shown posts (with a
    small penalty per rank), returned as one text per post, in post order; a post without
    any of them gets an empty text and supports nothing. A fact from elsewhere in a post
    is true but does not answer this question, which is a small model's typical mistake.

    Parameters
    ----------
    items
        The posts shown to the model, best first.
    count
        How many sentences may support an answer.

    Returns
    -------
    list of str
        One text per item.
    """
    keep = {(n, i) for _, n, i in best_sentences(items)[:count]}
    return [
        join_sentences([s for i, s in enumerate(item.sentences) if (n, i) in keep])
        for n, item in enumerate(items)
    ]
