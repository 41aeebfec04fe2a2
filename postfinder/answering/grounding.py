"""Check that each sentence of a generated answer is supported by the posts it cites.

A sentence is judged against the text of its cited posts that the model was shown (or
against all of them when it cites none). It is rejected when:

- a number in it does not occur there (changed amounts, dates, years);
- a name (a capitalised word inside the sentence) or too large a share of its content
  words occur neither there nor in the question (changed names, facts from elsewhere);
- it is negated while the best-matching source sentence is not;
- it contains a link or @mention that the cited posts do not contain;
- it only repeats the question's words (no term or number from the post that the question
  does not already contain);
- its best semantic match among the source sentences is below ``min_similarity``.

The thresholds are fitted on labelled drafts (``scripts/fit_grounding.py``), see
docs/benchmarks.md. Short answers ("В 1886 году [1].") pass when the post supports them:
nothing in them is new.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from postfinder.answering.sanitize import MENTION_RE, URL_RE, normalise_link
from postfinder.embeddings.base import Embedder
from postfinder.text import split_sentences

CITATION_RE = re.compile(r"\[(\d{1,2})\]")
NUMBER_RE = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)?")
NEGATION_RE = re.compile(
    r"(?<!\w)(?:не|нет|ни|никогда|нельзя|not|no|never|cannot|n't|without)(?!\w)", re.IGNORECASE
)
_WORD_RE = re.compile(r"[^\W\d_]+")
# Function words do not carry facts; they are not counted as new content.
STOPWORDS = frozenset(
    """и в во на с со к ко о об от до по за из у для про при как что это то а но или же ли
    бы был была были было быть есть его ее её их он она они оно мы вы я ты так также
    который которая которые которое этот эта эти этого году год года годах the a an of in
    on at to for by with from and or is are was were be been it its this that these those as
    which who whom he she they his her their than then also""".split()
)


@dataclass(frozen=True)
class SentenceSupport:
    """How well one answer sentence is supported."""

    sentence: str
    cited: tuple[int, ...]
    support: int  # the post (1-based) that supports it best; 0: the cited posts together
    similarity: float
    novel_share: float
    novel_names: tuple[str, ...]
    numbers_ok: bool
    negation_ok: bool
    links_ok: bool
    informative: bool
    supported: bool

    @classmethod
    def unsupported(cls, sentence: str, cited: tuple[int, ...]) -> SentenceSupport:
        """The verdict on a sentence that no source could be compared with: rejected."""
        return cls(
            sentence=sentence,
            cited=cited,
            support=0,
            similarity=0.0,
            novel_share=1.0,
            novel_names=(),
            numbers_ok=False,
            negation_ok=False,
            links_ok=False,
            informative=False,
            supported=False,
        )


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
        """Posts the answer relies on, in order of first use."""
        numbers = [n for s in self.sentences for n in (s.cited if s.support == 0 else (s.support,))]
        return list(dict.fromkeys(numbers))

    def cited_text(self) -> str:
        """The answer with each sentence citing the post that supports it."""
        parts = []
        for item in self.sentences:
            bare = CITATION_RE.sub("", item.sentence).strip()
            end = bare[-1] if bare and bare[-1] in ".!?…" else ""
            bare = bare.rstrip(".!?… ")
            numbers = item.cited if item.support == 0 else (item.support,)
            parts.append(bare + "".join(f" [{n}]" for n in numbers) + (end or "."))
        return " ".join(parts)


def _content_terms(text: str, tokenize: Callable[[str], list[str]]) -> set[str]:
    return {t for t in tokenize(text) if len(t) > 2 and t not in STOPWORDS and not t.isdigit()}


def _names(sentence: str) -> list[str]:
    """Capitalised words that do not open the sentence (names, places, brands)."""
    words = _WORD_RE.findall(sentence)
    return [w for w in words[1:] if w[:1].isupper() and len(w) > 1]


_GROUPED_RE = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}\b)")


def numbers_of(text: str) -> set[str]:
    """The numbers in ``text`` as whole tokens: "14 000" is 14000, "1,5" is 1.5.

    Whole tokens, not substrings: "1887" must not pass because "18870" is in the post.
    """
    joined = _GROUPED_RE.sub("", text)
    return {n.replace(",", ".") for n in NUMBER_RE.findall(joined)}


@dataclass(frozen=True)
class _Source:
    """A source text prepared for comparison."""

    text: str
    lower: str
    sentences: list[str]
    vectors: np.ndarray | None
    terms: set[str]
    numbers: set[str]
    links: set[str]


@dataclass(frozen=True)
class _Claim:
    """One answer sentence: as written, without citations, what it cites, its vector."""

    sentence: str
    text: str
    cited: tuple[int, ...]
    vector: np.ndarray | None


class GroundingChecker:
    """Measures support with stems (lexical), numbers, negation, links and the embedder.

    Parameters
    ----------
    embedder
        Embedder used for the semantic part.
    tokenize
        Stemming tokenizer used for the lexical part.
    min_similarity
        Least embedding similarity between a sentence and its best source sentence.
    max_novel
        Largest share of a sentence's content terms that may be missing from both the
        sources and the question.
    """

    def __init__(
        self,
        embedder: Embedder,
        tokenize: Callable[[str], list[str]],
        min_similarity: float,
        max_novel: float,
    ) -> None:
        self.embedder = embedder
        self.tokenize = tokenize
        self.min_similarity = min_similarity
        self.max_novel = max_novel

    def check(self, answer: str, sources: Sequence[str], question: str = "") -> GroundingReport:
        """Judge every sentence of ``answer`` against the numbered ``sources`` (1-based).

        Parameters
        ----------
        answer
            The draft, with citations such as ``[1]``.
        sources
            Text of each numbered post as the model was shown it.
        question
            The question: its words are not new content when repeated in the answer.

        Returns
        -------
        GroundingReport
            One verdict per sentence.
        """
        report = GroundingReport()
        sentences = [s for s in split_sentences(answer) if CITATION_RE.sub("", s).strip(" .")]
        if not sentences or not sources:
            return report
        # Each source and each answer sentence is prepared once, then compared pairwise.
        # Embeddings are needed only for a similarity bound or to find the best sentence
        # of a multi-sentence source.
        prepared = {n: self._source(text) for n, text in enumerate(sources, 1) if text.strip()}
        embed = self.min_similarity > 0 or any(len(p.sentences) > 1 for p in prepared.values())
        bare = [CITATION_RE.sub("", s).strip() for s in sentences]
        vectors = self.embedder.embed_queries(bare) if embed else [None] * len(bare)
        asked = (_content_terms(question, self.tokenize), numbers_of(question))
        for sentence, text, vector in zip(sentences, bare, vectors, strict=True):
            cited = tuple(dict.fromkeys(int(c) for c in CITATION_RE.findall(sentence)))
            claim = _Claim(sentence, text, cited, vector)
            verdicts = [self._judge(claim, n, source, asked) for n, source in prepared.items()]
            valid = [n for n in cited if n in prepared]
            if len(valid) > 1:  # several cited posts together support the sentence
                joined = "\n".join(sources[n - 1] for n in valid)
                verdicts.append(self._judge(claim, 0, self._source(joined), asked))
            if not verdicts:
                verdicts = [SentenceSupport.unsupported(sentence, cited)]
            # The cited post first; a wrong citation is corrected to the post that supports it.
            cited_ok = set(valid) | {0}
            report.sentences.append(
                max(
                    verdicts,
                    key=lambda v, ok=cited_ok: (  # type: ignore[misc]
                        v.supported,
                        v.support in ok,
                        -v.novel_share,
                        v.similarity,
                    ),
                )
            )
        return report

    def _source(self, text: str) -> _Source:
        """Everything a source is compared on, computed once."""
        sentences = split_sentences(text)[:200] or [text]
        embed = self.min_similarity > 0 or len(sentences) > 1
        return _Source(
            text=text,
            lower=text.lower(),
            sentences=sentences,
            vectors=self.embedder.embed_passages(sentences) if embed else None,
            terms=set(self.tokenize(text)),
            numbers=numbers_of(text),
            links={normalise_link(link) for link in URL_RE.findall(text)},
        )

    def _judge(
        self,
        claim: _Claim,
        number: int,
        source: _Source,
        asked: tuple[set[str], set[str]],
    ) -> SentenceSupport:
        """Compare one answer sentence with one source."""
        question_terms, question_numbers = asked
        text = claim.text
        if source.vectors is not None and claim.vector is not None:
            sims = source.vectors @ claim.vector
            best = int(np.argmax(sims))
            similarity = float(sims[best])
        else:  # one source sentence and no similarity bound: nothing to embed
            best, similarity = 0, 1.0
        terms = _content_terms(text, self.tokenize)
        novel = terms - source.terms - question_terms
        novel_share = len(novel) / len(terms) if terms else 0.0
        novel_names = tuple(
            name
            for name in _names(text)
            if not (set(self.tokenize(name)) & (source.terms | question_terms))
        )
        numbers = numbers_of(text)
        numbers_ok = numbers <= source.numbers
        negated = bool(NEGATION_RE.search(text))
        # A negation the source sentence does not have turns a fact into its opposite.
        negation_ok = not negated or bool(NEGATION_RE.search(source.sentences[best]))
        links_ok = all(normalise_link(link) in source.links for link in URL_RE.findall(text))
        links_ok = links_ok and all(m.lower() in source.lower for m in MENTION_RE.findall(text))
        # An answer that only repeats the question's words ("Труд Ганди [1].") says nothing.
        informative = bool((terms - question_terms) & source.terms) or bool(
            numbers - question_numbers
        )
        supported = (
            informative
            and similarity >= self.min_similarity
            and novel_share <= self.max_novel
            and not novel_names
            and numbers_ok
            and negation_ok
            and links_ok
        )
        return SentenceSupport(
            sentence=claim.sentence,
            cited=claim.cited,
            support=number,
            similarity=similarity,
            novel_share=novel_share,
            novel_names=novel_names,
            numbers_ok=numbers_ok,
            negation_ok=negation_ok,
            links_ok=links_ok,
            informative=informative,
            supported=supported,
        )
