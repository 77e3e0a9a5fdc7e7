"""The collector's shell: poll feeds, fetch and extract new items, de-duplicate, publish, remember.

Per feed: fetch (conditional GET) -> parse -> items not seen before, or changed since -> page fetch and
extraction (concurrently, within the per-host limits) -> then, one feed at a time under a lock:
de-duplication decisions, Kafka sends, flush, and only then the state commit. A crash or a broker failure
before the commit leaves the items unseen, so they are sent again next time instead of being lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import structlog
from rich.table import Table

from pipeline.collect.dedup import Decision, Deduplicator
from pipeline.collect.extract import Extracted, bounded_article, decode_html, extract_article, extract_from_item
from pipeline.collect.feedlist import FeedConfig, feeds_from_sources
from pipeline.collect.feeds import FeedItem, ParsedFeed, parse_feed
from pipeline.collect.fetch import Fetched, Fetcher, Validators, read_file
from pipeline.collect.limits import (
    MAX_GUID_CHARS,
    MAX_REASON_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    bounded_key,
    cut,
)
from pipeline.collect.problems import Problem, Reason
from pipeline.collect.publisher import KafkaPublisher, Publisher, PublishError
from pipeline.collect.schedule import next_interval
from pipeline.collect.state import FeedState, ItemState, StateStore
from pipeline.collect.urls import is_http_url
from pipeline.deadletter import dead_letter
from pipeline.health import touch
from pipeline.ids import article_id
from pipeline.records import RawArticle
from pipeline.settings import Settings

log = structlog.get_logger(__name__)

FeedStatus = Literal["ok", "not_modified", "failed"]


@dataclass
class FeedReport:
    feed: str
    label: str
    status: FeedStatus = "ok"
    problem: Problem | None = None
    items: int = 0
    seen: int = 0  # handled on an earlier poll and unchanged in the feed: not looked at again
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    unchanged: int = 0
    rejected: int = 0
    retry: int = 0  # passing failures; the item is tried again on a later poll
    dead_letters_dropped: int = 0  # dead letters the broker refused for good (logged; the run goes on)
    warnings: tuple[str, ...] = ()
    published: list[str] = field(default_factory=list)  # article ids sent to the raw topic
    next_poll_in: float | None = None


@dataclass
class CollectReport:
    feeds: list[FeedReport] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0

    def _sum(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.feeds)

    @property
    def feeds_polled(self) -> int:
        return len(self.feeds)

    @property
    def not_modified(self) -> int:
        return sum(f.status == "not_modified" for f in self.feeds)

    @property
    def failed_feeds(self) -> int:
        return sum(f.status == "failed" for f in self.feeds)

    @property
    def new(self) -> int:
        return self._sum("new")

    @property
    def updated(self) -> int:
        return self._sum("updated")

    @property
    def duplicate(self) -> int:
        return self._sum("duplicate")

    @property
    def unchanged(self) -> int:
        return self._sum("unchanged")

    @property
    def rejected(self) -> int:
        return self._sum("rejected")

    @property
    def retry(self) -> int:
        return self._sum("retry")

    @property
    def dead_letters_dropped(self) -> int:
        return self._sum("dead_letters_dropped")

    @property
    def published(self) -> list[str]:
        return [a for f in self.feeds for a in f.published]

    def totals(self) -> dict[str, int]:
        return {
            "feeds_polled": self.feeds_polled,
            "not_modified": self.not_modified,
            "failed_feeds": self.failed_feeds,
            "new": self.new,
            "updated": self.updated,
            "duplicate": self.duplicate,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "retry": self.retry,
            "dead_letters_dropped": self.dead_letters_dropped,
        }

    def table(self) -> Table:
        table = Table(title=f"Collection: {self.feeds_polled} feed(s) in {self.seconds:.1f}s", show_footer=True)
        columns = ("items", "new", "updated", "duplicate", "unchanged", "rejected", "retry")
        table.add_column("feed", footer="total")
        table.caption = (
            f"{self.feeds_polled} polled, {self.not_modified} not modified (304), {self.failed_feeds} failed"
        )
        if self.dead_letters_dropped:
            table.caption += f", {self.dead_letters_dropped} dead letter(s) refused by the broker (see the log)"

        table.add_column("status")
        for name in columns:
            total = sum(int(getattr(f, name)) for f in self.feeds)
            table.add_column(name, justify="right", footer=str(total))
        for f in self.feeds:
            status: str = "304" if f.status == "not_modified" else f.status
            if f.problem:
                status = f"failed: {f.problem.reason.value}"
            elif f.warnings:
                status += " (warnings)"
            table.add_row(f.label, status, *(str(getattr(f, name)) for name in columns))
        return table

    def __rich__(self) -> Table:
        return self.table()


def item_fingerprint(item: FeedItem) -> str:
    """Changes when the feed's entry changes in any way that might mean the article changed."""
    parts = [
        item.link or "",
        item.title,
        item.summary,
        item.content,
        item.published.isoformat() if item.published else "",
        item.updated.isoformat() if item.updated else "",
    ]
    # surrogatepass: a lone surrogate is legal in a JSON Feed string but cannot be encoded as UTF-8.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _item_payload(item: FeedItem) -> str:
    """What a dead letter keeps of an item: each field capped, so the letter fits a message whatever the feed
    says (a link longer than the cap is kept cut: the letter is for people, the item is in its feed)."""
    return json.dumps(
        {
            "link": cut(item.link, MAX_URL_CHARS) if item.link else item.link,
            "guid": cut(item.guid, MAX_GUID_CHARS) if item.guid else item.guid,
            "title": cut(item.title, MAX_TITLE_CHARS),
            "summary": cut(item.summary, MAX_SUMMARY_CHARS),
        },
        ensure_ascii=False,
    )


def shown(url: str | None) -> str | None:
    """A URL as logged: a hostile one can be megabytes long."""
    return cut(url, 300) if url else url


def _local_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


class Collector:
    def __init__(
        self,
        settings: Settings,
        *,
        publisher: Publisher,
        store: StateStore,
        fetcher: Fetcher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.store = store
        self.fetcher = fetcher
        self._clock = clock
        self.dedup = Deduplicator(
            store,
            threshold=settings.near_duplicate_threshold,
            clock=clock,
            max_entries=settings.near_duplicate_max_articles,
            window_seconds=settings.near_duplicate_window_seconds,
        )
        self._commit_lock = asyncio.Lock()
        self._item_slots = asyncio.Semaphore(max(1, settings.collect_concurrency))

    # Scheduling.
    def due(self, feed: FeedConfig, now: float | None = None) -> bool:
        state = self.store.get_feed(feed.source_id)
        return state is None or state.next_poll_at is None or state.next_poll_at <= (now or self._clock())

    def next_due_in(self, feeds: Iterable[FeedConfig]) -> float | None:
        now = self._clock()
        waits = []
        for feed in feeds:
            state = self.store.get_feed(feed.source_id)
            waits.append(0.0 if state is None or state.next_poll_at is None else state.next_poll_at - now)
        return max(0.0, min(waits)) if waits else None

    async def run_once(
        self,
        feeds: Sequence[FeedConfig],
        *,
        due_only: bool = False,
        on_feed_done: Callable[[FeedReport], None] | None = None,
    ) -> CollectReport:
        started = time.perf_counter()
        report = CollectReport()
        selected = [f for f in feeds if f.enabled and (not due_only or self.due(f))]

        async def one(feed: FeedConfig) -> FeedReport:
            result = await self.poll(feed)
            if on_feed_done:
                on_feed_done(result)
            return result

        report.feeds = list(await asyncio.gather(*(one(f) for f in selected)))
        report.seconds = time.perf_counter() - started
        log.info("collection round done", **report.totals(), seconds=round(report.seconds, 2))
        return report

    async def run_forever(
        self,
        feeds: Sequence[FeedConfig],
        stop: asyncio.Event,
        *,
        on_round: Callable[[CollectReport], None] | None = None,
        on_feed_done: Callable[[FeedReport], None] | None = None,
    ) -> None:
        """Poll every enabled feed on its own schedule until ``stop``: each feed has its own loop, so a slow
        host (a Crawl-delay, a hanging server) delays only its own feeds. ``on_round`` gets each poll."""

        async def feed_loop(feed: FeedConfig) -> None:
            while not stop.is_set():
                touch(self.settings, "collect")
                if self.due(feed):
                    started = time.perf_counter()
                    result = await self.poll(feed)
                    if on_feed_done:
                        on_feed_done(result)
                    if on_round:
                        on_round(CollectReport(feeds=[result], seconds=time.perf_counter() - started))
                wait = self.next_due_in([feed])
                # Wake at least once a minute so a stop request or a clock jump is noticed.
                timeout = min(max(wait if wait is not None else 60.0, 1.0), 60.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=timeout)

        await asyncio.gather(*(feed_loop(feed) for feed in feeds if feed.enabled))

    # One feed.
    async def poll(self, feed: FeedConfig) -> FeedReport:
        report = FeedReport(feed=feed.source_id, label=feed.label)
        try:
            await self._poll(feed, report)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, PublishError):
                raise  # the broker is failing: stop the run rather than skip ahead of it
            log.exception("feed poll crashed", feed=feed.source_id)
            report.status = "failed"
            report.problem = Problem(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", feed.source_id)
            self._back_off(feed, report)
        return report

    def _back_off(self, feed: FeedConfig, report: FeedReport) -> None:
        """A failed poll still moves the feed's next poll out (doubling), so a bug is not hit every second."""
        previous = self.store.get_feed(feed.source_id) or FeedState(
            feed.source_id, interval_seconds=feed.interval or self.settings.poll_interval_seconds
        )
        try:
            with self.store.transaction():
                self.store.save_feed(self._schedule(feed, previous, report, None))
        except Exception:
            log.exception("could not reschedule the failed feed", feed=feed.source_id)

    async def _poll(self, feed: FeedConfig, report: FeedReport) -> None:
        source = feed.source_id
        previous = self.store.get_feed(source) or FeedState(
            source, interval_seconds=feed.interval or self.settings.poll_interval_seconds
        )
        fetched = await self._fetch_feed(feed, previous)
        if isinstance(fetched, Problem):
            return await self._feed_failed(feed, previous, report, fetched)
        if fetched.not_modified:
            report.status = "not_modified"
            return await self._commit(feed, previous, report, fetched, [])
        # A large feed takes seconds to parse (sanitising its HTML): off the loop, which serves every feed.
        parsed = await asyncio.to_thread(parse_feed, fetched.body, url=fetched.final_url, headers=fetched.headers)
        if isinstance(parsed, Problem):
            if parsed.reason is not Reason.NO_ITEMS:
                return await self._feed_failed(feed, previous, report, parsed)
            parsed = ParsedFeed(items=(), format="empty")
        report.items = len(parsed.items)
        report.warnings = parsed.warnings
        todo = self._items_to_handle(source, parsed, report)
        outcomes = await asyncio.gather(*(self._resolve_safely(feed, parsed, item) for item, _ in todo))
        # Which entries the feed lists now: an item waiting for another try that is no longer there cannot
        # be fetched again (an empty document may be a passing glitch of the server: it proves nothing).
        listed = {item.key or item_fingerprint(item) for item in parsed.items} if parsed.items else None
        await self._commit(feed, previous, report, fetched, list(zip(todo, outcomes, strict=True)), listed)

    async def _fetch_feed(self, feed: FeedConfig, previous: FeedState) -> Fetched | Problem:
        if feed.is_local:
            return read_file(feed.path, self.settings.max_body_bytes)
        # Items waiting for a retry are only known from the feed document: skip the conditional GET then.
        waiting = self.store.has_retries(feed.source_id, self._clock())
        validators = None if waiting else Validators(previous.etag, previous.last_modified)
        return await self.fetcher.fetch(
            feed.url.strip(), kind="feed", validators=validators, private_origin=feed.private_origin
        )

    def _items_to_handle(
        self, source: str, parsed: ParsedFeed, report: FeedReport
    ) -> list[tuple[FeedItem, ItemState | None]]:
        todo: dict[str, tuple[FeedItem, ItemState | None]] = {}
        now = self._clock()
        for item in parsed.items:
            fingerprint = item_fingerprint(item)
            key = item.key or fingerprint
            if key in todo:
                continue  # the same entry twice in one document
            known = self.store.get_item(source, key)
            if known is not None and known.fingerprint == fingerprint and not known.due(now):
                report.seen += 1
                continue
            todo[key] = (item, known)
        return list(todo.values())

    async def _resolve_safely(self, feed: FeedConfig, parsed: ParsedFeed, item: FeedItem) -> Extracted | Problem:
        """``_resolve``, with a failure of one item (a bug, odd input) kept to that item."""
        try:
            return await self._resolve(feed, parsed, item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("item failed", feed=feed.source_id, link=shown(item.link))
            return Problem(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", item.link)

    async def _resolve(self, feed: FeedConfig, parsed: ParsedFeed, item: FeedItem) -> Extracted | Problem:
        """The article behind one feed item: its page extracted, or the feed's own text as fallback."""
        min_chars = self.settings.min_text_chars

        def from_feed() -> Extracted | Problem:
            return extract_from_item(item, feed_language=parsed.language, feed_title=parsed.title, min_chars=min_chars)

        async with self._item_slots:
            link = item.link
            if not link:
                return Problem(Reason.NO_LINK, "item has no link", None)
            if len(link) > MAX_URL_CHARS:
                return Problem(Reason.BAD_URL, f"link of {len(link)} characters > {MAX_URL_CHARS}", link)
            if feed.is_local and link.startswith("file:"):
                page: Fetched | Problem = self._read_local_page(feed, link)
            elif not is_http_url(link):
                return Problem(Reason.BAD_SCHEME, "item link is not http(s)", link)
            elif not feed.fetch_pages:
                return from_feed()
            else:
                page = await self.fetcher.fetch(link, kind="page", private_origin=feed.private_origin)
            if isinstance(page, Problem):
                fallback = from_feed()
                # The page's reason is the one worth reporting when the feed has no usable text either.
                return fallback if isinstance(fallback, Extracted) else page
            html = decode_html(page.body, page.headers.get("content-type"))
            # trafilatura is CPU-bound; a worker thread keeps the event loop serving other fetches.
            return await asyncio.to_thread(
                extract_article,
                html,
                url=page.final_url,
                item=item,
                feed_language=parsed.language,
                feed_title=parsed.title,
                min_chars=min_chars,
            )

    def _read_local_page(self, feed: FeedConfig, link: str) -> Fetched | Problem:
        # Pages of a local feed may be local too, but only below the feed's own directory: a feed file must
        # not be a way to read arbitrary files.
        root = feed.path.resolve().parent
        path = _local_path(link).resolve()
        if not path.is_relative_to(root):
            return Problem(Reason.BAD_URL, "local page outside the feed's directory", link)
        return read_file(path, self.settings.max_body_bytes)

    async def _feed_failed(self, feed: FeedConfig, previous: FeedState, report: FeedReport, problem: Problem) -> None:
        report.status = "failed"
        report.problem = problem
        log.warning("feed failed", feed=feed.source_id, reason=problem.reason.value, detail=problem.detail)
        await self._commit(feed, previous, report, None, [])

    def _schedule(
        self, feed: FeedConfig, previous: FeedState, report: FeedReport, fetched: Fetched | None
    ) -> FeedState:
        now = self._clock()
        changed = report.new + report.updated > 0
        failed = report.status == "failed"
        interval = next_interval(
            previous.interval_seconds,
            changed=changed,
            failed=failed,
            lower=feed.min_interval or self.settings.poll_min_interval_seconds,
            upper=feed.max_interval or self.settings.poll_max_interval_seconds,
        )
        validators = fetched.validators if fetched is not None and not fetched.not_modified else None
        report.next_poll_in = interval
        return FeedState(
            feed_url=previous.feed_url,
            interval_seconds=interval,
            # A 304 carries no new validators; the old ones stay valid.
            etag=validators.etag if validators else previous.etag,
            last_modified=validators.last_modified if validators else previous.last_modified,
            last_polled_at=now,
            next_poll_at=now + interval,
            last_changed_at=now if changed else previous.last_changed_at,
            last_status=report.problem.reason.value if report.problem else report.status,
            consecutive_errors=previous.consecutive_errors + 1 if failed else 0,
        )

    async def _commit(
        self,
        feed: FeedConfig,
        previous: FeedState,
        report: FeedReport,
        fetched: Fetched | None,
        handled: list[tuple[tuple[FeedItem, ItemState | None], Extracted | Problem]],
        listed: set[str] | None = None,
    ) -> None:
        # kafka-python's send() blocks until it has the topic's metadata (up to a minute for a missing topic):
        # fetch it in a worker thread first, so the sends below never stall the event loop.
        await asyncio.to_thread(self.publisher.prepare)
        async with self._commit_lock:
            try:
                with self.store.transaction():
                    for (item, known), outcome in handled:
                        self._settle_item_safely(feed, report, item, known, outcome)
                    if listed is not None:
                        self._forget_unlisted(feed, report, listed)
                    self.store.save_feed(self._schedule(feed, previous, report, fetched))
                    # Inside the transaction: if Kafka does not acknowledge, nothing above is committed.
                    report.dead_letters_dropped += await asyncio.to_thread(self.publisher.flush)
            except BaseException:
                self.dedup.reload()  # the index may hold signatures of rolled-back articles
                raise
        log.info(
            "feed polled",
            feed=feed.source_id,
            status=report.status,
            items=report.items,
            new=report.new,
            updated=report.updated,
            duplicate=report.duplicate,
            rejected=report.rejected,
            retry=report.retry,
        )

    def _settle_item_safely(
        self,
        feed: FeedConfig,
        report: FeedReport,
        item: FeedItem,
        known: ItemState | None,
        outcome: Extracted | Problem,
    ) -> None:
        """``_settle_item``; an item that cannot be settled (odd text the record cannot carry) is dead-lettered
        alone and the rest of the feed goes on. A failing broker still stops the run (PublishError)."""
        try:
            self._settle_item(feed, report, item, known, outcome)
        except PublishError:
            raise
        except Exception as exc:
            log.exception("item failed", feed=feed.source_id, link=shown(item.link))
            problem = Problem(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", item.link)
            final = ItemState(
                feed.source_id,
                item.key or item_fingerprint(item),
                item_fingerprint(item),
                "rejected",
                self.settings.max_item_attempts,
                None,
                known.first_seen_at if known else self._clock(),
                self._clock(),
            )
            self._reject(feed, report, item, problem)
            self.store.save_item(final)

    def _forget_unlisted(self, feed: FeedConfig, report: FeedReport, listed: set[str]) -> None:
        """Items waiting for another try that their feed no longer lists: nothing can fetch them again. One
        given up on already has its dead letter; one that was only deferred gets one now (``left_feed``)."""
        now = self._clock()
        for waiting in self.store.pending_items(feed.source_id):
            if waiting.item_key in listed:
                continue
            if waiting.outcome == "retry":
                report.rejected += 1
                log.warning(
                    "item left its feed before it could be collected", feed=feed.source_id, item=shown(waiting.item_key)
                )
                self.publisher.send_dead_letter(
                    dead_letter(
                        "collect",
                        f"{Reason.LEFT_FEED.value}: the feed no longer lists the item after "
                        f"{waiting.attempts} passing failure(s)",
                        key=bounded_key(waiting.item_key),
                        max_message_bytes=self.settings.kafka_max_message_bytes,
                    )
                )
            self.store.save_item(replace(waiting, outcome="rejected", retry_at=None, last_seen_at=now))

    def _reject(self, feed: FeedConfig, report: FeedReport, item: FeedItem, problem: Problem) -> None:
        report.rejected += 1
        log.warning(
            "item rejected",
            feed=feed.source_id,
            link=shown(item.link),
            reason=problem.reason.value,
            detail=problem.detail,
        )
        self.publisher.send_dead_letter(
            dead_letter(
                "collect",
                cut(f"{problem.reason.value}: {problem.detail}", MAX_REASON_CHARS),
                key=bounded_key(problem.url or item.link or feed.source_id),
                payload=_item_payload(item),
                max_message_bytes=self.settings.kafka_max_message_bytes,
            )
        )

    def _settle_item(
        self,
        feed: FeedConfig,
        report: FeedReport,
        item: FeedItem,
        known: ItemState | None,
        outcome: Extracted | Problem,
    ) -> None:
        now = self._clock()
        fingerprint = item_fingerprint(item)
        key = item.key or fingerprint
        attempts = (known.attempts if known else 0) + 1
        first_seen = known.first_seen_at if known else now
        # Give-ups count for this version of the entry; a changed entry starts again (and gets its own letter).
        give_ups = known.give_ups if known is not None and known.fingerprint == fingerprint else 0

        def remember(result: str, art_id: str | None, retry_at: float | None = None) -> None:
            self.store.save_item(
                ItemState(
                    feed.source_id, key, fingerprint, result, attempts, art_id, first_seen, now, retry_at, give_ups
                )
            )

        if isinstance(outcome, Problem):
            if outcome.transient and attempts < self.settings.max_item_attempts:
                report.retry += 1
                log.info("item deferred", feed=feed.source_id, link=shown(item.link), reason=outcome.reason.value)
                remember("retry", None)
                return
            give_ups += 1
            retry_at = now + self._give_up_backoff(give_ups) if outcome.worth_another_day else None
            if give_ups == 1:
                self._reject(feed, report, item, outcome)
            else:  # its dead letter went out when it was first given up on
                report.rejected += 1
                log.warning(
                    "item failed again",
                    feed=feed.source_id,
                    link=shown(item.link),
                    reason=outcome.reason.value,
                    give_ups=give_ups,
                )
            if retry_at is not None:
                log.info(
                    "item to be tried again from its feed",
                    feed=feed.source_id,
                    link=shown(item.link),
                    in_seconds=round(retry_at - now),
                )
            remember("rejected", None, retry_at)
            return
        outcome = bounded_article(outcome)
        if isinstance(outcome, Problem):
            self._reject(feed, report, item, outcome)
            remember("rejected", None)
            return
        decision = self.dedup.judge(article_id(outcome.canonical_url), outcome.canonical_url, outcome.text)
        if decision.publish:
            self.publisher.send_article(self._raw_article(feed, outcome, decision, now))
            report.published.append(decision.article_id)
        setattr(report, decision.verdict, getattr(report, decision.verdict) + 1)
        if decision.verdict == "duplicate":
            log.info(
                "duplicate not published",
                article_id=decision.article_id,
                duplicate_of=decision.duplicate_of,
                similarity=round(decision.similarity or 0.0, 3),
            )
        remember(decision.verdict, decision.article_id)

    def _give_up_backoff(self, give_ups: int) -> float:
        """How long an item given up on ``give_ups`` times waits before its feed's next poll tries it again."""
        base = self.settings.item_retry_backoff_seconds
        return float(min(self.settings.item_retry_backoff_max_seconds, base * 2 ** min(give_ups - 1, 30)))

    def _raw_article(self, feed: FeedConfig, extracted: Extracted, decision: Decision, now: float) -> RawArticle:
        text = extracted.text
        if len(text) > self.settings.max_text_chars:
            # Keeps messages under the broker's size limit; enrichment reads no further anyway.
            text = text[: self.settings.max_text_chars]
        return RawArticle(
            article_id=decision.article_id,
            revision=decision.revision,
            url=extracted.url,
            canonical_url=extracted.canonical_url,
            title=extracted.title,
            text=text,
            authors=list(extracted.authors),
            published_at=extracted.published,
            updated_at=extracted.updated,
            language=extracted.language,
            site_name=extracted.site_name,
            feed_url=feed.source_id,
            content_hash=decision.content_hash,
            fetched_at=datetime.fromtimestamp(now, tz=UTC),
        )


def as_feed_configs(feeds: Iterable[FeedConfig | str]) -> list[FeedConfig]:
    return [f if isinstance(f, FeedConfig) else feeds_from_sources([f])[0] for f in feeds]


async def collect_once_async(
    settings: Settings,
    feeds: Iterable[FeedConfig | str],
    *,
    publisher: Publisher | None = None,
    store: StateStore | None = None,
    on_feed_done: Callable[[FeedReport], None] | None = None,
) -> CollectReport:
    own_publisher = publisher is None
    own_store = store is None
    active_publisher: Publisher = publisher if publisher is not None else KafkaPublisher(settings)
    active_store = store if store is not None else StateStore(settings.state_path)
    try:
        async with Fetcher(settings) as fetcher:
            collector = Collector(settings, publisher=active_publisher, store=active_store, fetcher=fetcher)
            return await collector.run_once(as_feed_configs(feeds), on_feed_done=on_feed_done)
    finally:
        if own_publisher:
            active_publisher.close()
        if own_store:
            active_store.close()


def collect_once(
    settings: Settings,
    feeds: Iterable[FeedConfig | str],
    *,
    publisher: Publisher | None = None,
    store: StateStore | None = None,
) -> CollectReport:
    """Poll every feed once, publish what is new, and return what happened (for scripts and the demo)."""
    return asyncio.run(collect_once_async(settings, feeds, publisher=publisher, store=store))
