"""Fit a channel's refusal decision without labels.

The shipped refusal model was fitted on one benchmark channel; retrieval scores mean
different things on a 15-post city channel and a 20k-post news channel. So each channel
gets its own calibration set, made from the channel itself:

- answerable questions written from its own posts: a few content words of one
  sentence, in the sentence's order, as a member who half-remembers a post would ask;
- unanswerable ones: a bundled set of off-topic questions in 15 languages, written for
  PostFinder (MIT), plus the questions of held-out posts searched as if those posts
  were not indexed (the channel's own topics, without the answer).

How much each retrieval feature counts was fitted once on labelled questions of several
channels (`transfer_model`); the scale of the features and the threshold are fitted
per channel on this set (`auto_calibrate`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from postfinder.answering.refusal import RefusalModel, features, select, standardisation
from postfinder.errors import ConfigError
from postfinder.ingest.post import Post
from postfinder.language import CJK_RE, LINK_RE, detect_language, language_code
from postfinder.retrieval import HybridRetriever, SearchResult

_SENTENCE_RE = re.compile(r"(?<=[.!?…。！？])\s*|\n+")
_WORD_RE = re.compile(r"[^\W\d_]{4,}")
_CJK_RUN_RE = re.compile(rf"{CJK_RE.pattern}{{4,}}")
# Frequent words that make a question no harder to find (Russian, English).
_SKIP = frozenset(
    """этот эта эти этого этой того тоже также которые который которая когда чтобы если
    было были будет будут может можно нужно очень более всего всех свой свои своих только
    after about also been from have into more than that their there these they this
    what when where which will with would your""".split()
)


# Question frames per language: the words a member wraps around what they remember.
_FRAMES: dict[str, tuple[str, ...]] = {
    "ru": (
        "Подскажите, {}?",
        "Где почитать про {}?",
        "Что известно про {}?",
        "Как там {}?",
        "А что с {}?",
        "Кто знает, {}?",
        "{} — это как?",
    ),
    "en": (
        "Does anyone know about {}?",
        "Where can I read about {}?",
        "What about {}?",
        "How does {} work?",
        "Any news on {}?",
        "{}?",
    ),
    "fr": ("Quelqu'un sait pour {} ?", "Où trouver {} ?", "Et {}, c'est comment ?"),
    "de": ("Weiß jemand etwas über {}?", "Wo finde ich {}?", "Wie ist das mit {}?"),
    "es": ("¿Alguien sabe de {}?", "¿Dónde encuentro {}?", "¿Qué pasa con {}?"),
    "ar": ("هل يعرف أحد عن {}؟", "أين أجد {}؟", "ماذا عن {}؟"),
    "zh": ("{}是什么？", "有谁知道{}吗？", "哪里可以找到{}？", "{}怎么样？"),
}


@dataclass(frozen=True)
class CalibrationSet:
    """Questions and search results that a refusal model is fitted on.

    Attributes
    ----------
    results
        Search result of each question.
    answerable
        Whether the channel (as searched) answers it.
    sources
        ``posts``, ``held_out`` or ``offtopic`` per question.
    languages
        Language code of each off-topic question (empty for the others).
    """

    results: list[SearchResult]
    answerable: list[bool]
    sources: list[str]
    languages: list[str]

    @property
    def counts(self) -> dict[str, int]:
        """Questions per source."""
        return {name: self.sources.count(name) for name in ("posts", "held_out", "offtopic")}


def offtopic_questions() -> list[tuple[str, str]]:
    """Return the bundled off-topic questions as ``(language code, question)``."""
    path = resources.files("postfinder") / "answering" / "offtopic_questions.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    return [(item["lang"], item["query"]) for item in items]


def _pick(words: list[str], n: int, rng: random.Random) -> list[str]:
    """Choose ``n`` words, longer ones more often (they name the subject), kept in order."""
    keys = sorted(range(len(words)), key=lambda i: rng.random() ** (1.0 / len(words[i])))
    return [words[i] for i in sorted(keys[-n:])]


def post_questions(post: Post, rng: random.Random, limit: int) -> list[str]:
    """Write up to ``limit`` questions that ``post`` answers, as a member might ask them.

    Each keeps two to four content words (longer ones more likely) of one sentence, in
    order, inside a question frame of the post's language ("Подскажите, ...?", "Where
    can I find ...?"): like a real question it shares only some of its words with the
    post. A CJK sentence gives one or two short spans of its characters.

    Parameters
    ----------
    post
        The post.
    rng
        Random source (seeded by the caller, so a calibration is reproducible).
    limit
        Most questions to write.
    """
    frames = _FRAMES.get(detect_language(post.text), _FRAMES["en"])
    sentences = [LINK_RE.sub(" ", s) for s in _SENTENCE_RE.split(post.text)]
    choices: list[str] = []
    for sentence in sentences:
        runs = _CJK_RUN_RE.findall(sentence)
        if runs:
            run = max(runs, key=len)
            starts = sorted(rng.sample(range(len(run) - 1), min(2, len(run) - 1)))
            words = [run[i : i + 2 + rng.randint(0, 1)] for i in starts]
        else:
            words = [w for w in _WORD_RE.findall(sentence) if w.lower() not in _SKIP]
            if len(words) < 3:
                continue
            words = _pick(words, rng.randint(2, min(4, len(words))), rng)
        choices.append(rng.choice(frames).format(" ".join(words)))
    rng.shuffle(choices)
    return choices[:limit]


def build_calibration_set(
    retriever: HybridRetriever,
    k: int,
    max_posts: int = 150,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationSet:
    """Search the channel with its own synthetic questions and the off-topic ones.

    Parameters
    ----------
    retriever
        Retriever of the channel.
    k
        Posts retrieved per question (as when answering).
    max_posts
        Posts sampled for answerable questions; as many again are held out.
    seed
        Random seed.
    progress
        Called with ``(done, total)`` after each search.
    """
    rng = random.Random(seed)
    docs = retriever.channel.docs
    ids = docs.ids()
    rng.shuffle(ids)
    # Small channels give several questions per post so that the fit has enough of them.
    per_post = max(1, min(3, 60 // max(len(ids), 1)))
    sampled = ids[:max_posts]
    held_out = ids[max_posts : 2 * max_posts] if len(ids) > 2 * max_posts else sampled
    posts = docs.get(set(sampled) | set(held_out))
    jobs: list[tuple[str, frozenset[int], str, str]] = []
    for pid in sampled:
        jobs.extend(
            (q, frozenset(), "posts", "") for q in post_questions(posts[pid], rng, per_post)
        )
    for pid in held_out:
        jobs.extend(
            (q, frozenset({pid}), "held_out", "") for q in post_questions(posts[pid], rng, 1)
        )
    jobs.extend((q, frozenset(), "offtopic", lang) for lang, q in offtopic_questions())
    results = []
    for done, (question, exclude, _, _) in enumerate(jobs, start=1):
        results.append(retriever.search(question, k=k, mode="hybrid", exclude=exclude))
        if progress is not None:
            progress(done, len(jobs))
    return CalibrationSet(
        results,
        [source == "posts" for _, _, source, _ in jobs],
        [source for _, _, source, _ in jobs],
        [lang for _, _, _, lang in jobs],
    )


def channel_language_codes(languages: str) -> set[str]:
    """Language codes of the bundled questions for a channel's language mix.

    ``languages`` is the channel's ``"russian 93%, english 7%"`` summary (Snowball
    names, see `postfinder.channel_bm25.ChannelBM25.detect_languages`); languages with at least
    10% of the posts count.
    """
    codes = set()
    for part in languages.split(","):
        name, _, share = part.strip().rpartition(" ")
        if name and share.rstrip("%").isdigit() and int(share.rstrip("%")) >= 10:
            codes.add(language_code(name))
    return codes


def transfer_model() -> RefusalModel:
    """The feature weights fitted across labelled channels (scripts/fit_refusal.py)."""
    path = resources.files("postfinder") / "answering" / "refusal_transfer.json"
    with resources.as_file(path) as file:
        return RefusalModel.load(file)


def auto_calibrate(
    retriever: HybridRetriever,
    k: int,
    progress: Callable[[int, int], None] | None = None,
    offtopic_refused: float = 0.9,
    max_false_refusal: float = 0.3,
) -> RefusalModel:
    """Fit the channel's refusal decision on its own calibration set, without labels.

    The direction of the decision (how much each retrieval feature counts) comes from
    `transfer_model`, fitted on labelled questions of several channels on features
    standardised per channel. What differs between channels, the scale of the scores
    and where to cut, is fitted here: features are standardised on this channel's
    calibration set, and the threshold refuses ``offtopic_refused`` of the bundled
    off-topic questions in the channel's languages, unless that would refuse more than
    ``max_false_refusal`` of the questions written from its posts (those are vaguer
    than real questions, so the bound is loose).

    Raises
    ------
    ConfigError
        If the channel has no posts to write questions from.
    """
    data = build_calibration_set(retriever, k, seed=retriever.channel.id, progress=progress)
    transfer = transfer_model()
    if not any(data.answerable):
        raise ConfigError(
            f"Channel {retriever.channel.id} has no post with a sentence to calibrate on; "
            "index posts with text first."
        )
    raw = np.asarray([select(features(r), transfer.feature_names) for r in data.results])
    mean, std = standardisation(raw)
    model = RefusalModel(
        embedder=retriever.embedder.name,
        mean=mean.tolist(),
        std=std.tolist(),
        weights=transfer.weights,
        bias=transfer.bias,
        threshold=0.5,
        method="auto",
        feature_names=transfer.feature_names,
    )
    probs = np.asarray([model.probability(r) for r in data.results])
    sources = np.asarray(data.sources)
    codes = channel_language_codes(retriever.channel.meta.get("languages", ""))
    offtopic = probs[(sources == "offtopic") & np.isin(data.languages, sorted(codes))]
    if len(offtopic) < 10:  # a language the bundled set barely covers: use them all
        offtopic = probs[sources == "offtopic"]
    positives = np.sort(probs[sources == "posts"])
    cap = positives[int(np.floor(max_false_refusal * (len(positives) - 1)))]
    model.threshold = float(min(np.quantile(offtopic, offtopic_refused), cap))
    refused = float((probs[sources != "posts"] < model.threshold).mean())
    model.fitted_on = (
        f"{data.counts['posts']} questions written from posts, "
        f"{data.counts['offtopic']} off-topic and {data.counts['held_out']} from held-out "
        f"posts; refuses {float((offtopic < model.threshold).mean()):.3f} of off-topic "
        f"questions in the channel's languages, {refused:.3f} of all unanswerable ones"
    )
    return model
