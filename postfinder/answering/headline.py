"""Headline posts: the channel wrote about a topic, and the detail is behind a link.

News channels often post a headline and a link ("Учёные рассчитали, где на Марсе смогут
впервые зацвести деревья https://…"). Asked exactly that, the honest reply is neither a
refusal (the channel did write about it) nor an answer made up from the headline: it is
"the channel wrote about this", with the post. A post whose own text holds the detail
is not a headline post: a question about a detail it lacks is a near-miss and refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from postfinder.answering.sanitize import URL_RE
from postfinder.ingest.post import Post
from postfinder.text import split_sentences

# Links to messengers are a channel's own furniture ("Подписаться", a chat invite), not
# the article a headline points to.
MESSENGER_HOSTS = frozenset(
    {"t.me", "telegram.me", "telegram.dog", "telegram.org", "discord.gg", "discord.com"}
)
# Longest text, without its links, that still reads as a headline and not as the news itself
# (CJK characters count half a word): chosen by reading the evaluation channels' posts;
# scripts/fit_headlines.py reports how many posts of each channel it makes headlines.
MAX_WORDS = 30
MAX_SENTENCES = 2
_WORD_RE = re.compile(r"[^\W\d_]+|\d+")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def article_links(post: Post) -> list[str]:
    """The post's links to a page off the messenger: where its detail would be.

    A site's home ("Запись на сайте sport-park.ru") says where to go, which the post
    itself answers; a page ("https://naked-science.ru/article/…") is the rest of the news.
    """
    found = [*post.links, *URL_RE.findall(post.text)]
    out: list[str] = []
    for link in found:
        parts = urlsplit(link if "://" in link else f"https://{link}")
        host = (parts.hostname or "").removeprefix("www.")
        page = parts.path.strip("/") or parts.query
        if host and page and host not in MESSENGER_HOSTS and link not in out:
            out.append(link)
    return out


def _words(plain: str) -> float:
    """Words of a text without links (a CJK character counts half a word)."""
    cjk = len(_CJK_RE.findall(plain))
    return len(_WORD_RE.findall(_CJK_RE.sub(" ", plain))) + cjk / 2


def is_headline(post: Post) -> bool:
    """True when ``post`` is a headline and a link: short text, the detail elsewhere."""
    if not article_links(post):
        return False
    plain = URL_RE.sub(" ", post.text).strip()
    return (
        bool(plain) and _words(plain) <= MAX_WORDS and len(split_sentences(plain)) <= MAX_SENTENCES
    )


def _content_terms(text: str, tokenize: Callable[[str], Sequence[str]]) -> set[str]:
    """Terms that carry content: short words ("где", "на", "is") say nothing of a topic;
    a CJK term always does."""
    return {t for t in tokenize(text) if len(t) >= 4 or _CJK_RE.search(t)}


def _same_word(term: str, other: str) -> bool:
    """The same word up to its ending: stems that agree on their first five characters
    ("зацветут" and "зацвест"), which the stemmer does not always make equal."""
    return term == other or (min(len(term), len(other)) >= 5 and term[:5] == other[:5])


def content_overlap(question: str, post: Post, tokenize: Callable[[str], Sequence[str]]) -> float:
    """Share of the question's content terms (the channel's tokenizer) that the post
    holds: near 1 when the member asks what a headline says, 0 when the post shares no
    content word with the question (it is not about what was asked)."""
    asked = _content_terms(question, tokenize)
    if not asked:
        return 0.0
    held = _content_terms(URL_RE.sub(" ", post.text), tokenize)
    return sum(any(_same_word(a, h) for h in held) for a in asked) / len(asked)
