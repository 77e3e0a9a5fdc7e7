"""Per-host politeness: at most N requests in flight to a host, and request starts spaced out in time.

Keyed by host name, not by feed, so fifty feeds on one site still share one budget. A host's state is
forgotten, oldest first, once more than ``max_hosts`` are known and it is idle: nothing in flight or waiting,
and its next start already due (forgetting it then changes nothing; a Crawl-delay is set again from
robots.txt before the host's next page).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from itertools import islice

_LOOK_FURTHER = 16  # hosts looked at past the excess when forgetting: in-use ones are skipped, not waited for


@dataclass
class _HostState:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    min_interval: float | None = None  # e.g. from robots.txt Crawl-delay; None = the limiter's default
    users: int = 0  # requests holding or waiting for a slot


class HostLimiter:
    def __init__(
        self,
        concurrency: int,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_interval: float = 60.0,
        max_hosts: int = 10_000,
    ) -> None:
        if concurrency < 1:
            raise ValueError("per-host concurrency must be at least 1")
        self.concurrency = concurrency
        self.min_interval = max(0.0, min_interval)
        self.max_interval = max_interval
        self._clock = clock
        self._sleep = sleep
        self.max_hosts = max(1, max_hosts)
        self._hosts: OrderedDict[str, _HostState] = OrderedDict()  # least recently used first

    def __len__(self) -> int:
        return len(self._hosts)

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(asyncio.Semaphore(self.concurrency))
            self._forget_idle()
        else:
            self._hosts.move_to_end(host)
        return state

    def _forget_idle(self) -> None:
        excess = len(self._hosts) - self.max_hosts
        if excess <= 0:
            return
        now = self._clock()
        # Among the least recently used few, those idle go; one in use or whose spacing still matters stays
        # (those are few: requests in flight, hosts used in the last max_interval). A bounded look per call.
        oldest = list(islice(self._hosts.items(), excess + _LOOK_FURTHER))
        idle = [host for host, state in oldest if not state.users and state.next_start <= now]
        for host in idle[:excess]:
            del self._hosts[host]

    def set_interval(self, host: str, seconds: float) -> None:
        """Slow one host down (never below the default, never beyond ``max_interval``)."""
        self._state(host.lower()).min_interval = min(max(seconds, self.min_interval), self.max_interval)

    def interval(self, host: str) -> float:
        state = self._hosts.get(host.lower())
        return state.min_interval if state and state.min_interval is not None else self.min_interval

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's request slots for the duration of a request."""
        host = host.lower()
        state = self._state(host)
        state.users += 1
        try:
            async with state.semaphore:
                # The lock serialises the spacing decision; the wait happens while holding it so request starts
                # stay in order and spaced, whatever the number of waiting tasks.
                async with state.lock:
                    now = self._clock()
                    wait = state.next_start - now
                    if wait > 0:
                        await self._sleep(wait)
                    state.next_start = max(now, state.next_start) + self.interval(host)
                yield
        finally:
            state.users -= 1
