"""``pipeline subscriptions add|list|remove|run|deliver``: named subscriptions, stored in Kafka."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import typer
from kafka import KafkaConsumer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from pipeline.errors import EXIT_DATA_ERROR, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, EXIT_USAGE
from pipeline.kafka import consumer_options
from pipeline.publish.subscriptions import (
    SubscriptionError,
    add_subscription,
    load_subscriptions,
    remove_subscription,
    replace_subscription,
    subscription_topic,
)
from pipeline.publish.webhook import KeepMembership, WebhookRefused, WebhookSender, deliver_messages
from pipeline.publish.webhook_target import WebhookTargetError, resolve_webhook, shown_webhook, stored_webhook
from pipeline.query.filters import EventFilter
from pipeline.query.options import with_event_filter
from pipeline.records import EventChange, Subscription
from pipeline.redact import carries_secret, redact_url
from pipeline.settings import Settings, get_settings

console = Console(highlight=False)
errors = Console(stderr=True)

subscriptions_app = typer.Typer(
    help=(
        "Named subscriptions: a filter stored in Kafka (topic pipeline.subscriptions) whose matching event "
        "creates and updates fill the topic events.sub.NAME, readable by any Kafka client."
    ),
    no_args_is_help=True,
)


def _fail(message: str, exit_code: int) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(exit_code)


def _subscription_failure(exc: SubscriptionError) -> int:
    return EXIT_NOT_FOUND if str(exc).startswith("no subscription") else EXIT_DATA_ERROR


WEBHOOK_ENV_HELP = "An environment variable of the deliverer that holds the webhook URL (for a URL with a secret)"
WEBHOOK_FILE_HELP = "A file the deliverer reads the webhook URL from (for a URL with a secret)"


@subscriptions_app.command("add")
@with_event_filter
def add_command(
    name: str = typer.Argument(..., help="Letters, digits, '-' and '_'; the topic is events.sub.NAME"),
    webhook: str = typer.Option(
        None, "--webhook", help="POST its events here (pipeline subscriptions deliver); a URL without secrets"
    ),
    webhook_env: str = typer.Option(None, "--webhook-env", metavar="NAME", help=WEBHOOK_ENV_HELP),
    webhook_file: Path = typer.Option(None, "--webhook-file", metavar="PATH", help=WEBHOOK_FILE_HELP),
    backfill: bool = typer.Option(
        True, "--backfill/--no-backfill", help="Also fill from the events retained so far, not only new ones"
    ),
    *,
    event_filter: EventFilter,
) -> None:
    """Store a subscription, create its topic and fill it from the retained events.

    Example: pipeline subscriptions add korea --country KOR --min-confidence 0.6
    """
    settings = get_settings()
    try:
        webhook_fields = stored_webhook(webhook, webhook_env, webhook_file)
    except WebhookTargetError as exc:
        _fail(str(exc), exc.exit_code)
        return
    try:
        subscription = Subscription(
            name=name, filter=event_filter.model_dump(mode="json"), backfill=backfill, **webhook_fields
        )
    except ValidationError as exc:
        _fail(
            f"invalid subscription name {name!r}: use letters, digits, '-' and '_' ({exc.error_count()} error)",
            EXIT_USAGE,
        )
        return
    try:
        stored = add_subscription(settings, subscription)
    except SubscriptionError as exc:
        _fail(str(exc), _subscription_failure(exc))
        return
    topic = subscription_topic(settings, name)
    console.print(f"subscription [bold]{stored.name}[/bold] stored; its topic is [cyan]{topic}[/cyan]", highlight=False)
    if stored.backfill:
        from pipeline.publish.materialise import backfill_subscription

        written = backfill_subscription(settings, stored)
        console.print(f"backfilled {written} changes from the retained events on {settings.topic_events}")
    console.print(
        f"new events reach it while `pipeline subscriptions run` runs; `pipeline subscriptions show {name}` "
        "prints what it holds",
        highlight=False,
    )


@subscriptions_app.command("list")
def list_command() -> None:
    """The stored subscriptions, their topics and filters."""
    settings = get_settings()
    subscriptions = load_subscriptions(settings)
    if not subscriptions:
        console.print("no subscriptions (add one: pipeline subscriptions add NAME --country KOR)")
        return
    table = Table("name", "topic", "filter", "webhook", "backfill")
    for name, subscription in sorted(subscriptions.items()):
        table.add_row(
            name,
            subscription_topic(settings, name),
            _describe(subscription),
            shown_webhook(subscription),
            "yes" if subscription.backfill else "no",
        )
    console.print(table)
    _warn_of_stored_secrets(subscriptions.values())


def _warn_of_stored_secrets(subscriptions: Iterable[Subscription]) -> None:
    for subscription in subscriptions:
        if subscription.webhook_url and carries_secret(subscription.webhook_url):
            errors.print(
                f"warning: subscription {subscription.name!r} keeps a secret in its webhook URL on the topic (it was "
                f"added before they were kept out); move it: pipeline subscriptions set-webhook {subscription.name} "
                "--webhook-env NAME (or --webhook-file PATH)",
                highlight=False,
            )


def _describe(subscription: Subscription) -> str:
    try:
        return EventFilter.model_validate(subscription.filter).describe()
    except ValueError:
        return f"unreadable filter {subscription.filter}"


@subscriptions_app.command("show")
def show_command(
    name: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="Each change as one JSON line, as on the topic"),
    follow: bool = typer.Option(False, "--follow", help="Keep waiting for new changes"),
    idle_exit: float = typer.Option(
        3.0, "--idle-exit", min=0.1, help="Without --follow, stop after this many quiet seconds"
    ),
) -> None:
    """Print what a subscription's topic holds, from its beginning: each create and update."""
    from pipeline.query.formats import Hit, event_lines

    settings = get_settings()
    if name not in load_subscriptions(settings):
        _fail(f"no subscription named {name!r} (pipeline subscriptions list shows them)", EXIT_NOT_FOUND)
    consumer = KafkaConsumer(
        subscription_topic(settings, name),
        **consumer_options(settings),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=float("inf") if follow else int(idle_exit * 1000),
    )
    shown = 0
    try:
        for message in consumer:
            if as_json:
                print(message.value.decode("utf-8"), flush=True)
            else:
                change = EventChange.model_validate_json(message.value)
                lines = event_lines(Hit(change.event.model_dump(mode="json")))
                new = ", ".join(change.new_article_ids)
                console.print(f"[bold]{change.change:6}[/bold] " + "\n".join(lines) + f"\n    [dim]new: {new}[/dim]")
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    errors.print(f"{shown} changes on {subscription_topic(settings, name)}", highlight=False)


@subscriptions_app.command("remove")
def remove_command(
    name: str = typer.Argument(...),
    keep_topic: bool = typer.Option(False, "--keep-topic", help="Keep events.sub.NAME and what it holds"),
) -> None:
    """Remove a subscription (a tombstone on the config topic) and, unless --keep-topic, its topic."""
    settings = get_settings()
    try:
        remove_subscription(settings, name, keep_topic=keep_topic)
    except SubscriptionError as exc:
        _fail(str(exc), _subscription_failure(exc))
    console.print(f"subscription [bold]{name}[/bold] removed", highlight=False)


@subscriptions_app.command("run")
def run_command(
    loglevel: str = typer.Option("info", help="Faust worker log level"),
) -> None:
    """Materialise every subscription (a Faust worker; start more to share the partitions)."""
    from pipeline.publish.materialiser import run_worker

    run_worker(loglevel)


@subscriptions_app.command("set-webhook")
def set_webhook_command(
    name: str = typer.Argument(...),
    webhook: str = typer.Option(None, "--webhook", help="POST its events here; a URL without secrets"),
    webhook_env: str = typer.Option(None, "--webhook-env", metavar="NAME", help=WEBHOOK_ENV_HELP),
    webhook_file: Path = typer.Option(None, "--webhook-file", metavar="PATH", help=WEBHOOK_FILE_HELP),
) -> None:
    """Change (or, with no option, remove) a subscription's webhook, e.g. to move a URL with a token in it off the
    topic: pipeline subscriptions set-webhook korea --webhook-env KOREA_HOOK_URL"""
    settings = get_settings()
    subscription = load_subscriptions(settings).get(name)
    if subscription is None:
        _fail(f"no subscription named {name!r} (pipeline subscriptions list shows them)", EXIT_NOT_FOUND)
        return
    try:
        webhook_fields = stored_webhook(webhook, webhook_env, webhook_file)
    except WebhookTargetError as exc:
        _fail(str(exc), exc.exit_code)
        return
    replace_subscription(settings, subscription.model_copy(update=webhook_fields))
    shown = shown_webhook(subscription.model_copy(update=webhook_fields)) or "none"
    console.print(f"subscription [bold]{name}[/bold]: webhook {shown}", highlight=False)


@subscriptions_app.command("deliver")
def deliver_command(
    name: str = typer.Argument(..., help="A subscription with a webhook (or give --webhook)"),
    webhook: str = typer.Option(None, "--webhook", help="POST here instead of the subscription's webhook"),
    limit: int = typer.Option(0, "--limit", min=0, help="Stop after this many deliveries (0: follow forever)"),
    idle_exit: float = typer.Option(
        0, "--idle-exit", min=0, help="Stop after this many quiet seconds (0: follow forever)"
    ),
) -> None:
    """POST the subscription's creates and updates to its webhook, at least once (PIPELINE_WEBHOOK_SECRET
    signs them)."""
    settings = get_settings()
    subscription = load_subscriptions(settings).get(name)
    if subscription is None:
        _fail(f"no subscription named {name!r} (pipeline subscriptions list shows them)", EXIT_NOT_FOUND)
        return
    try:
        url = webhook or resolve_webhook(subscription, os.environ)
    except WebhookTargetError as exc:
        _fail(str(exc), exc.exit_code)
        return
    _warn_of_stored_secrets([subscription])
    if not url:
        _fail(f"subscription {name!r} has no webhook; give one with --webhook URL", EXIT_USAGE)
        return
    topic = subscription_topic(settings, name)
    consumer = webhook_consumer(settings, topic, f"pipeline-webhook-{name}", from_beginning=True, timeout=idle_exit)
    run_webhook(settings, consumer, url, lambda _value: True, limit=limit)


def webhook_group(url: str, topic: str) -> str:
    """A stable consumer group per (topic, URL): a restarted delivery resumes where the last one stopped."""
    return f"pipeline-webhook-{hashlib.sha256(f'{topic} {url}'.encode()).hexdigest()[:12]}"


def webhook_consumer(
    settings: Settings, topic: str, group: str, *, from_beginning: bool, timeout: float
) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        **consumer_options(settings),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        consumer_timeout_ms=int(timeout * 1000) if timeout else float("inf"),
        # The deliverer polls while it retries (KeepMembership), so a long receiver outage never outlasts this.
        max_poll_interval_ms=settings.webhook_max_poll_interval_ms,
    )


def run_webhook(
    settings: Settings, consumer: KafkaConsumer, url: str, wanted: Callable[[bytes], bool], *, limit: int = 0
) -> None:
    """Deliver to ``url`` until stopped; a refusing receiver ends it with a message and exit status 69."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    sender = WebhookSender(
        url,
        secret,
        timeout=settings.webhook_timeout_seconds,
        max_backoff=settings.webhook_max_backoff_seconds,
        sleep=KeepMembership(consumer),  # between attempts: still polling, still in the group
    )
    errors.print(f"delivering to {redact_url(url)}{' (signed)' if secret else ''}; Ctrl-C stops", highlight=False)
    try:
        delivered = deliver_messages(consumer, sender, wanted, limit=limit)
        errors.print(f"{delivered} events delivered", highlight=False)
    except WebhookRefused as exc:
        _fail(str(exc), EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
        sender.close()


def deliver_events(
    settings: Settings,
    event_filter: EventFilter,
    url: str,
    *,
    group: str | None,
    from_beginning: bool,
    limit: int,
    idle_exit: float,
) -> None:
    """`pipeline subscribe --webhook`: POST each matching report on events.enriched (one per reporting
    article) under a stable consumer group, so a restart resumes where the last run stopped."""
    topic = settings.topic_events
    consumer = webhook_consumer(
        settings, topic, group or webhook_group(url, topic), from_beginning=from_beginning, timeout=idle_exit
    )

    def wanted(value: bytes) -> bool:
        try:
            return bool(event_filter.matches(json.loads(value)))
        except (ValueError, TypeError, KeyError):
            return False  # not an event: the indexer dead-letters it

    run_webhook(settings, consumer, url, wanted, limit=limit)


def register(app: typer.Typer) -> None:
    app.add_typer(subscriptions_app, name="subscriptions")
