"""Per-host politeness: at most N requests in flight to a host, and request starts spaced out in time.

Keyed by host name, not by feed, so fifty feeds on one site still share one budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _HostState:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    min_interval: float | None = None  # e.g. from robots.txt Crawl-delay; None = the limiter's default


class HostLimiter:
    def __init__(
        self,
        concurrency: int,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_interval: float = 60.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("per-host concurrency must be at least 1")
        self.concurrency = concurrency
        self.min_interval = max(0.0, min_interval)
        self.max_interval = max_interval
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _HostState] = {}

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(asyncio.Semaphore(self.concurrency))
        return state

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
