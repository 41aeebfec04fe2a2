"""`postfinder eval`: measure retrieval, or with --answers the whole answer pipeline."""

from __future__ import annotations

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
    search_mode,
    user_errors,
)
from postfinder.operations import evaluation
from postfinder.progress import Progress


@cli.command(name="eval")
def eval_command(  # pylint: disable=too-many-arguments,too-many-positional-arguments
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
    ranking = search_mode(mode)
    with user_errors():
        app = open_app(ctx)
        items = evaluation.read_questions(questions, limit)
        desc = "Answering" if answers else "Evaluating"
        with Progress(desc, total=len(items), unit="questions", disable=json_out) as progress:
            if answers:
                report = evaluation.evaluate_answer_pipeline(
                    app, items, channel, not no_llm, progress.update, records_out
                )
            else:
                report = evaluation.evaluate_retrieval(
                    app, items, channel, ranking, progress.update
                )
    if json_out:
        echo_json(report)
    elif answers:
        typer.echo(render.answer_report(report))
    else:
        typer.echo(render.retrieval_report(report))
