"""Telling a stalled enricher from an idle one: messages wait on its partitions, yet no batch completes.

After a broker restart Faust can wait forever for acknowledgements that never come, alive but doing nothing.
Only the process can see that; it then exits so a supervisor restarts it (``worker._watch_for_stalls``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import structlog

from pipeline.settings import Settings

log = structlog.get_logger(__name__)


class StallWatch:
    def __init__(self, settings: Settings, stall_seconds: float) -> None:
        self.settings = settings
        self.stall_seconds = stall_seconds
        self.last_progress = time.monotonic()
        self.batch_started_at: float | None = None
        self.waiting_since: float | None = None
        self._consumer: Any = None
        self._admin: Any = None

    def batch_started(self) -> None:
        """A batch's parse began (while it runs, the worker is busy, not stalled)."""
        self.batch_started_at = time.monotonic()

    def batch_parsed(self) -> None:
        self.batch_started_at = None

    def batch_done(self) -> None:
        """A batch's outputs were confirmed (the next batch may be parsing already)."""
        self.last_progress = time.monotonic()
        self.waiting_since = None

    def _waiting(self, assigned: Iterable[Any]) -> int | None:
        """Messages on ``assigned`` partitions the group has not committed; None when Kafka cannot tell now."""
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        from pipeline.kafka import client_options, consumer_options

        partitions = [TopicPartition(tp.topic, tp.partition) for tp in assigned]
        if not partitions:
            return 0
        try:
            if self._consumer is None:
                self._consumer = KafkaConsumer(client_id="pipeline-enricher-watch", **consumer_options(self.settings))
                self._admin = KafkaAdminClient(client_id="pipeline-enricher-watch", **client_options(self.settings))
            ends = self._consumer.end_offsets(partitions)
            committed = self._admin.list_consumer_group_offsets(self.settings.enricher_group)
        except Exception as exc:  # the broker is away: a stall cannot be told from an outage yet
            log.info("stall check skipped", error=str(exc)[:200])
            return None
        waiting = 0
        for tp in partitions:
            done = committed.get(tp)
            waiting += max(0, ends[tp] - (done.offset if done is not None and done.offset >= 0 else 0))
        return waiting

    def stalled(self, assigned: Iterable[Any]) -> str | None:
        """Why this worker is stalled, or None. Blocking (Kafka requests): run it off the event loop."""
        now = time.monotonic()
        if self.batch_started_at is not None and now - self.batch_started_at < 10 * self.stall_seconds:
            return None  # a batch is being worked on (spaCy can be slow on a busy machine)
        if now - self.last_progress < self.stall_seconds:
            return None
        waiting = self._waiting(assigned)
        if not waiting:
            self.waiting_since = None
            return None
        self.waiting_since = self.waiting_since or now
        stuck_for = now - max(self.last_progress, self.waiting_since)
        if stuck_for < self.stall_seconds:
            return None
        return f"{waiting} messages wait on this worker's partitions, yet no batch completed for {stuck_for:.0f}s"
