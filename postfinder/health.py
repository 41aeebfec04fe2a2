"""Consistency checks of a channel's stores, for ``postfinder health`` and tests."""

from __future__ import annotations

from itertools import islice

from postfinder.channels import Channel
from postfinder.embeddings.base import Embedder

REPAIR_HINT = "run 'postfinder repair' (with the bot stopped)"


def channel_problems(channel: Channel, embedder: Embedder) -> list[str]:
    """Run a real BM25 and dense query on a channel and compare its stores.

    Parameters
    ----------
    channel
        The channel to check.
    embedder
        The configured embedder (queries are embedded with it, as a member's would be).

    Returns
    -------
    list of str
        What is wrong, each with the command that fixes it; empty when healthy.
    """
    problems: list[str] = []
    pending, removing = channel.unfinished()
    if pending or removing:
        problems.append(
            f"{len(pending)} posts wait for vectors and {len(removing)} for removal "
            f"(an interrupted writer); {REPAIR_HINT} or index again"
        )
    expected = channel.expected_chunks()
    stored = channel.vector_count()
    if stored != expected:
        problems.append(
            f"the vector store holds {stored} chunks, the post table expects {expected}; "
            + REPAIR_HINT
        )
    # The longest of the first posts: enough words for both searches to find it.
    sample = max(islice(channel.iter_posts(), 50), key=lambda p: len(p.text), default=None)
    if sample is None:
        return problems
    query = sample.search_text[:200]
    hits = channel.lexical().search(channel.tokenizer().tokenize(query, query=True), 50)
    if sample.id not in [doc_id for doc_id, _ in hits]:
        problems.append(f"BM25 does not find post {sample.id} by its own words; {REPAIR_HINT}")
    matches = channel.dense(embedder.embed_queries([query])[0], 50)
    if sample.id not in [m.post_id for m in matches]:
        problems.append(
            f"dense search does not find post {sample.id} by its own words; {REPAIR_HINT}"
        )
    return problems
