"""``pipeline config``, ``pipeline status`` and ``pipeline reindex``."""

from __future__ import annotations

import json
import os
import time

import typer
from rich.console import Console, Group
from rich.table import Table

from pipeline.settings import Settings, get_settings

console = Console(soft_wrap=True)

_VERDICT_STYLE = {"keeping up": "green", "falling behind": "yellow", "stopped": "red", "unknown": "dim"}


def config_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object: setting -> {value, source, variable}"),
) -> None:
    """Print the settings in effect and where each came from (env, .env, command line, local stack, default),
    secrets masked."""
    from dotenv import dotenv_values

    from pipeline.ops.config import env_file_path, setting_rows

    env_file = env_file_path()
    dotenv = dotenv_values(env_file) if env_file.is_file() else {}
    rows = setting_rows(get_settings(), os.environ, dotenv, Settings())
    if as_json:
        payload = {
            row.name: {"value": row.value, "source": row.source, "variable": row.variable}
            | ({"note": row.note} if row.note else {})
            for row in rows
        }
        print(json.dumps(payload, indent=2))
        return
    console.print(f".env file: {env_file} ({'read' if env_file.is_file() else 'absent'})", highlight=False)
    table = Table("setting (PIPELINE_…)", "value", "source", box=None, pad_edge=False)
    for row in rows:
        source = f"[bold]{row.source}[/bold]" if row.source != "default" else "[dim]default[/dim]"
        table.add_row(row.name.upper(), row.value, source)
    console.print(table)
    for row in rows:
        if row.note:
            console.print(f"{row.name.upper()}: {row.note}", highlight=False)


def _down(error: str | None) -> str:
    """The probe's words ("did not answer in time (3s)", "unreachable (Connection refused)") or a client's."""
    if error and (error.startswith("did not answer") or error.startswith("unreachable")):
        return error
    return f"unreachable ({error})"


def unavailable(report: object) -> Exception | None:
    """The failure ``pipeline status`` ends with when a service is down (exit 69), None when both answer."""
    from pipeline.errors import START_HINT_ES, START_HINT_KAFKA, ServiceUnavailable
    from pipeline.ops.status import StatusReport

    assert isinstance(report, StatusReport)
    down = [
        (name, where, hint)
        for name, where, reachable, hint in (
            ("Kafka", report.kafka.bootstrap, report.kafka.reachable, START_HINT_KAFKA),
            ("Elasticsearch", report.elasticsearch.url, report.elasticsearch.reachable, START_HINT_ES),
        )
        if not reachable
    ]
    if not down:
        return None
    if len(down) == 2:
        return ServiceUnavailable(
            "neither Kafka nor Elasticsearch answers",
            where=f"{down[0][1]}, {down[1][1]}",
            hint="start the local stack with `./run up`, or set PIPELINE_KAFKA_BOOTSTRAP and "
            "PIPELINE_ELASTICSEARCH_URL to running services",
        )
    name, where, hint = down[0]
    return ServiceUnavailable(f"{name} does not answer", where=where, hint=hint)


def status_view(report: object) -> Group:
    from pipeline.ops.status import StatusReport, age_text

    assert isinstance(report, StatusReport)
    kafka, es = report.kafka, report.elasticsearch
    kafka_line = (
        f"Kafka {kafka.bootstrap}: [green]reachable[/green], {kafka.brokers} broker(s), API {kafka.api_version}"
        if kafka.reachable
        else f"Kafka {kafka.bootstrap}: [red]{_down(kafka.error)}[/red]"
    )
    es_line = (
        f"Elasticsearch {es.url}: [green]reachable[/green], version {es.version}, health {es.health}"
        if es.reachable
        else f"Elasticsearch {es.url}: [red]{_down(es.error)}[/red]"
    )
    parts: list[object] = [kafka_line, es_line]
    if kafka.error and kafka.reachable:
        parts.append(f"[yellow]Kafka: {kafka.error}[/yellow]")
    stages = Table("stage", "verdict", "detail", title="stages", title_justify="left", box=None)
    for verdict in report.stages:
        style = _VERDICT_STYLE.get(verdict.verdict, "")
        stages.add_row(verdict.stage, f"[{style}]{verdict.verdict}[/{style}]", verdict.detail)
    parts.append(stages)
    if kafka.reachable:
        topics = Table("topic", "messages", "last hour", title="topics", title_justify="left", box=None)
        for topic in kafka.topics:
            topics.add_row(
                topic.name, str(topic.messages) if topic.exists else "[red]missing[/red]", str(topic.last_hour)
            )
        parts.append(topics)
        groups = Table("consumer group", "stage", "state", "members", "lag", title="consumer groups", box=None)
        groups.title_justify = "left"
        for group in kafka.groups:
            groups.add_row(group.group, group.stage, group.state, str(group.members), str(group.lag))
        parts.append(groups)
        parts.append(
            f"dead letters: {report.dead_letters_last_hour} in the last hour, {report.dead_letters_total} in total"
        )
    if es.reachable:
        indices = Table("index (alias)", "behind it", "documents", "newest", title="indices", box=None)
        indices.title_justify = "left"
        for index in es.indices:
            if index.exists:
                newest = age_text(index.newest_age_seconds) + (" ago" if index.newest_age_seconds is not None else "")
                indices.add_row(index.alias, ", ".join(index.indices), str(index.documents), newest)
            else:
                indices.add_row(index.alias, "[red]missing[/red] (run `pipeline setup`)", "", "")
        parts.append(indices)
        for index in es.indices:
            for name, fields in index.missing_fields.items():
                parts.append(
                    f"[yellow]{name} ({index.alias}) lacks {len(fields)} field(s) of its template "
                    f"({', '.join(fields)}): documents carrying them are refused. Add them with `pipeline setup "
                    "--upgrade-mappings`, or build a new version with `pipeline reindex`.[/yellow]"
                )
    parts.append(f"[dim]{report.taken_at}[/dim]")
    return Group(*parts)  # type: ignore[arg-type]


def status_command(
    as_json: bool = typer.Option(False, "--json", help="Print the status as one JSON object"),
    watch: bool = typer.Option(False, "--watch", "-w", help="Keep refreshing until Ctrl-C"),
    interval: float = typer.Option(2.0, "--interval", min=0.5, help="Seconds between samples (rates and --watch)"),
) -> None:
    """Is each stage keeping up? Services, topics, consumer lag, dead letters, indexed documents.

    Exits 69 when Kafka or Elasticsearch does not answer (without --watch), within seconds either way.
    """
    from rich.live import Live

    from pipeline.ops.status import status

    settings = get_settings()
    report = status(settings, sample_seconds=interval)
    if not watch:
        if as_json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            console.print(status_view(report), highlight=False)
        failure = unavailable(report)
        if failure is not None:
            raise failure
        return
    _end_promptly_on_ctrl_c()
    try:
        if as_json:
            while True:
                print(json.dumps(report.to_dict()), flush=True)
                time.sleep(interval)
                report = status(settings, before=report)
        with Live(status_view(report), console=console, refresh_per_second=1) as live:
            while True:
                time.sleep(interval)
                report = status(settings, before=report)
                live.update(status_view(report))
    except KeyboardInterrupt:
        pass


WATCH_EXIT_GRACE_SECONDS = 5


def _end_promptly_on_ctrl_c() -> None:
    """Ctrl-C ends a watch at once, as a KeyboardInterrupt; should a client call hold on to the process anyway
    (seen once in CI: still running 30 s after SIGINT), it is ended regardless a few seconds later. A watch has
    nothing to save."""
    import signal
    import sys

    def force_exit(signum: int, frame: object) -> None:
        sys.stdout.flush()
        os._exit(0)

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGALRM, force_exit)
        signal.alarm(WATCH_EXIT_GRACE_SECONDS)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)


def reindex_command(
    which: str = typer.Argument("all", help="articles, events or all"),
    delete_old: bool = typer.Option(False, "--delete-old", help="Delete the previous version afterwards"),
) -> None:
    """Rebuild an index as its next version (news-events-v1 -> -v2) from the current template and move the
    alias to it, while the indexer keeps writing. The old version is kept read-only unless --delete-old."""
    from pipeline.errors import BadOptionValue
    from pipeline.index.es import ensure_indices, index_names, make_client
    from pipeline.index.lifecycle import reindex

    settings = get_settings()
    names = index_names(settings)
    kinds = list(names) if which == "all" else [which]
    if any(kind not in names for kind in kinds):
        raise BadOptionValue(f"cannot reindex {which!r}", hint="choose articles, events or all")
    client = make_client(settings, request_timeout=60)
    ensure_indices(client, settings)  # the current templates are what the new versions are built from
    for kind in kinds:
        report = reindex(
            client, kind, names[kind], delete_source=delete_old, on_step=lambda step: console.print(f"  {step}")
        )
        kept = "deleted" if report.source_deleted else "kept, read-only"
        console.print(
            f"{report.alias}: {report.source} → {report.target}; copied {report.first_copy} + {report.second_copy} "
            f"documents ({report.kept_newer} already newer in {report.target}); {report.source} {kept}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("config")(config_command)
    app.command("status")(status_command)
    app.command("reindex")(reindex_command)
