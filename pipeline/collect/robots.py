"""robots.txt for article pages, fetched once per site and cached.

What a missing or failing robots.txt means follows RFC 9309: 4xx (not there) allows everything; a server
error or no answer at all means "assume everything is disallowed" until the cache entry expires.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

# What the robots fetch returned: status (None when nothing came back) and body.
RobotsFetch = Callable[[str], Awaitable[tuple[int | None, bytes]]]

ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """Parsed rules for one site: ``allow_all``/``deny_all`` short-cuts or a Protego parser."""

    parser: Protego | None = None
    allow_all: bool = False
    # Set when robots.txt could not be read (server error, unreachable): everything is disallowed, but
    # the caller should treat that as passing and try again later rather than give the page up.
    unavailable: str | None = None

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


ALLOW_ALL = RobotsRules(allow_all=True)
UNAVAILABLE_TTL_SECONDS = 300.0  # how long a failed robots.txt fetch is remembered before asking again


def rules_from_response(status: int | None, body: bytes) -> RobotsRules:
    if status is None:
        return RobotsRules(unavailable="robots.txt unreachable")
    if status >= 500:
        return RobotsRules(unavailable=f"robots.txt answered HTTP {status}")
    if 400 <= status < 500:
        return ALLOW_ALL
    if 200 <= status < 300:
        text = body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        try:
            return RobotsRules(parser=Protego.parse(text))
        except Exception:  # an unparseable file is treated like a missing one
            return ALLOW_ALL
    return ALLOW_ALL  # 3xx left after the fetcher's own redirect handling: nothing usable there


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "/robots.txt", "", ""))


# What one cached site costs besides its robots.txt text (the parser, the key, the entry).
SITE_OVERHEAD_BYTES = 1024


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    rules: RobotsRules
    weight: int  # the robots.txt's size plus SITE_OVERHEAD_BYTES: parsed rules take several times that


class RobotsCache:
    """robots.txt rules per site, least recently used first out: at most ``max_sites`` sites and
    ``max_bytes`` of robots.txt text in all (a 512 KB file parses into megabytes of rules, so the text's size
    is what bounds the memory, not the count alone). Concurrent asks for one site share one fetch."""

    def __init__(
        self,
        fetch: RobotsFetch,
        user_agent: str,
        ttl_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_sites: int = 4096,
        max_bytes: int = 2 * 1024 * 1024,
    ) -> None:
        self._fetch = fetch
        self.user_agent = user_agent
        self._ttl = ttl_seconds
        self._clock = clock
        self.max_sites = max(1, max_sites)
        self.max_bytes = max(ROBOTS_MAX_BYTES + SITE_OVERHEAD_BYTES, max_bytes)
        self._rules: OrderedDict[str, _Entry] = OrderedDict()
        self._weight = 0
        # Fetches under way, one per site: a dict that only holds what is in flight, not every site ever seen.
        self._inflight: dict[str, asyncio.Future[RobotsRules]] = {}

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def weight(self) -> int:
        """The cached robots.txt text in bytes, with each site's overhead."""
        return self._weight

    def _remember(self, key: str, entry: _Entry) -> None:
        old = self._rules.pop(key, None)
        if old is not None:
            self._weight -= old.weight
        self._rules[key] = entry
        self._weight += entry.weight
        while len(self._rules) > self.max_sites or self._weight > self.max_bytes:
            _, evicted = self._rules.popitem(last=False)
            self._weight -= evicted.weight

    async def rules_for(self, url: str, fetch: RobotsFetch | None = None) -> RobotsRules:
        """The site's rules, cached; ``fetch`` replaces the cache's own fetch for this call (a request made
        for a feed with ``allow_private`` fetches robots.txt under that feed's allowance)."""
        key = robots_url(url)
        while True:
            cached = self._rules.get(key)
            if cached is not None and cached.expires > self._clock():
                self._rules.move_to_end(key)
                return cached.rules
            running = self._inflight.get(key)
            if running is None:
                break
            # Twenty pages of one site waiting at once cause one robots.txt request.
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                # The fetching task was cancelled, not this one: look again, and fetch if need be.
        future: asyncio.Future[RobotsRules] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            status, body = await (fetch or self._fetch)(key)
            rules = rules_from_response(status, body)
            ttl = min(self._ttl, UNAVAILABLE_TTL_SECONDS) if rules.unavailable else self._ttl
            self._remember(key, _Entry(self._clock() + ttl, rules, len(body) + SITE_OVERHEAD_BYTES))
            future.set_result(rules)
            return rules
        except BaseException:
            future.cancel()  # the waiters look again
            raise
        finally:
            del self._inflight[key]

    async def allowed(self, url: str) -> bool:
        rules = await self.rules_for(url)
        return rules.allowed(url, self.user_agent)
