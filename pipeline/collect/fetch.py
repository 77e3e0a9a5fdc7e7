"""HTTP fetching for feeds and article pages, with the guards a crawler of untrusted URLs needs.

One ``Fetcher`` per collector run: it owns the httpx client (connection pool), the per-host limiter and the
robots.txt cache. ``fetch`` never raises for anything the remote side does; it returns ``Fetched`` or a
``Problem`` with a typed reason.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from pipeline.collect.decoding import ACCEPT_ENCODING, BoundedDecoder, UndecodableBody
from pipeline.collect.netguard import (
    AddressPolicy,
    BlockedAddressError,
    GuardedBackend,
    NameResolutionError,
    Origin,
    resolve,
)
from pipeline.collect.problems import Problem, Reason
from pipeline.collect.ratelimit import HostLimiter
from pipeline.collect.robots import ROBOTS_MAX_BYTES, RobotsCache
from pipeline.collect.urls import host_of, is_http_url
from pipeline.settings import Settings

Kind = Literal["feed", "page", "robots"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}

# Signatures of binary formats that are sometimes served with a text content type.
_MAGIC = (
    (b"%PDF-", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"RIFF", "RIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"OggS", "Ogg"),
    (b"ID3", "MP3"),
    (b"\x7fELF", "ELF"),
)
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server gave us to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # as asked for
    final_url: str  # after redirects
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    redirects: tuple[str, ...] = ()

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def media_type(self) -> str:
        return media_type(self.headers.get("content-type"))

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag"), self.headers.get("last-modified"))


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def content_type_problem(kind: Kind, content_type: str | None) -> str | None:
    """Why a response of this content type is not worth reading, or None."""
    mtype = media_type(content_type)
    if not mtype or kind == "robots" or mtype == "application/octet-stream":
        return None  # unknown: decide on the bytes
    major = mtype.split("/", 1)[0]
    if major in {"image", "audio", "video", "font", "model"}:
        return f"{mtype} is not a document"
    if kind == "page":
        if mtype in {"text/html", "application/xhtml+xml"} or (major == "text" and mtype != "text/css"):
            return None
        return f"{mtype} is not an HTML page"
    # feed
    if major == "text" or any(word in mtype for word in ("xml", "rss", "atom", "rdf", "json")):
        return None
    return f"{mtype} is not a feed type"


def binary_body_problem(body: bytes) -> str | None:
    """Why these bytes are not a text document, or None."""
    for magic, name in _MAGIC:
        if body.startswith(magic):
            return f"body is {name} data"
    head = body[:1024]
    # UTF-16/32 documents are full of NUL bytes; a BOM or NUL-padded markup marks them as text.
    wide_text = head.startswith(_TEXT_BOMS) or b"<\x00" in head or b"\x00<" in head
    if b"\x00" in head and not wide_text:
        return "body contains NUL bytes"
    return None


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random, retry_after: float | None = None) -> float:
    """Delay before retry ``attempt`` (0-based): exponential, capped, half of it jittered.

    Jitter spreads the retries of many collectors hitting one failing server; a server's Retry-After is a
    floor (still capped, so a hostile header cannot park the collector).
    """
    ceiling = min(cap, base * (2**attempt))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(now if now is not None else time.time(), tz=UTC)
    return max(0.0, (when - current).total_seconds())


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose connections go through ``GuardedBackend`` (see netguard)."""

    def __init__(self, policy: AddressPolicy, *, max_connections: int = 100) -> None:
        super().__init__(trust_env=False)
        # httpx exposes no setting for the network backend, so the pool is rebuilt with ours; httpx and
        # httpcore are pinned and tests/unit/collect/test_fetch.py checks the guard is in force.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(policy),
        )


@dataclass(frozen=True, slots=True)
class _Scope:
    """The address policy a request is checked against and the client (connection pool) it goes through.
    A feed with ``allow_private`` gets a scope of its own, so neither its allowance nor a pooled connection
    to its private server serves any other feed."""

    policy: AddressPolicy
    client: httpx.AsyncClient


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""


class Fetcher:
    def __init__(
        self,
        settings: Settings,
        *,
        policy: AddressPolicy | None = None,
        limiter: HostLimiter | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or AddressPolicy(settings.allow_private_hosts)
        self.limiter = limiter or HostLimiter(settings.per_host_concurrency, settings.per_host_min_interval_seconds)
        self._rng = rng or random.Random()
        self._default = _Scope(self.policy, self._client(self.policy))
        self.client = self._default.client
        # One per feed origin with allow_private (bounded by the feeds file), made on first use.
        self._private: dict[Origin, _Scope] = {}
        self.robots = RobotsCache(self._fetch_robots, settings.user_agent, settings.robots_cache_seconds)

    def _client(self, policy: AddressPolicy) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=GuardedTransport(policy),
            follow_redirects=False,  # followed by hand, so every hop is checked
            trust_env=False,  # no proxies from the environment: they would bypass the address guard
            timeout=httpx.Timeout(self.settings.request_timeout_seconds),
            # Only what BoundedDecoder decodes (httpx would also offer br/zstd if their packages were there).
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def _scope(self, private_origin: Origin | None) -> _Scope:
        if private_origin is None:
            return self._default
        scope = self._private.get(private_origin)
        if scope is None:
            policy = self.policy.with_origin(private_origin)
            scope = self._private[private_origin] = _Scope(policy, self._client(policy))
        return scope

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()
        for scope in self._private.values():
            await scope.client.aclose()

    async def fetch(
        self,
        url: str,
        kind: Kind = "page",
        validators: Validators | None = None,
        *,
        private_origin: Origin | None = None,
    ) -> Fetched | Problem:
        """GET ``url``; a 2xx or 304 answer is ``Fetched``, anything else a ``Problem``. ``private_origin``
        (host, port) may resolve to a private address for this request and its redirects (a feed's
        ``allow_private``); nothing else is allowed beyond the settings' ``allow_private_hosts``."""
        result = await self._follow(url, kind, validators, self._scope(private_origin))
        if isinstance(result, Problem) or result.status == 304 or 200 <= result.status < 300:
            return result
        return Problem(Reason.HTTP_ERROR, f"HTTP {result.status}", result.final_url)

    async def _follow(self, url: str, kind: Kind, validators: Validators | None, scope: _Scope) -> Fetched | Problem:
        extra = {"Accept": _ACCEPT[kind], **(validators.request_headers() if validators else {})}
        current = url
        redirects: list[str] = []
        for _hop in range(self.settings.max_redirects + 1):
            if not is_http_url(current):
                return Problem(Reason.BAD_SCHEME, "only http and https URLs are fetched", current)
            # Checked here too (the connect step checks again): a refused address must not be reported as a
            # robots.txt problem, and must not cost a robots.txt request.
            refusal = await self._address_refusal(current, scope.policy)
            if refusal:
                return refusal
            if kind == "page":
                refusal = await self._robots_refusal(current, scope)
                if refusal:
                    return refusal
            response = await self._get_with_retries(current, extra, kind, scope.client)
            if isinstance(response, Problem):
                return response
            if response.status not in REDIRECT_STATUSES:
                return Fetched(url, current, response.status, response.body, response.headers, tuple(redirects))
            location = response.headers.get("location", "").strip()
            if not location:
                return Problem(Reason.HTTP_ERROR, f"HTTP {response.status} without Location", current)
            redirects.append(current)
            current = urljoin(current, location)
            # Validators belong to the URL they came from; do not send them to another one.
            extra = {"Accept": _ACCEPT[kind]}
        return Problem(Reason.TOO_MANY_REDIRECTS, f"more than {self.settings.max_redirects} redirects", url)

    async def _address_refusal(self, url: str, policy: AddressPolicy) -> Problem | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            addresses = await resolve(host, port, self.settings.request_timeout_seconds)
        except ValueError as exc:
            return Problem(Reason.BAD_URL, str(exc), url)
        except NameResolutionError as exc:
            return Problem(Reason.DNS_FAILURE, str(exc), url)
        refused = [a for a in addresses if not policy.permits(host, ipaddress.ip_address(a), port)]
        if refused:
            return Problem(Reason.BLOCKED_ADDRESS, str(BlockedAddressError(host, refused)), url)
        return None

    async def _robots_refusal(self, url: str, scope: _Scope) -> Problem | None:
        async def fetch_robots(robots_url: str) -> tuple[int | None, bytes]:
            return await self._fetch_robots(robots_url, scope)

        rules = await self.robots.rules_for(url, fetch_robots)
        if rules.unavailable:
            return Problem(Reason.SERVER_ERROR, rules.unavailable, url)  # transient: the item is retried
        delay = rules.crawl_delay(self.settings.user_agent)
        if delay:
            self.limiter.set_interval(host_of(url), delay)
        if rules.allowed(url, self.settings.user_agent):
            return None
        return Problem(Reason.ROBOTS_DISALLOWED, "robots.txt disallows this URL", url)

    async def _fetch_robots(self, url: str, scope: _Scope | None = None) -> tuple[int | None, bytes]:
        result = await self._follow(url, "robots", None, scope or self._default)
        if isinstance(result, Problem):
            return None, b""  # unreachable
        return result.status, result.body

    async def _get_with_retries(
        self, url: str, headers: dict[str, str], kind: Kind, client: httpx.AsyncClient
    ) -> _Response | Problem:
        attempt = 0
        while True:
            outcome = await self._get_once(url, headers, kind, client)
            retryable = outcome.transient if isinstance(outcome, Problem) else outcome.status in RETRY_STATUSES
            if not retryable or attempt >= self.settings.fetch_retries:
                break
            retry_after = (
                None if isinstance(outcome, Problem) else parse_retry_after(outcome.headers.get("retry-after"))
            )
            await asyncio.sleep(
                backoff_delay(
                    attempt,
                    self.settings.retry_backoff_seconds,
                    self.settings.retry_backoff_max_seconds,
                    self._rng,
                    retry_after,
                )
            )
            attempt += 1
        if isinstance(outcome, _Response) and outcome.status in RETRY_STATUSES:
            reason = Reason.RATE_LIMITED if outcome.status == 429 else Reason.SERVER_ERROR
            return Problem(reason, f"HTTP {outcome.status} after {attempt + 1} attempts", url)
        return outcome

    async def _get_once(
        self, url: str, headers: dict[str, str], kind: Kind, client: httpx.AsyncClient
    ) -> _Response | Problem:
        host = host_of(url)
        try:
            async with self.limiter.slot(host):
                # One deadline for the whole exchange, body included: a server trickling bytes cannot
                # hold a worker for longer than this.
                async with asyncio.timeout(self.settings.request_timeout_seconds):
                    async with client.stream("GET", url, headers=headers) as response:
                        return await self._read(response, kind, url)
        except TimeoutError:
            return Problem(Reason.TIMEOUT, f"no complete answer in {self.settings.request_timeout_seconds}s", url)
        except httpx.TimeoutException as exc:
            return Problem(Reason.TIMEOUT, type(exc).__name__, url)
        except BlockedAddressError as exc:
            return Problem(Reason.BLOCKED_ADDRESS, str(exc), url)
        except httpx.ConnectError as exc:
            if isinstance(exc.__cause__, NameResolutionError) or "resolve" in str(exc):
                return Problem(Reason.DNS_FAILURE, str(exc), url)
            return Problem(Reason.CONNECT_FAILED, str(exc) or type(exc).__name__, url)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Problem(Reason.BAD_URL, str(exc), url)
        except httpx.DecodingError as exc:
            return Problem(Reason.BINARY_BODY, f"undecodable content encoding: {exc}", url)
        except httpx.HTTPError as exc:  # protocol errors, resets mid-body: worth another try later
            return Problem(Reason.CONNECT_FAILED, f"{type(exc).__name__}: {exc}", url)

    async def _read(self, response: httpx.Response, kind: Kind, url: str) -> _Response | Problem:
        headers = {k.lower(): v for k, v in response.headers.items()}
        if not 200 <= response.status_code < 300:
            return _Response(response.status_code, headers)  # body of redirects and errors is not needed
        if kind != "robots":
            refusal = content_type_problem(kind, headers.get("content-type"))
            if refusal:
                return Problem(Reason.BAD_CONTENT_TYPE, refusal, url)
        limit = ROBOTS_MAX_BYTES if kind == "robots" else self.settings.max_body_bytes
        declared = headers.get("content-length", "")
        if kind != "robots" and declared.isdigit() and int(declared) > limit:
            return Problem(Reason.TOO_LARGE, f"Content-Length {declared} > {limit} bytes", url)
        chunks: list[bytes] = []
        size = 0
        # Raw bytes, decoded here: counted after decompression, so a small gzip bomb is stopped as early as a
        # large plain body, and decoded step by step, so even stacked encodings never hold more than the limit.
        try:
            decoder = BoundedDecoder(headers.get("content-encoding"), limit)
            async for raw in response.aiter_raw():
                chunk = decoder.decode(raw)
                size += len(chunk)
                if size > limit:
                    if kind == "robots":  # RFC 9309: use what fits, ignore the rest
                        chunks.append(chunk[: limit - (size - len(chunk))])
                        break
                    return Problem(Reason.TOO_LARGE, f"body exceeds {limit} bytes", url)
                chunks.append(chunk)
        except UndecodableBody as exc:
            return Problem(Reason.BINARY_BODY, f"undecodable content encoding: {exc}", url)
        body = b"".join(chunks)
        if kind != "robots":
            if not body.strip():
                return Problem(Reason.EMPTY_BODY, "empty response body", url)
            binary = binary_body_problem(body)
            if binary:
                return Problem(Reason.BINARY_BODY, binary, url)
        return _Response(response.status_code, headers, body)


def read_file(path: Path, max_bytes: int) -> Fetched | Problem:
    """A local feed file, read under the same size and content checks as a fetched one."""
    url = path.resolve().as_uri()
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Problem(Reason.TOO_LARGE, f"{size} bytes > {max_bytes}", url)
        body = path.read_bytes()
    except OSError as exc:
        return Problem(Reason.FILE_ERROR, f"{type(exc).__name__}: {exc.strerror or exc}", url)
    if not body.strip():
        return Problem(Reason.EMPTY_BODY, "empty file", url)
    binary = binary_body_problem(body)
    if binary:
        return Problem(Reason.BINARY_BODY, binary, url)
    content_type = "application/json" if path.suffix.lower() == ".json" else ""
    headers = {"content-type": content_type} if content_type else {}
    return Fetched(url, url, 200, body, headers)


def is_local_source(source: str) -> bool:
    """Whether a feed source names a local file rather than a URL."""
    scheme = urlsplit(source).scheme.lower()
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and source[1:3] in (":\\", ":/"))
