from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.collect.schedule import next_interval
from pipeline.collect.state import ArticleState, FeedState, ItemState, StateStore


def test_everything_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    with StateStore(path) as store, store.transaction():
        store.save_feed(FeedState("https://f.example/rss", 600.0, etag='"x"', last_modified="Mon", next_poll_at=5.0))
        store.save_item(ItemState("https://f.example/rss", "guid-1", "fp", "new", 1, "art_1", 1.0, 2.0))
        store.save_article(ArticleState("art_1", "https://f.example/1", "h", 2, None, 1.0, 2.0))
        store.save_signature("art_1", b"\x01\x02", 1.0)
    with StateStore(path) as store:
        feed = store.get_feed("https://f.example/rss")
        assert feed is not None and feed.etag == '"x"' and feed.interval_seconds == 600.0
        item = store.get_item("https://f.example/rss", "guid-1")
        assert item is not None and item.settled and item.article_id == "art_1"
        assert store.get_article("art_1") == ArticleState("art_1", "https://f.example/1", "h", 2, None, 1.0, 2.0)
        assert store.find_original_by_hash("h") is not None
        assert [(article, blob) for article, blob, _ in store.signatures()] == [("art_1", b"\x01\x02")]
        assert store.count_items() == 1 and store.count_articles(duplicates=False) == 1


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    with pytest.raises(RuntimeError), store.transaction():
        store.save_feed(FeedState("https://f.example/rss", 60.0))
        raise RuntimeError
    assert store.get_feed("https://f.example/rss") is None


def test_retry_items_are_not_settled() -> None:
    assert not ItemState("f", "k", "fp", "retry", 1, None, 0.0, 0.0).settled


def test_interval_adapts_within_bounds() -> None:
    assert next_interval(600, changed=True, failed=False, lower=60, upper=3600) == 300
    assert next_interval(600, changed=False, failed=False, lower=60, upper=3600) == 900
    assert next_interval(600, changed=False, failed=True, lower=60, upper=3600) == 1200
    assert next_interval(80, changed=True, failed=False, lower=60, upper=3600) == 60
    assert next_interval(3000, changed=False, failed=True, lower=60, upper=3600) == 3600
    interval = 300.0
    for _ in range(20):  # a feed that changes on every poll settles at the lower bound
        interval = next_interval(interval, changed=True, failed=False, lower=60, upper=3600)
    assert interval == 60


def test_a_state_file_from_before_item_retries_gains_their_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE feed_items (feed_url TEXT NOT NULL, item_key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        " outcome TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, article_id TEXT, first_seen_at REAL NOT NULL,"
        " last_seen_at REAL NOT NULL, PRIMARY KEY (feed_url, item_key))"
    )
    old.execute("INSERT INTO feed_items VALUES ('f', 'k', 'fp', 'rejected', 3, NULL, 1.0, 2.0)")
    old.commit()
    old.close()
    with StateStore(path) as store:
        item = store.get_item("f", "k")
        assert item is not None and item.retry_at is None and item.give_ups == 0 and item.settled
        assert not store.has_retries("f", now=10.0)
