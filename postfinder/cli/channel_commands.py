"""Commands about a channel's index: index, list, search, ask, calibrate, forget, repair."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from postfinder.cli import render
from postfinder.cli.common import (
    ChannelOpt,
    JsonOpt,
    ModeOpt,
    cli,
    echo_json,
    open_app,
    progress_bar,
    search_mode,
    user_errors,
)
from postfinder.errors import ConfigError
from postfinder.operations import calibration, indexing, maintenance, posts, queries

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


@cli.command()
def index(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="Telegram Desktop result.json or DiscordChatExporter .json.")
    ],
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
    """Index (or update) a channel from a Telegram Desktop or DiscordChatExporter JSON export."""
    request = indexing.ExportRequest(path, chat, username, keep_missing, allow_non_channel)

    def handed_over(holder: dict[str, object]) -> None:
        typer.echo(
            f"The bot (pid {holder.get('pid', '?')}) is running and writes this data "
            "directory: the export was handed to it and is indexed between members' "
            "questions. Waiting for it (Ctrl-C stops waiting, not the update)…",
            err=True,
        )

    with user_errors(), progress_bar("Calibrating", "questions", disable=json_out) as progress:
        outcome = indexing.index_export(open_app(ctx), request, not json_out, progress, handed_over)
    if json_out:
        extra = {} if outcome.calibration is None else {"calibration": outcome.calibration}
        echo_json({**asdict(outcome.report), **extra})
        return
    typer.echo(render.index_report(outcome.report))
    if outcome.calibrated is not None:
        fitted = outcome.calibrated.model.fitted_on
        typer.echo(f"Refusal decision calibrated for this channel (auto): {fitted}.")


@cli.command()
def channels(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List indexed channels."""
    with user_errors():
        catalog = open_app(ctx).catalog
        infos = [catalog.get(cid).info() for cid in catalog.ids()]
    if json_out:
        echo_json([asdict(i) for i in infos])
        return
    if not infos:
        typer.echo("No channel is indexed yet. Run: postfinder index path/to/result.json")
    for info in infos:
        typer.echo(render.channel_line(info))


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
        result = queries.search(open_app(ctx), query, channel, k, search_mode(mode))
    if json_out:
        echo_json(asdict(result))
    else:
        typer.echo(render.hits(result))


@cli.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in any language.")],
    channel: ChannelOpt = None,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="Quote the best post instead of generating.")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Answer afresh, not from the answer cache.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Answer a question from the channel's posts, with links to them."""
    with user_errors():
        answer = queries.answer(
            open_app(ctx), question, channel, use_llm=not no_llm, use_cache=not no_cache
        )
    if json_out:
        data = asdict(answer)
        data["sources"] = [{"n": s.n, "id": s.id, "link": s.link} for s in answer.sources]
        echo_json(data)
    else:
        typer.echo(answer.render())


@cli.command()
def calibrate(  # pylint: disable=too-many-arguments,too-many-positional-arguments
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
    replace_labelled: Annotated[
        bool,
        typer.Option(
            "--replace-labelled", help="With --auto: replace a calibration fitted on labels."
        ),
    ] = False,
) -> None:
    """Fit the refusal decision: on labelled questions of this channel, or with --auto."""
    if (questions is None) == (not auto):
        typer.echo(
            "Error: give either a questions file (labelled calibration) or --auto, not both.",
            err=True,
        )
        raise typer.Exit(2)
    with user_errors(), progress_bar("Calibrating", "questions") as progress:
        app = open_app(ctx)
        target = app.catalog.resolve(channel)
        if questions is None:
            done = calibration.calibrate_auto(app, target, progress, output, replace_labelled)
        else:
            done = calibration.calibrate_from_questions(
                app, target, questions, max_false_refusal, progress, output
            )
    typer.echo(f"Refusal calibration written to {done.path}: {done.model.fitted_on}.")


@cli.command(name="forget-post")
def forget_post(
    ctx: typer.Context,
    post: Annotated[str, typer.Argument(help="Post link (https://t.me/...) or post id.")],
    channel: ChannelOpt = None,
) -> None:
    """Remove one post from every store (documents, BM25, vectors): it is never cited again."""
    with user_errors():
        done = posts.forget_post(open_app(ctx), post, channel)
        if not done.removed:
            raise ConfigError(f"Post {done.post_id} is not indexed in channel {done.channel_id}.")
    typer.echo(
        f"Post {done.post_id} removed from channel {done.channel_id}: documents, BM25 and vectors."
    )


@cli.command()
def reembed(ctx: typer.Context, channel: ChannelOpt = None) -> None:
    """Recompute a channel's vectors with the configured embedder (after changing models)."""
    with user_errors():
        app = open_app(ctx)
        done = maintenance.reembed(app, channel)
    typer.echo(
        f"Channel {done.channel_id}: {done.chunks} chunks embedded with {app.embedder.name}."
    )


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
    with user_errors():
        app = open_app(ctx)
        outcome = maintenance.repair(app, channel, reset_vectors)
    if outcome.moved_to is not None:
        typer.echo(f"Moved the vector database to {outcome.moved_to} (delete it when done).")
    for done in outcome.channels:
        typer.echo(
            f"Channel {done.channel_id}: {done.posts} posts, {done.chunks} chunks embedded "
            f"with {app.embedder.name}, BM25 rebuilt."
        )


@cli.command()
def demo(ctx: typer.Context) -> None:
    """Index the bundled sample channel, run a few searches and answer two questions."""
    with user_errors():
        app = open_app(ctx)
        report = queries.index_sample(app)
        typer.echo(
            f"Indexed sample channel '{report.channel_name}': {report.posts_in_export} posts "
            f"({report.added} new, {report.updated} updated, {report.unchanged} unchanged) "
            f"with {app.embedder.name}.\n"
        )
        for query in SAMPLE_QUERIES:
            typer.echo(f"> postfinder search {query!r}")
            typer.echo(render.hits(queries.search(app, query, report.channel_id, k=3)) + "\n")
        model = queries.model_name(app) or "no model: extractive only"
        for question in SAMPLE_QUESTIONS:
            answer = queries.answer(app, question, report.channel_id)
            typer.echo(f"> postfinder ask {question!r}   [{answer.mode}; {model}]")
            typer.echo(answer.render() + "\n")
