"""Which events the materialiser may forget: a time-to-live on its table of event states. Plain code.

The table would otherwise hold every event ever seen. An event that has had no new reporting article for
the TTL is forgotten (a tombstone on the table's changelog, so a restarted worker forgets it too); a report
of it after that starts it again with a create. Time is the stream's, not the clock's: the Kafka timestamps
of the reports, so a replay or a backlog forgets exactly what the live stream did, and a test can cover days
in a second.

Per partition, keys are kept in the order of their last update, so each expiry check pops only what expired.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable


class EventExpiry:
    def __init__(self, ttl_ms: int) -> None:
        self.ttl_ms = ttl_ms
        self._by_partition: dict[int, OrderedDict[Hashable, int]] = {}
        self._stream_time: dict[int, int] = {}

    def indexed(self, partition: int) -> bool:
        return partition in self._by_partition

    def rebuild(self, partition: int, states: Iterable[tuple[Hashable, int]]) -> None:
        """Index a partition's states (key, last update in ms) as recovered, e.g. after a rebalance."""
        order = OrderedDict(sorted(states, key=lambda item: item[1]))
        self._by_partition[partition] = order
        if order:
            self._stream_time[partition] = max(self._stream_time.get(partition, 0), next(reversed(order.values())))

    def touch(self, partition: int, key: Hashable, seen_ms: int) -> None:
        order = self._by_partition.setdefault(partition, OrderedDict())
        order[key] = max(seen_ms, order.get(key, seen_ms))
        order.move_to_end(key)
        self._stream_time[partition] = max(self._stream_time.get(partition, 0), seen_ms)

    def expired(self, partition: int, seen_ms: int) -> list[Hashable]:
        """Keys of ``partition`` last updated more than the TTL before its stream time (now at least ``seen_ms``);
        they are dropped from the index, and the caller deletes them from the table."""
        now = self._stream_time[partition] = max(self._stream_time.get(partition, 0), seen_ms)
        order = self._by_partition.get(partition)
        gone: list[Hashable] = []
        while order:
            key, last = next(iter(order.items()))
            if now - last <= self.ttl_ms:
                break
            order.popitem(last=False)
            gone.append(key)
        return gone

    def forget(self) -> None:
        """After a rebalance: partitions are indexed again from the table when next seen."""
        self._by_partition.clear()

    def size(self, partition: int) -> int:
        return len(self._by_partition.get(partition, ()))
