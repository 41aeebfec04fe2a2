"""Commands for running and administering PostFinder: serve, health, stats, members, models."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from postfinder.cli.common import OFFLINE_ENV, JsonOpt, cli, echo_json, open_app, user_errors
from postfinder.downloads import RECOMMENDED, HuggingFaceHub, find_spec, list_present, pull
from postfinder.operations import health as health_checks
from postfinder.operations import maintenance, members
from postfinder.operations import stats as stats_ops
from postfinder.repeats.plot import plot_weeks
from postfinder.settings import Settings, masked_dump


@cli.command(name="config")
def config_command(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Print the effective settings (secrets masked)."""
    data = masked_dump(ctx.obj)
    if json_out:
        echo_json(data)
        return

    def walk(prefix: str, value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, sub in value.items():
                yield from walk(f"{prefix}__{key}" if prefix else key, sub)
        else:
            yield f"POSTFINDER_{prefix.upper()}={'' if value is None else value}"

    typer.echo("\n".join(walk("", data)))


@cli.command()
def serve(ctx: typer.Context) -> None:
    """Run the bots whose tokens are set: Telegram, Discord, or both in one process."""
    settings: Settings = ctx.obj
    discord_token = settings.discord.token and settings.discord.token.get_secret_value().strip()
    with user_errors():
        if not discord_token:
            # Imported here: python-telegram-bot is only needed by this command.
            from postfinder.bot.wiring import run  # pylint: disable=import-outside-toplevel

            maintenance.serve(open_app(ctx), run)
            return
        maintenance.serve(open_app(ctx), _serve_with_discord)


def _serve_with_discord(app: Any) -> None:
    """Discord alone, or beside Telegram on one event loop and one work queue."""
    # pylint: disable=import-outside-toplevel
    from postfinder.discord.wiring import run_async as discord_async

    token = app.settings.telegram.token

    async def both() -> None:
        from postfinder.bot.wiring import run_async as telegram_async

        tasks = maintenance.start_background(app)
        try:
            await asyncio.gather(telegram_async(app), discord_async(app, background=False))
        finally:
            for task in tasks:
                task.cancel()

    try:
        asyncio.run(both() if token and token.get_secret_value().strip() else discord_async(app))
    except KeyboardInterrupt:
        pass


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
    app = open_app(ctx)
    outcome: list[BaseException | int] = []

    def check() -> None:
        try:
            outcome.append(0 if heartbeat_only else health_checks.check_channels(app))
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
        if max_age is not None:
            health_checks.check_heartbeat(app, max_age)
    typer.echo("ok: the bot is alive" if heartbeat_only else f"ok: {outcome[0]} channel(s)")


@cli.command()
def stats(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(help="Report period in days.", min=1)] = 30,
    repeats: Annotated[
        bool,
        typer.Option("--repeats", help="Also what members keep asking, and the measures per week."),
    ] = False,
    plot: Annotated[
        Optional[Path],
        typer.Option(help="With --repeats: draw the weeks into this PNG file.", dir_okay=False),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """What members asked the bot, how it answered, and what the channel could not answer."""
    if plot is not None and not repeats:
        typer.echo("Error: --plot draws the repeats report; add --repeats.", err=True)
        raise typer.Exit(2)
    with user_errors():
        report = stats_ops.stats_report(open_app(ctx), days, repeats=repeats)
        if plot is not None:
            plot_weeks(report["repeats"]["weeks"], plot)
    typer.echo(
        json.dumps(report, ensure_ascii=False, indent=2)
        if json_out
        else stats_ops.format_stats(report)
    )
    if plot is not None:
        typer.echo(f"Chart written to {plot}", err=True)


member_cli = typer.Typer(
    help="A member's stored data: export it or erase it (GDPR access and erasure requests).",
    no_args_is_help=True,
)
cli.add_typer(member_cli, name="member")
MemberArg = Annotated[
    str, typer.Argument(help="The member's numeric Telegram user id (usernames are not stored).")
]


@member_cli.command("export")
def member_export(
    ctx: typer.Context,
    user: MemberArg,
    output: Annotated[
        Optional[Path], typer.Option(help="Write the JSON here instead of standard output.")
    ] = None,
) -> None:
    """Write everything stored about a member: questions, answers sent, votes."""
    with user_errors():
        data = members.export_member(open_app(ctx), members.member_id(user))
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
    with user_errors():
        erased = members.forget_member(open_app(ctx), members.member_id(user))
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
