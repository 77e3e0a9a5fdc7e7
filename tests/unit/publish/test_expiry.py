"""The materialiser's time-to-live on event states (plain code): its index stays flat however many events pass."""

from __future__ import annotations

from pipeline.publish.expiry import EventExpiry

HOUR_MS = 3_600_000


def test_the_table_stays_flat_over_a_long_stream_of_distinct_events() -> None:
    """Issue 21 item 7: the subscription worker's event table held every event ever seen."""
    expiry = EventExpiry(ttl_ms=24 * HOUR_MS)
    table: dict[str, int] = {}  # what the worker's table would hold
    sizes = []
    for n in range(100_000):  # one new event a minute: about 69 days of stream time
        seen = n * 60_000
        for key in expiry.expired(0, seen):
            del table[key]
        table[f"evt_{n}"] = seen
        expiry.touch(0, f"evt_{n}", seen)
        sizes.append(len(table))
    assert max(sizes) == 24 * 60 + 1  # the events of the last 24 hours, and not one more
    assert sizes[-1] == sizes[50_000] == max(sizes) and expiry.size(0) == len(table)


def test_an_event_reported_again_stays_and_partitions_expire_on_their_own_stream_time() -> None:
    expiry = EventExpiry(ttl_ms=10)
    expiry.touch(0, "a", 0)
    expiry.touch(0, "b", 5)
    expiry.touch(1, "c", 0)
    expiry.touch(0, "a", 12)  # a new report of "a" renews it
    assert expiry.expired(0, 16) == ["b"]
    assert expiry.expired(1, 5) == []  # partition 1's stream time is its own
    assert expiry.expired(0, 30) == ["a"]


def test_a_partition_is_indexed_again_from_the_recovered_table() -> None:
    expiry = EventExpiry(ttl_ms=10)
    expiry.rebuild(3, [("late", 20), ("early", 1)])
    assert expiry.indexed(3) and not expiry.indexed(0)
    assert expiry.expired(3, 20) == ["early"]  # stream time resumes from what the table knew
    expiry.forget()
    assert not expiry.indexed(3)
