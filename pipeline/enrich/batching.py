"""Batches of what a Faust stream already holds: no waiting window.

A fixed window (wait up to N seconds for a full batch) costs live traffic up to N seconds per article, while a
backlog needs no window at all: the next batch is already buffered when the last one is done. So a batch is
the first event to arrive plus every event the worker has already received, up to ``max_size``: an article that
arrives alone is parsed at once, and under a backlog batches are full, which keeps ``nlp.pipe`` efficient.

Acknowledging events (so that their offsets may be committed) is the caller's part, once their outputs are
confirmed (``stream.ack``); acknowledgements may come later than the next batch.

Events read before a rebalance are dropped unacknowledged once it begins (``is_current``, then ``forget``):
Faust waits for every event it handed out to be acknowledged or forgotten before the group can move on, and
seeks each partition back to its committed offset afterwards, so whoever owns the partition then reads them
again. Handling them first would hold the whole group up for as long as the buffered batch takes to parse.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

# How many loop turns to spend moving events the consumer has already received into a partial batch; each turn
# moves one. Bounded so that a channel that will not give up its events cannot hold a batch back.
_DRAIN_TURNS_PER_EVENT = 4
_STREAM_ENDED = object()


def _channel_backlog(stream: Any) -> int:
    """Events the stream's channel holds that the stream has not taken yet (0 when it cannot tell)."""
    queue = getattr(getattr(stream, "channel", None), "queue", None)
    try:
        return int(queue.qsize()) if queue is not None else 0
    except (AttributeError, TypeError, NotImplementedError):
        return 0


def _always(event: Any) -> bool:
    return True


def _nothing(event: Any) -> None:
    return None


async def available_batches(
    stream: Any,
    max_size: int,
    is_current: Callable[[Any], bool] = _always,
    forget: Callable[[Any], None] = _nothing,
) -> AsyncIterator[list[Any]]:
    """Yield lists of events (``faust.EventT``) from ``stream``: wait only for the first of each batch.

    A reader task moves events from the stream into a buffer of ``max_size`` while the previous batch is being
    handled, so a backlog fills the next batch in the meantime. The reader's failure is raised here; the end
    of the stream (the worker stopping) ends the iteration.
    """
    if max_size < 1:
        raise ValueError(f"max_size must be at least 1, got {max_size}")
    stream.enable_acks = False  # the caller acknowledges each event once its outputs are confirmed
    buffered: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_size)

    async def read() -> None:
        async for event in stream.events():
            await buffered.put(event)
            del event  # no reference left here to an event the batch loop may drop

    reader = asyncio.ensure_future(read())
    try:
        while True:
            first = await _next_event(buffered, reader)
            if first is _STREAM_ENDED:
                return
            batch = [first]
            turns = _DRAIN_TURNS_PER_EVENT * max_size
            while len(batch) < max_size:
                if not buffered.empty():
                    batch.append(buffered.get_nowait())
                elif turns > 0 and _channel_backlog(stream) > 0 and not reader.done():
                    turns -= 1
                    await asyncio.sleep(0)  # the reader moves one more received event over
                else:
                    break
            first = None
            current: list[Any] = []
            for event in batch:
                if is_current(event):
                    current.append(event)
                else:  # read again after the rebalance; forgotten now, so that it need not wait for it
                    forget(event)
            batch = current
            del current, event  # nothing here may keep a forgotten event alive
            if not batch:
                continue
            yield batch
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _next_event(buffered: asyncio.Queue[Any], reader: asyncio.Future[None]) -> Any:
    """The next buffered event; if the reader ends first, its exception, or ``_STREAM_ENDED``."""
    if not buffered.empty():
        return buffered.get_nowait()
    getter = asyncio.ensure_future(buffered.get())
    try:
        await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        getter.cancel()
        raise
    if getter.done():
        return getter.result()
    getter.cancel()
    reader.result()  # raises what ended the reader
    return _STREAM_ENDED
