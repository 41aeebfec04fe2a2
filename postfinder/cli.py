"""The ``postfinder`` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from tqdm import tqdm

from postfinder import inbox
from postfinder.answering.autocalibration import auto_calibrate
from postfinder.answering.refusal import calibrate as calibrate_refusal
from postfinder.app import App, build_app
from postfinder.channels import REFUSAL_FILE
from postfinder.conversation.storage import BotStorage
from postfinder.errors import ConfigError, ExportError, PostfinderError
from postfinder.evaluation import AnswerOutcome, evaluate, evaluate_answers, load_questions
from postfinder.health import channel_problems
from postfinder.indexer import IndexReport
from postfinder.ingest.post import parse_post_ref
from postfinder.models import RECOMMENDED, HuggingFaceHub, find_spec, list_present, pull
from postfinder.retrieval import SearchMode, SearchResult
from postfinder.settings import Settings, load_settings, masked_dump
from postfinder.store.lock import DataDirBusyError, WriterLock

cli = typer.Typer(
    help="PostFinder: find the posts of a Telegram channel that answer a question.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ChannelOpt = Annotated[
    Optional[str],
    typer.Option("--channel", "-c", help="Channel id, @username or name (optional if only one)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ModeOpt = Annotated[
    Optional[str], typer.Option("--mode", "-m", help="hybrid, bm25 or dense (default: settings).")
]
SAMPLE_QUERIES = (
    "Когда откроется новая ветка метро?",
    "как продлить загранпаспорт",
    "free museum entry days",
    "#погода",
)
SAMPLE_QUESTIONS = (
    "Сколько стоит пошлина за новый загранпаспорт?",
    "Кто написал роман «Война и мир»?",
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn `PostfinderError` into a one-line message and exit status 1."""
    try:
        yield
    except PostfinderError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("Interrupted. Nothing is lost: run the same command again.", err=True)
        raise typer.Exit(130) from None


def _app(ctx: typer.Context) -> App:
    settings: Settings = ctx.obj
    app = build_app(settings)
    ctx.call_on_close(app.close)
    return app


def _mode(value: str | None) -> SearchMode | None:
    if value is None:
        return None
    if value not in ("hybrid", "bm25", "dense"):
        raise typer.BadParameter(f"--mode must be hybrid, bm25 or dense, not {value!r}")
    return value  # type: ignore[return-value]


OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@cli.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Optional[Path],
        typer.Option(help="Where PostFinder keeps its data [env: POSTFINDER_DATA_DIR]."),
    ] = None,
    config: Annotated[
        Optional[Path], typer.Option(help="TOML settings file [env: POSTFINDER_CONFIG].")
    ] = None,
) -> None:
    """Self-hosted question answering over a Telegram channel's own posts."""
    # Question texts are personal data: files 0600 and folders 0700 from the start.
    os.umask(0o077)
    # Nothing phones home once a model is present; only `models pull` goes online.
    for name in OFFLINE_ENV:
        os.environ.setdefault(name, "1")
    with user_errors():
        settings = load_settings(config, data_dir=data_dir)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = settings


@cli.command()
def index(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="result.json of a Telegram Desktop export.")],
    chat: Annotated[
        Optional[str], typer.Option(help="Chat id or name, for full-account exports.")
    ] = None,
    username: Annotated[
        Optional[str], typer.Option(help="Public @username of the channel, for post links.")
    ] = None,
    keep_missing: Annotated[
        bool,
        typer.Option(
            "--keep-missing",
            help="Keep indexed posts the export lacks (by default they count as deleted).",
        ),
    ] = False,
    allow_non_channel: Annotated[
        bool,
        typer.Option(
            "--allow-non-channel",
            help="Also index a personal chat, private group or saved messages.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Index (or update) a channel from a Telegram Desktop JSON export."""
    settings: Settings = ctx.obj
    with user_errors():
        try:
            lock = WriterLock(settings.data_dir, "index").acquire()
        except DataDirBusyError as busy:
            if busy.holder.get("command") != "serve":
                raise
            options = (keep_missing, allow_non_channel, json_out)
            _index_through_bot(settings, busy, path, chat, username, *options)
            return
        try:
            app = _app(ctx)
            report = app.indexer().index_export(
                path,
                chat,
                username,
                progress=not json_out,
                keep_missing=keep_missing,
                allow_non_channel=allow_non_channel,
            )
            channel = app.catalog.get(report.channel_id)
            with tqdm(desc="Calibrating", disable=json_out, file=sys.stderr) as progress_bar:
                calibrated = app.calibrate_if_changed(report, _progress(progress_bar))
        finally:
            lock.release()
    if json_out:
        _echo_json({**asdict(report), "calibration": channel.calibration()})
        return
    _print_report(report)
    if calibrated is not None:
        typer.echo(f"Refusal decision calibrated for this channel: {calibrated.fitted_on}.")


def _index_through_bot(
    settings: Settings,
    busy: DataDirBusyError,
    path: Path,
    chat: str | None,
    username: str | None,
    keep_missing: bool,
    allow_non_channel: bool,
    json_out: bool,
) -> None:
    """Hand the export to the running bot (the data directory's writer) and wait."""
    folder = inbox.hand_over(
        settings.data_dir, path, chat, username, keep_missing, allow_non_channel
    )
    typer.echo(
        f"The bot (pid {busy.holder.get('pid', '?')}) is running and writes this data "
        "directory: the export was handed to it and is indexed between members' questions. "
        "Waiting for it (Ctrl-C stops waiting, not the update)…",
        err=True,
    )
    outcome = inbox.wait(folder)
    if outcome.get("error"):
        raise ExportError(str(outcome["error"]))
    report = IndexReport(**outcome["report"])
    if json_out:
        _echo_json(asdict(report))
        return
    _print_report(report)


def _print_report(report: IndexReport) -> None:
    typer.echo(
        f"Channel {report.channel_id} ({report.channel_name}): {report.posts_in_export} posts "
        f"with text in the export; {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged; {report.chunks} chunks embedded in "
        f"{report.seconds:.1f} s."
    )
    if report.removed:
        typer.echo(
            f"{report.removed} indexed posts are missing from the export (deleted in the "
            "channel) and were removed; --keep-missing keeps them."
        )


def _progress(progress_bar: Any) -> Callable[[int, int], None]:
    """Adapt a tqdm progress_bar to a ``(done, total)`` callback."""

    def update(done: int, total: int) -> None:
        progress_bar.total = total
        progress_bar.n = done
        progress_bar.refresh()

    return update


@cli.command()
def channels(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List indexed channels."""
    with user_errors():
        catalog = _app(ctx).catalog
        infos = [catalog.get(cid).info() for cid in catalog.ids()]
    if json_out:
        _echo_json([asdict(i) for i in infos])
        return
    if not infos:
        typer.echo("No channel is indexed yet. Run: postfinder index path/to/result.json")
    for info in infos:
        handle = f"@{info.username}" if info.username else "-"
        typer.echo(
            f"{info.id}  {info.name}  {handle}  {info.posts} posts  "
            f"{info.embedder} (dim {info.dim})  languages: {info.language}  "
            f"updated {info.updated}\n    refusal calibration: {info.calibration}"
        )


def _format_hits(result: SearchResult) -> str:
    lines = []
    for rank, hit in enumerate(result.hits, start=1):
        date = datetime.fromtimestamp(hit.date, tz=timezone.utc).strftime("%Y-%m-%d")
        parts = []
        if hit.dense_rank is not None:
            parts.append(f"dense #{hit.dense_rank} {hit.dense_similarity:.3f}")
        if hit.bm25_rank is not None:
            parts.append(f"bm25 #{hit.bm25_rank} {hit.bm25_score:.2f}")
        lines.append(f"{rank}. {hit.link}  {date}  [{', '.join(parts)}]")
        lines.append(f"   {hit.snippet}")
    return "\n".join(lines) if lines else "No matching posts."


@cli.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for, in any language.")],
    channel: ChannelOpt = None,
    mode: ModeOpt = None,
    k: Annotated[Optional[int], typer.Option("-k", help="Number of posts.", min=1)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Search a channel by meaning and by keyword."""
    with user_errors():
        result = _app(ctx).retriever(channel).search(query, k=k, mode=_mode(mode))
    if json_out:
        _echo_json(asdict(result))
    else:
        typer.echo(_format_hits(result))


@cli.command(name="eval")
def eval_command(
    ctx: typer.Context,
    questions: Annotated[Path, typer.Argument(help="JSON lines: query, relevant, should_refuse.")],
    channel: ChannelOpt = None,
    mode: ModeOpt = None,
    limit: Annotated[
        Optional[int], typer.Option(help="Use only the first N questions.", min=1)
    ] = None,
    json_out: JsonOpt = False,
    answers: Annotated[
        bool,
        typer.Option(
            "--answers",
            help="Run the whole answer pipeline and judge answers against the gold 'answers'.",
        ),
    ] = False,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="With --answers: extractive answers only.")
    ] = False,
    records_out: Annotated[
        Optional[Path],
        typer.Option("--records", help="With --answers: write one JSON line per question here."),
    ] = None,
) -> None:
    """Measure retrieval (hit@k, MRR@10, nDCG@10) or, with --answers, answer accuracy."""
    if answers:
        _eval_answers(ctx, questions, channel, limit, json_out, not no_llm, records_out)
        return
    search_mode = _mode(mode)
    with user_errors():
        items = load_questions(questions)[:limit]
        app = _app(ctx)
        answerer = app.answerer(channel, use_llm=False)
        retriever = answerer.retriever
        effective = search_mode or retriever.settings.mode

        def run(query: str) -> tuple[list[int], bool, float]:
            started = time.perf_counter()
            result = retriever.search(query, k=10, mode=effective)
            latency = (time.perf_counter() - started) * 1000
            ranked = [h.post_id for h in result.hits]
            if effective != "hybrid":  # the refusal decision always uses hybrid scores
                result = retriever.search(query, k=10, mode="hybrid")
            return ranked, answerer.refusal.should_refuse(result), latency

        with tqdm(
            total=len(items), desc="Evaluating", disable=json_out, file=sys.stderr
        ) as progress_bar:
            report = evaluate(run, items, progress=progress_bar.update)
    report["mode"] = effective  # type: ignore[assignment]
    if json_out:
        _echo_json(report)
        return
    typer.echo(
        f"mode {report['mode']}, {report['n']} answerable questions: "
        f"hit@1 {report['hit@1']:.3f}  hit@5 {report['hit@5']:.3f}  "
        f"hit@10 {report['hit@10']:.3f}  MRR@10 {report['mrr@10']:.3f}  "
        f"nDCG@10 {report['ndcg@10']:.3f}  latency p50 {report['latency_ms_p50']:.1f} ms, "
        f"p95 {report['latency_ms_p95']:.1f} ms\n"
        f"refusal: {report['refusal_rate']:.3f} of {report['n_refuse']} unanswerable questions "
        f"refused, {report['false_refusal_rate']:.3f} of answerable ones refused"
    )


def _eval_answers(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    ctx: typer.Context,
    questions: Path,
    channel: str | None,
    limit: int | None,
    json_out: bool,
    use_llm: bool,
    records_out: Path | None,
) -> None:
    """`eval --answers`: accuracy, answer modes, refusal and speed of the whole pipeline."""
    with user_errors():
        items = load_questions(questions)[:limit]
        answerer = _app(ctx).answerer(channel, use_llm=use_llm)

        def run(query: str) -> AnswerOutcome:
            result = answerer.answer(query)
            return AnswerOutcome(
                result.mode,
                result.answer,
                result.draft,
                result.timings,
                result.tokens,
                result.lead,
                result.signals,
            )

        with tqdm(
            total=len(items), desc="Answering", disable=json_out, file=sys.stderr
        ) as progress_bar:
            report, records = evaluate_answers(run, items, progress=progress_bar.update)
    model = answerer.generator.name if answerer.generator is not None else "none (extractive)"
    report["model"] = model  # type: ignore[assignment]
    if records_out is not None:
        with records_out.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
    if json_out:
        _echo_json(report)
        return
    typer.echo(
        f"model {model}: {report['n_answerable']} answerable, {report['n_unanswerable']} "
        f"unanswerable questions\n"
        f"accuracy {report['accuracy']:.3f}, lead {report['lead_accuracy']:.3f} (generated "
        f"leads without the gold {report['generated_lead_wrong']:.3f}); "
        f"generated {report['generated_share']:.3f}, "
        f"extractive {report['extractive_share']:.3f}, refused {report['refused_share']:.3f}; "
        f"generated without the gold {report['generated_wrong']:.3f} "
        f"({report['generated_wrong_count']}); drafts with the gold rejected "
        f"{report['false_rejects']} of {report['drafts_with_gold']}\n"
        f"refusal {report['refusal_rate']:.3f}, false refusal {report['false_refusal_rate']:.3f}"
        + "".join(
            f", {key.removeprefix('refusal_').replace('_', '-')} {value:.3f}"
            for key, value in report.items()
            if key.startswith("refusal_") and key != "refusal_rate"
        )
        + "\n"
        f"prompt tokens p50 {report['prompt_tokens_p50']:.0f}; first token p50 "
        f"{report['first_token_ms_p50'] / 1000:.2f} s, "
        f"p95 {report['first_token_ms_p95'] / 1000:.2f} s; "
        f"total p50 {report['total_ms_p50'] / 1000:.2f} s, "
        f"p95 {report['total_ms_p95'] / 1000:.2f} s; {report['tokens_per_s']:.1f} tokens/s"
    )


@cli.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in any language.")],
    channel: ChannelOpt = None,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="Quote the best post instead of generating.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Answer a question from the channel's posts, with links to them."""
    with user_errors():
        answer = _app(ctx).answerer(channel, use_llm=not no_llm).answer(question)
    if json_out:
        data = asdict(answer)
        data["sources"] = [{"n": s.n, "id": s.id, "link": s.link} for s in answer.sources]
        _echo_json(data)
    else:
        typer.echo(answer.render())


@cli.command()
def calibrate(
    ctx: typer.Context,
    questions: Annotated[
        Optional[Path],
        typer.Argument(help="JSON lines with answerable and should_refuse questions."),
    ] = None,
    channel: ChannelOpt = None,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto", help="Without labels: from the channel's own posts and off-topic questions."
        ),
    ] = False,
    max_false_refusal: Annotated[
        float, typer.Option(help="Share of answerable questions allowed to be refused.")
    ] = 0.03,
    output: Annotated[
        Optional[Path], typer.Option(help="Write here instead of the channel's directory.")
    ] = None,
) -> None:
    """Fit the refusal decision: on labelled questions of this channel, or with --auto."""
    if (questions is None) == (not auto):
        typer.echo(
            "Error: give either a questions file (labelled calibration) or --auto, not both.",
            err=True,
        )
        raise typer.Exit(2)
    with user_errors():
        app = _app(ctx)
        retriever = app.retriever(channel)
        if questions is None:
            with tqdm(desc="Calibrating", file=sys.stderr) as progress_bar:
                model = auto_calibrate(
                    retriever, app.settings.answer.context_posts, _progress(progress_bar)
                )
        else:
            items = load_questions(questions)
            results = [
                retriever.search(q.query, k=app.settings.answer.context_posts, mode="hybrid")
                for q in tqdm(items, desc="Searching", file=sys.stderr)
            ]
            model = calibrate_refusal(
                results, [not q.should_refuse for q in items], app.embedder.name, max_false_refusal
            )
        path = output or retriever.channel.directory / REFUSAL_FILE
        model.save(path)
    typer.echo(f"Refusal calibration written to {path}: {model.fitted_on}.")


@cli.command(name="forget-post")
def forget_post(
    ctx: typer.Context,
    post: Annotated[str, typer.Argument(help="Post link (https://t.me/...) or post id.")],
    channel: ChannelOpt = None,
) -> None:
    """Remove one post from every store (documents, BM25, vectors): it is never cited again."""
    with user_errors():
        try:
            selector, post_id = parse_post_ref(post)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        with WriterLock(ctx.obj.data_dir, "forget-post"):
            app = _app(ctx)
            target = app.catalog.resolve(channel or selector)
            app.indexer().heal(target)  # finishes a removal a crash interrupted
            if not target.docs.get([post_id]):
                raise ConfigError(f"Post {post_id} is not indexed in channel {target.id}.")
            app.indexer().remove_posts(target, [post_id])
    typer.echo(f"Post {post_id} removed from channel {target.id}: documents, BM25 and vectors.")


@cli.command()
def reembed(ctx: typer.Context, channel: ChannelOpt = None) -> None:
    """Recompute a channel's vectors with the configured embedder (after changing models)."""
    with user_errors(), WriterLock(ctx.obj.data_dir, "reembed"):
        app = _app(ctx)
        target = app.catalog.resolve(channel)
        chunks = app.indexer().reembed(target)
    typer.echo(f"Channel {target.id}: {chunks} chunks embedded with {app.embedder.name}.")


@cli.command(name="config")
def config_command(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Print the effective settings (secrets masked)."""
    data = masked_dump(ctx.obj)
    if json_out:
        _echo_json(data)
        return

    def walk(prefix: str, value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, sub in value.items():
                yield from walk(f"{prefix}__{key}" if prefix else key, sub)
        else:
            yield f"POSTFINDER_{prefix.upper()}={'' if value is None else value}"

    typer.echo("\n".join(walk("", data)))


@cli.command()
def demo(ctx: typer.Context) -> None:
    """Index the bundled sample channel, run a few searches and answer two questions."""
    sample = resources.files("postfinder") / "sample" / "result.json"
    with user_errors(), resources.as_file(sample) as path:
        app = _app(ctx)
        with WriterLock(ctx.obj.data_dir, "demo"):
            report = app.indexer().index_export(path, username="postfinder_sample", progress=False)
        typer.echo(
            f"Indexed sample channel '{report.channel_name}': {report.posts_in_export} posts "
            f"({report.added} new, {report.updated} updated, {report.unchanged} unchanged) "
            f"with {app.embedder.name}.\n"
        )
        retriever = app.retriever(str(report.channel_id))
        for query in SAMPLE_QUERIES:
            typer.echo(f"> postfinder search {query!r}")
            typer.echo(_format_hits(retriever.search(query, k=3)) + "\n")
        answerer = app.answerer(str(report.channel_id))
        model = answerer.generator.name if answerer.generator else "no model: extractive only"
        for question in SAMPLE_QUESTIONS:
            answer = answerer.answer(question)
            typer.echo(f"> postfinder ask {question!r}   [{answer.mode}; {model}]")
            typer.echo(answer.render() + "\n")


@cli.command()
def serve(ctx: typer.Context) -> None:
    """Run the Telegram bot (long polling, or webhook with telegram.mode=webhook)."""
    # Imported here: python-telegram-bot is only needed by this command.
    from postfinder.bot.wiring import run  # pylint: disable=import-outside-toplevel

    with user_errors(), WriterLock(ctx.obj.data_dir, "serve"):
        app = _app(ctx)
        for channel in app.catalog.all():  # finish what a crash interrupted
            app.indexer().heal(channel)
        run(app)


@cli.command()
def health(
    ctx: typer.Context,
    max_age: Annotated[
        Optional[float],
        typer.Option(help="Also require a bot heartbeat younger than this many seconds."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Fail if the checks take longer than this many seconds.")
    ] = 120.0,
    heartbeat_only: Annotated[
        bool,
        typer.Option(
            "--heartbeat-only",
            help="Only check the bot's heartbeat (container checks: no model load, no store).",
        ),
    ] = False,
) -> None:
    """Exit 0 if every channel answers a real BM25 and dense query and its stores agree."""
    settings: Settings = ctx.obj
    outcome: list[BaseException | list[str]] = []
    ids: list[int] = []

    def check() -> None:
        try:
            if heartbeat_only:
                outcome.append([])
                return
            app = _app(ctx)
            ids.extend(app.catalog.ids())
            if not ids:
                raise PostfinderError("No channel is indexed.")
            outcome.append(
                [
                    f"channel {cid}: {problem}"
                    for cid in ids
                    for problem in channel_problems(app.catalog.get(cid), app.embedder)
                ]
            )
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            outcome.append(exc)

    # A damaged vector database can deadlock its threads: a check that never returns
    # must still end the command with an error.
    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(timeout)
    with user_errors():
        if not outcome:
            typer.echo(
                f"error: the checks did not finish within {timeout:g} s (a hung vector store?); "
                "stop the bot and run 'postfinder repair --reset-vectors'.",
                err=True,
            )
            sys.stdout.flush()
            os._exit(1)  # the hung thread would keep the interpreter alive
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        if outcome[0]:
            raise PostfinderError("\n".join(outcome[0]))
        if max_age is not None:
            beat = settings.data_dir / "bot.heartbeat"
            age = time.time() - float(beat.read_text(encoding="utf-8")) if beat.is_file() else None
            if age is None or age > max_age:
                raise PostfinderError(
                    f"The bot's heartbeat is missing or older than {max_age:g} s."
                )
    typer.echo("ok: the bot is alive" if heartbeat_only else f"ok: {len(ids)} channel(s)")


@cli.command()
def repair(
    ctx: typer.Context,
    channel: ChannelOpt = None,
    reset_vectors: Annotated[
        bool,
        typer.Option(
            "--reset-vectors",
            help="Move the whole vector database aside first (when it hangs or errors).",
        ),
    ] = False,
) -> None:
    """Rebuild vectors and BM25 from the post table (after a crash or a damaged store)."""
    settings: Settings = ctx.obj
    with user_errors(), WriterLock(settings.data_dir, "repair"):
        if reset_vectors:
            if settings.vector_store.mode != "persistent" or channel:
                raise ConfigError(
                    "--reset-vectors rebuilds every channel of the embedded vector store; "
                    "leave out --channel (and use vector_store.mode persistent)."
                )
            if settings.chroma_dir.exists():
                aside = settings.chroma_dir.with_name(f"chroma.broken-{int(time.time())}")
                settings.chroma_dir.rename(aside)
                typer.echo(f"Moved the vector database to {aside} (delete it when done).")
        app = _app(ctx)
        targets = [app.catalog.resolve(channel)] if channel else app.catalog.all()
        for target in targets:
            chunks = app.indexer().repair(target)
            typer.echo(
                f"Channel {target.id}: {target.docs.count()} posts, {chunks} chunks embedded "
                f"with {app.embedder.name}, BM25 rebuilt."
            )


@cli.command()
def stats(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(help="Report period in days.", min=1)] = 30,
    json_out: JsonOpt = False,
) -> None:
    """What members asked the bot, how it answered, and what the channel could not answer."""
    from postfinder.bot.handlers import (  # pylint: disable=import-outside-toplevel
        format_stats,
    )

    settings: Settings = ctx.obj
    with user_errors():
        storage = BotStorage(settings.bot_db, settings.secret_file)
        storage.purge(settings.telegram.retention_days)
        report = storage.stats(days=days)
        storage.close()
    typer.echo(
        json.dumps(report, ensure_ascii=False, indent=2) if json_out else format_stats(report)
    )


member_cli = typer.Typer(
    help="A member's stored data: export it or erase it (GDPR access and erasure requests).",
    no_args_is_help=True,
)
cli.add_typer(member_cli, name="member")
MemberArg = Annotated[
    str, typer.Argument(help="The member's numeric Telegram user id (usernames are not stored).")
]


@contextmanager
def _member_storage(ctx: typer.Context) -> Iterator[BotStorage]:
    settings: Settings = ctx.obj
    storage = BotStorage(settings.bot_db, settings.secret_file)
    try:
        yield storage
    finally:
        storage.close()


def _member_id(user: str) -> int:
    if not user.strip().lstrip("-").isdigit():
        raise ConfigError(
            f"{user!r} is not a Telegram user id. PostFinder stores no usernames, only a keyed "
            "pseudonym of the numeric id: ask the member for it (the bot's /mydata shows it, "
            "as does @userinfobot)."
        )
    return int(user)


@member_cli.command("export")
def member_export(
    ctx: typer.Context,
    user: MemberArg,
    output: Annotated[
        Optional[Path], typer.Option(help="Write the JSON here instead of standard output.")
    ] = None,
) -> None:
    """Write everything stored about a member: questions, answers sent, votes."""
    with user_errors(), _member_storage(ctx) as storage:
        data = storage.member_data(_member_id(user))
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(
        f"Wrote {len(data['questions'])} questions and {len(data['votes'])} votes to {output}."
    )


@member_cli.command("forget")
def member_forget(ctx: typer.Context, user: MemberArg) -> None:
    """Erase everything stored about a member (questions, answer records, votes)."""
    with user_errors(), _member_storage(ctx) as storage:
        erased = storage.forget_member(_member_id(user))
    typer.echo(f"Erased {erased['questions']} questions and {erased['votes']} votes of {user}.")


models_cli = typer.Typer(help="List and download models.", no_args_is_help=True)
cli.add_typer(models_cli, name="models")


@models_cli.command("list")
def models_list(ctx: typer.Context) -> None:
    """Show the models in models/ and the recommended ones."""
    settings: Settings = ctx.obj
    present = list_present(settings.models_dir)
    typer.echo(f"In {settings.models_dir}:")
    for item in present:
        typer.echo(f"  {item.path.name:<40} {item.kind:<34} {item.size_gb:6.2f} GiB")
    if not present:
        typer.echo("  (nothing; run 'python scripts/fetch_models.py' for the offline models)")
    typer.echo("\nRecommended (postfinder models pull NAME):")
    for spec in RECOMMENDED:
        typer.echo(
            f"  {spec.name:<24} {spec.kind:<9} {spec.target:<4} ~{spec.size_gb:.1f} GB  "
            f"{spec.licence:<11} {spec.note}"
        )


@models_cli.command("pull")
def models_pull(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="A recommended model name.")]
) -> None:
    """Download a recommended model from the Hugging Face hub into models/ and verify it."""
    settings: Settings = ctx.obj
    for variable in OFFLINE_ENV:  # the one command that may reach the hub
        os.environ[variable] = "0"
    with user_errors():
        path = pull(find_spec(name), settings.models_dir, HuggingFaceHub())
    typer.echo(f"Downloaded and verified {path}")


def main() -> None:
    """Entry point of the ``postfinder`` console script."""
    cli()
