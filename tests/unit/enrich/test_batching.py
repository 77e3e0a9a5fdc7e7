"""Enricher batching without a window: what has arrived is one batch; acknowledging is left to the caller."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest

from pipeline.enrich.batching import available_batches


class FakeChannel:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()


class FakeStream:
    """What available_batches uses of a Faust stream: events() reading the channel's queue one per loop turn
    (as Faust's iterator does), ack(), enable_acks."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.channel = FakeChannel()
        self.enable_acks = True
        self.acked: list[Any] = []
        self.fail_after = fail_after

    async def events(self) -> AsyncIterator[Any]:
        taken = 0
        while True:
            await asyncio.sleep(0)
            if self.fail_after is not None and taken >= self.fail_after:
                raise ConnectionError("broker gone")
            yield await self.channel.queue.get()
            taken += 1

    async def ack(self, event: Any) -> bool:
        self.acked.append(event)
        return True

    def deliver(self, *events: Any) -> None:
        for event in events:
            self.channel.queue.put_nowait(event)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=10))


def test_everything_received_is_one_batch_and_nothing_is_acked_here() -> None:
    async def scenario() -> None:
        stream = FakeStream()
        stream.deliver(*range(5))
        batches = available_batches(stream, 32)
        assert await anext(batches) == [0, 1, 2, 3, 4]
        assert stream.enable_acks is False  # Faust must not ack an event once the next is read
        stream.deliver(5)
        assert await anext(batches) == [5]
        await batches.aclose()
        assert stream.acked == []  # the worker acks once the outputs are confirmed

    run(scenario())


def test_a_backlog_gives_full_batches() -> None:
    async def scenario() -> None:
        stream = FakeStream()
        stream.deliver(*range(70))
        batches = available_batches(stream, 32)
        sizes = [len(await anext(batches)) for _ in range(3)]
        assert sizes == [32, 32, 6]
        await batches.aclose()

    run(scenario())


def test_a_lone_event_is_not_held_for_a_window() -> None:
    async def scenario() -> list[float]:
        stream = FakeStream()
        batches = available_batches(stream, 32)
        waits = []
        for n in range(3):
            asyncio.get_running_loop().call_later(0.05, stream.deliver, n)
            began = time.monotonic()
            assert await anext(batches) == [n]
            waits.append(time.monotonic() - began)
        await batches.aclose()
        return waits

    assert max(run(scenario())) < 0.5  # 0.05 s until it arrives; a window would have added its length


def test_events_arriving_while_a_batch_is_handled_form_the_next_batch() -> None:
    async def scenario() -> None:
        stream = FakeStream()
        stream.deliver("a")
        batches = available_batches(stream, 32)
        assert await anext(batches) == ["a"]
        stream.deliver("b", "c", "d")
        await asyncio.sleep(0.01)  # the batch is being handled meanwhile
        assert await anext(batches) == ["b", "c", "d"]
        await batches.aclose()

    run(scenario())


def test_a_failing_stream_raises_in_the_batch_loop() -> None:
    async def scenario() -> None:
        stream = FakeStream(fail_after=2)
        stream.deliver(1, 2, 3)
        batches = available_batches(stream, 32)
        assert await anext(batches) == [1, 2]
        with pytest.raises(ConnectionError, match="broker gone"):
            await anext(batches)

    run(scenario())


def test_the_size_must_be_positive() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="at least 1"):
            await anext(available_batches(FakeStream(), 0))

    run(scenario())


def test_events_read_before_a_rebalance_are_dropped_and_forgotten() -> None:
    async def scenario() -> list[str]:
        stream = FakeStream()
        forgotten: list[str] = []
        stream.deliver("old-1", "old-2", "new-1")
        batches = available_batches(stream, 32, lambda event: event.startswith("new"), forgotten.append)
        assert await anext(batches) == ["new-1"]
        stream.deliver("old-3", "new-2")
        assert await anext(batches) == ["new-2"]
        await batches.aclose()
        return forgotten

    assert run(scenario()) == ["old-1", "old-2", "old-3"]
