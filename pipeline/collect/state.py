"""The collector's memory across restarts, in one SQLite file (``settings.state_path``).

Feed validators and schedule, which feed items were handled, which articles were published with which
content hash and revision, and the near-duplicate signatures. Writes are grouped in transactions that the
collector commits only after Kafka acknowledged the matching messages, so a crash in between re-sends
rather than loses (downstream writes are idempotent by article id and revision).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    feed_url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    interval_seconds REAL NOT NULL,
    last_polled_at REAL,
    next_poll_at REAL,
    last_changed_at REAL,
    last_status TEXT,
    consecutive_errors INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_items (
    feed_url TEXT NOT NULL,
    item_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    article_id TEXT,
    first_seen_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    retry_at REAL,
    give_ups INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (feed_url, item_key)
);
CREATE TABLE IF NOT EXISTS articles (
    article_id TEXT PRIMARY KEY,
    canonical_url TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    duplicate_of TEXT,
    first_seen_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_hash ON articles (content_hash);
CREATE TABLE IF NOT EXISTS signatures (
    article_id TEXT PRIMARY KEY,
    minhash BLOB NOT NULL,
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class FeedState:
    feed_url: str
    interval_seconds: float
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: float | None = None
    next_poll_at: float | None = None
    last_changed_at: float | None = None
    last_status: str | None = None
    consecutive_errors: int = 0


@dataclass(frozen=True, slots=True)
class ItemState:
    feed_url: str
    item_key: str
    fingerprint: str
    outcome: str  # new / updated / unchanged / duplicate / rejected / retry
    attempts: int
    article_id: str | None
    first_seen_at: float
    last_seen_at: float
    # A rejected item whose failure may pass (the page, the server, robots.txt) is tried again from its feed
    # at this time; None: never (handled, or its failure is the item's own, e.g. no link).
    retry_at: float | None = None
    give_ups: int = 0  # times it was rejected in this version (its back-off doubles with each)

    @property
    def settled(self) -> bool:
        """Handled for good: items waiting for a retry, or a later try after they were given up on, are not."""
        return self.outcome != "retry" and self.retry_at is None

    def due(self, now: float) -> bool:
        """Whether a poll at ``now`` should look at the item again, although its feed entry did not change."""
        return self.outcome == "retry" or (self.retry_at is not None and self.retry_at <= now)


@dataclass(frozen=True, slots=True)
class ArticleState:
    article_id: str
    canonical_url: str
    content_hash: str
    revision: int
    duplicate_of: str | None
    first_seen_at: float
    updated_at: float


class StateStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly in ``transaction``.
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")  # readers (status tools) never block the collector
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._migrate()
        self._depth = 0

    def _migrate(self) -> None:
        """Columns added since a state file was made (SQLite adds a column with its default in place)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(feed_items)")}
        if "retry_at" not in columns:
            self._db.execute("ALTER TABLE feed_items ADD COLUMN retry_at REAL")
        if "give_ups" not in columns:
            self._db.execute("ALTER TABLE feed_items ADD COLUMN give_ups INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside are committed together, or none of them if the block raises."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # Feeds.
    def get_feed(self, feed_url: str) -> FeedState | None:
        row = self._db.execute("SELECT * FROM feeds WHERE feed_url = ?", (feed_url,)).fetchone()
        return FeedState(**dict(row)) if row else None

    def save_feed(self, feed: FeedState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO feeds (feed_url, etag, last_modified, interval_seconds, last_polled_at,"
            " next_poll_at, last_changed_at, last_status, consecutive_errors)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                feed.feed_url,
                feed.etag,
                feed.last_modified,
                feed.interval_seconds,
                feed.last_polled_at,
                feed.next_poll_at,
                feed.last_changed_at,
                feed.last_status,
                feed.consecutive_errors,
            ),
        )

    # Feed items.
    def get_item(self, feed_url: str, item_key: str) -> ItemState | None:
        row = self._db.execute(
            "SELECT * FROM feed_items WHERE feed_url = ? AND item_key = ?", (feed_url, item_key)
        ).fetchone()
        return ItemState(**dict(row)) if row else None

    def save_item(self, item: ItemState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO feed_items (feed_url, item_key, fingerprint, outcome, attempts, article_id,"
            " first_seen_at, last_seen_at, retry_at, give_ups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.feed_url,
                item.item_key,
                item.fingerprint,
                item.outcome,
                item.attempts,
                item.article_id,
                item.first_seen_at,
                item.last_seen_at,
                item.retry_at,
                item.give_ups,
            ),
        )

    def has_retries(self, feed_url: str, now: float) -> bool:
        """Whether items of this feed wait for another try at ``now`` (the feed must then be read in full,
        not 304'd): passing failures, and items given up on whose back-off is over."""
        row = self._db.execute(
            "SELECT 1 FROM feed_items WHERE feed_url = ? AND (outcome = 'retry' OR retry_at <= ?) LIMIT 1",
            (feed_url, now),
        ).fetchone()
        return row is not None

    def pending_items(self, feed_url: str) -> list[ItemState]:
        """This feed's items still to be tried again: passing failures and items given up on for now."""
        rows = self._db.execute(
            "SELECT * FROM feed_items WHERE feed_url = ? AND (outcome = 'retry' OR retry_at IS NOT NULL)",
            (feed_url,),
        ).fetchall()
        return [ItemState(**dict(row)) for row in rows]

    def count_items(self, feed_url: str | None = None) -> int:
        if feed_url is None:
            return int(self._db.execute("SELECT COUNT(*) FROM feed_items").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM feed_items WHERE feed_url = ?", (feed_url,)).fetchone()[0])

    # Articles.
    def get_article(self, article_id: str) -> ArticleState | None:
        row = self._db.execute("SELECT * FROM articles WHERE article_id = ?", (article_id,)).fetchone()
        return ArticleState(**dict(row)) if row else None

    def find_original_by_hash(self, content_hash: str) -> ArticleState | None:
        """The first published (not duplicate) article with exactly this text."""
        row = self._db.execute(
            "SELECT * FROM articles WHERE content_hash = ? AND duplicate_of IS NULL ORDER BY first_seen_at LIMIT 1",
            (content_hash,),
        ).fetchone()
        return ArticleState(**dict(row)) if row else None

    def save_article(self, article: ArticleState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO articles (article_id, canonical_url, content_hash, revision, duplicate_of,"
            " first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                article.article_id,
                article.canonical_url,
                article.content_hash,
                article.revision,
                article.duplicate_of,
                article.first_seen_at,
                article.updated_at,
            ),
        )

    def count_articles(self, *, duplicates: bool | None = None) -> int:
        query = "SELECT COUNT(*) FROM articles"
        if duplicates is True:
            query += " WHERE duplicate_of IS NOT NULL"
        elif duplicates is False:
            query += " WHERE duplicate_of IS NULL"
        return int(self._db.execute(query).fetchone()[0])

    # Near-duplicate signatures.
    def save_signature(self, article_id: str, blob: bytes, created_at: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO signatures (article_id, minhash, created_at) VALUES (?, ?, ?)",
            (article_id, blob, created_at),
        )

    def delete_signature(self, article_id: str) -> None:
        self._db.execute("DELETE FROM signatures WHERE article_id = ?", (article_id,))

    def signatures(self, newer_than: float | None = None) -> Iterator[tuple[str, bytes, float]]:
        """(article id, MinHash, when it was saved), oldest first."""
        cursor = self._db.execute(
            "SELECT article_id, minhash, created_at FROM signatures WHERE created_at >= ? ORDER BY created_at",
            (newer_than if newer_than is not None else float("-inf"),),
        )
        for row in cursor:
            yield str(row[0]), bytes(row[1]), float(row[2])
