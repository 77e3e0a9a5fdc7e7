"""Faust's Kafka transport with one fix: a partition the group has never committed is read from its start again
whenever Faust seeks back to committed offsets.

Faust drops the records a fetch returns while its flow is stopped (during a rebalance) and then seeks every
partition back to its committed offset, so that they are read again. aiokafka's ``seek_to_committed`` moves only
partitions with a committed offset above 0; a partition with none keeps the position after the dropped records,
and they are not read again before the next rebalance. On a new topic or group that is every partition: the
first articles of two workers that start together could wait there for good (the test_end_to_end hang,
NOTES.md tenth session). Here such a partition goes back to where the group's reset policy starts (the earliest
offset for our workers): records may be read twice, which our idempotent writes absorb, never skipped.

Imported only by ``pipeline.kafka.faust_app``, so that commands which never run a worker do not import Faust.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka


async def seek_uncommitted_to_reset(
    consumer: Any,
    committed: Mapping[TopicPartition, int | None],
    reset: str,
    changelogs: Collection[str] = (),
) -> list[TopicPartition]:
    """Seek each partition without a committed offset above 0 to where ``reset`` ("earliest"/"latest") starts.

    ``committed`` is what aiokafka's ``seek_to_committed`` returned (it left these partitions where they were).
    A table's ``changelogs`` are left alone: the group never commits them, and Faust's recovery positions them
    itself. Returns the partitions moved.
    """
    uncommitted = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
    if uncommitted:
        if reset == "latest":
            await consumer.seek_to_end(*uncommitted)
        else:
            await consumer.seek_to_beginning(*uncommitted)
    return uncommitted


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[Any, int]:
        result: Mapping[Any, int] = await self.call_thread(self._seek_to_committed_or_reset)
        return result

    async def _seek_to_committed_or_reset(self) -> Mapping[TopicPartition, int | None]:
        consumer = self._ensure_consumer()
        committed: Mapping[TopicPartition, int | None] = await consumer.seek_to_committed()
        reset = self.app.conf.consumer_auto_offset_reset
        await seek_uncommitted_to_reset(consumer, committed, reset, self.app.tables.changelog_topics)
        return committed


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """``kafka://`` with ``_ConsumerThread``'s seek; set as ``app.transport`` before the app starts."""

    Consumer = _Consumer
