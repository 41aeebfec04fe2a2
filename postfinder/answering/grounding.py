"""Check that each sentence of a generated answer is supported by the posts it cites."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from postfinder.embeddings.base import Embedder
from postfinder.ingest.post import Post
from postfinder.text import split_sentences

CITATION_RE = re.compile(r"\[(\d{1,2})\]")
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class SentenceSupport:
    """How well one answer sentence is supported."""

    sentence: str
    cited: tuple[int, ...]
    similarity: float
    overlap: float
    numbers_ok: bool
    supported: bool


@dataclass
class GroundingReport:
    """The verdict on a whole answer."""

    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        """True when there is at least one sentence and every sentence is supported."""
        return bool(self.sentences) and all(s.supported for s in self.sentences)

    @property
    def cited(self) -> list[int]:
        """Post numbers cited anywhere in the answer, in order of first citation."""
        return list(dict.fromkeys(n for s in self.sentences for n in s.cited))


class GroundingChecker:
    """Measures support with the embedder (semantic) and stems (lexical).

    A sentence is supported when its best semantic match among the cited posts'
    sentences reaches ``min_similarity``, at least ``min_overlap`` of its content terms
    occur in the cited posts, and every number in it appears there too.

    Parameters
    ----------
    embedder
        Embedder used for the semantic part.
    tokenize
        Stemming tokenizer used for the lexical part.
    min_similarity, min_overlap
        Thresholds.
    """

    def __init__(
        self,
        embedder: Embedder,
        tokenize: Callable[[str], list[str]],
        min_similarity: float,
        min_overlap: float,
    ) -> None:
        self.embedder = embedder
        self.tokenize = tokenize
        self.min_similarity = min_similarity
        self.min_overlap = min_overlap

    def check(self, answer: str, posts: Sequence[Post]) -> GroundingReport:
        """Judge every sentence of ``answer`` against the numbered ``posts`` (1-based)."""
        report = GroundingReport()
        sentences = [s for s in split_sentences(answer) if CITATION_RE.sub("", s).strip(" .")]
        if not sentences:
            return report
        answer_cites = [int(n) for n in CITATION_RE.findall(answer)]
        bare = [CITATION_RE.sub("", s).strip() for s in sentences]
        vectors = self.embedder.embed_queries(bare)
        for sentence, text, vector in zip(sentences, bare, vectors, strict=True):
            cited = tuple(int(n) for n in CITATION_RE.findall(sentence)) or tuple(answer_cites)
            sources = [posts[n - 1] for n in dict.fromkeys(cited) if 1 <= n <= len(posts)]
            report.sentences.append(self._judge(sentence, text, vector, cited, sources))
        return report

    def _judge(
        self,
        sentence: str,
        text: str,
        vector: np.ndarray,
        cited: tuple[int, ...],
        sources: Sequence[Post],
    ) -> SentenceSupport:
        if not sources:
            return SentenceSupport(sentence, cited, 0.0, 0.0, False, False)
        source_text = "\n".join(p.text for p in sources)
        source_sentences = split_sentences(source_text)[:200]
        sims = self.embedder.embed_passages(source_sentences) @ vector
        similarity = float(sims.max()) if sims.size else 0.0
        terms = set(self.tokenize(text))
        source_terms = set(self.tokenize(source_text))
        overlap = len(terms & source_terms) / len(terms) if terms else 0.0
        plain_source = source_text.replace("\u00a0", " ").replace(" ", "")
        numbers_ok = all(n in plain_source for n in NUMBER_RE.findall(text.replace(" ", "")))
        supported = similarity >= self.min_similarity and overlap >= self.min_overlap and numbers_ok
        return SentenceSupport(sentence, cited, similarity, overlap, numbers_ok, supported)
