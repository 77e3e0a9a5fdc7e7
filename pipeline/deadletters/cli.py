"""``pipeline deadletters list|show|replay``: what a stage could not process, and putting it back."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from pipeline.settings import get_settings

if TYPE_CHECKING:
    from pipeline.deadletters.select import LetterFilter

console = Console()

STAGE_HELP = "Only letters from this stage: collect, enrich or index"
REASON_HELP = "Only letters whose reason or error type contains this text (case-insensitive)"


def _filter(
    stage: str | None, reason: str | None, since: str | None, until: str | None, source: str | None
) -> LetterFilter:
    from pipeline.deadletters.select import LetterFilter
    from pipeline.errors import BadOptionValue
    from pipeline.query.times import TimeParseError, parse_time

    if stage is not None and stage not in ("collect", "enrich", "index"):
        raise BadOptionValue(f"unknown stage {stage!r}", hint="use collect, enrich or index")
    try:
        return LetterFilter(
            stage=stage,  # type: ignore[arg-type]  # checked just above
            reason=reason,
            since=parse_time(since) if since else None,
            until=parse_time(until, end_of_period=True) if until else None,
            source_topic=source,
        )
    except TimeParseError as exc:
        raise BadOptionValue(str(exc)) from None


def _payload_text(payload: bytes | None, max_chars: int) -> str:
    if payload is None:
        return "(not kept: fetched from the source offset on replay)"
    text = payload.decode("utf-8", "backslashreplace")
    with contextlib.suppress(ValueError):  # not JSON: shown as it is
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text if len(text) <= max_chars else text[:max_chars] + f"\n… ({len(text) - max_chars} more characters)"


def register(app: typer.Typer) -> None:
    letters_app = typer.Typer(help="Dead letters: list, show and replay what a stage could not process.")
    app.add_typer(letters_app, name="deadletters")

    @letters_app.command("list")
    def list_command(
        stage: str = typer.Option(None, "--stage", "-s", help=STAGE_HELP),
        reason: str = typer.Option(None, "--reason", "-r", help=REASON_HELP),
        since: str = typer.Option(None, "--since", help="Dead-lettered at or after (ISO, or relative: 24h, 7d)"),
        until: str = typer.Option(None, "--until", help="Dead-lettered before (ISO, or relative)"),
        source: str = typer.Option(None, "--source-topic", help="Only letters from this source topic"),
        limit: int = typer.Option(50, "--limit", min=1, help="Show at most this many (the newest)"),
        as_json: bool = typer.Option(False, "--json", help="One JSON letter per line (payload left out)"),
    ) -> None:
        """List dead letters (newest last) with their id, stage, source and reason."""
        from pipeline.deadletters.topic import read_letters

        settings = get_settings()
        chosen = _filter(stage, reason, since, until, source)
        letters = sorted(read_letters(settings, chosen), key=lambda letter: letter.record.at)
        shown = letters[-limit:] if limit else letters
        if as_json:
            for letter in shown:
                data = letter.record.model_dump(mode="json", exclude={"payload"})
                print(json.dumps({"id": letter.letter_id, **data}, ensure_ascii=False))
            return
        more = f" (showing the newest {len(shown)})" if len(shown) < len(letters) else ""
        table = Table(title=f"{len(letters)} dead letters on {settings.topic_dead_letter}{more}")
        for column in ("id", "at (UTC)", "stage", "source", "key", "reason"):
            table.add_column(column, overflow="fold")
        for letter in shown:
            record = letter.record
            where = f"{record.source_topic}:{record.partition}:{record.offset}" if record.source_topic else "-"
            table.add_row(
                letter.letter_id,
                record.at.strftime("%Y-%m-%d %H:%M:%S"),
                record.stage,
                where,
                record.key or "",
                f"{record.error_type}: {record.reason}"[:300],
            )
        console.print(table)

    @letters_app.command("show")
    def show_command(
        letter_id: str = typer.Argument(..., help="The letter's id (PARTITION:OFFSET, from `deadletters list`)"),
        max_chars: int = typer.Option(4000, "--max-chars", help="Show at most this much of the payload"),
    ) -> None:
        """Show one dead letter in full, with its payload decoded."""
        from pipeline.deadletters.topic import find_letter

        letter = find_letter(get_settings(), letter_id)
        for name, value in letter.record.model_dump(mode="json", exclude={"payload"}).items():
            console.print(f"[bold]{name}[/]: {value}", highlight=False)
        console.rule("payload")
        console.print(_payload_text(letter.record.original_payload(), max_chars), highlight=False, markup=False)

    @letters_app.command("replay")
    def replay_command(
        stage: str = typer.Option(None, "--stage", "-s", help=STAGE_HELP),
        reason: str = typer.Option(None, "--reason", "-r", help=REASON_HELP),
        since: str = typer.Option(None, "--since", help="Dead-lettered at or after (ISO, or relative: 24h, 7d)"),
        until: str = typer.Option(None, "--until", help="Dead-lettered before (ISO, or relative)"),
        source: str = typer.Option(None, "--source-topic", help="Only letters from this source topic"),
        letter_ids: list[str] = typer.Option(None, "--id", help="Only this letter (repeatable)"),
        dry_run: bool = typer.Option(False, "--dry-run", help="Say what would go back, send nothing"),
    ) -> None:
        """Put dead-lettered messages back on their source topics, once the cause is fixed.

        Stages write idempotently, so replaying a message twice does no harm. Letters stay on the topic.
        """
        from pipeline.deadletters.select import plan_replay, replay_topics
        from pipeline.deadletters.topic import read_letters, replay

        settings = get_settings()
        chosen = _filter(stage, reason, since, until, source)
        letters = [
            letter for letter in read_letters(settings, chosen) if not letter_ids or letter.letter_id in letter_ids
        ]
        plans, skipped = plan_replay(letters, replay_topics(settings))
        for letter, why in skipped:
            console.print(f"[yellow]skipped[/] {letter.letter_id}: {why}")
        if dry_run:
            for plan in plans:
                key = "no key" if plan.key is None else f"key {plan.key!r}"
                console.print(f"would replay {plan.letter.letter_id} -> {plan.topic} ({key})")
            console.print(f"{len(plans)} would be replayed, {len(skipped)} skipped")
            return
        replayed, failed = replay(settings, plans)
        for plan, why in failed:
            console.print(f"[red]failed[/] {plan.letter.letter_id}: {why}")
        console.print(f"replayed {replayed}, skipped {len(skipped)}, failed {len(failed)}")
        if failed:  # what did go back stays replayed; the rest can be replayed again
            from pipeline.errors import EXIT_UNAVAILABLE

            raise typer.Exit(EXIT_UNAVAILABLE)
