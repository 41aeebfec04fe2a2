"""The extractive answer: the sentences of the top posts that best match the question."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from postfinder.embeddings.base import Embedder
from postfinder.ingest.post import Post
from postfinder.text import split_sentences


def best_sentences(
    question: str,
    post: Post,
    embedder: Embedder,
    tokenize: Callable[[str], list[str]],
    limit: int = 2,
) -> list[str]:
    """Return up to ``limit`` sentences of ``post`` that best answer ``question``, in post order.

    Sentences are scored by semantic similarity to the question plus the share of the
    question's terms they contain.
    """
    sentences = [s for s in split_sentences(post.text) if len(s) > 2][:200]
    if len(sentences) <= limit:
        return sentences
    query_vec = embedder.embed_queries([question])[0]
    sims = embedder.embed_passages(sentences) @ query_vec
    terms = set(tokenize(question))
    overlap = np.asarray(
        [len(terms & set(tokenize(s))) / len(terms) if terms else 0.0 for s in sentences]
    )
    score = sims + overlap
    chosen = sorted(np.argsort(-score)[:limit])
    return [sentences[i] for i in chosen]


def extractive_answer(
    question: str,
    posts: Sequence[Post],
    embedder: Embedder,
    tokenize: Callable[[str], list[str]],
    max_chars: int,
) -> str:
    """Quote the best sentences of the top post, citing it as [1]."""
    if not posts:
        return ""
    quoted = " ".join(best_sentences(question, posts[0], embedder, tokenize))
    if len(quoted) > max_chars:
        quoted = quoted[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return f"«{quoted}» [1]"
