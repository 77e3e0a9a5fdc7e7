"""Typed reasons why the collector could not use a feed, a page or an item.

Every refusal in the collector is one of these, so reports, logs and dead letters can be grouped by reason and
the collector can tell a passing failure (retry later) from a lasting one (give up, dead-letter).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    # Fetching.
    BAD_URL = "bad_url"
    BAD_SCHEME = "bad_scheme"
    BLOCKED_ADDRESS = "blocked_address"
    DNS_FAILURE = "dns_failure"
    CONNECT_FAILED = "connect_failed"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    HTTP_ERROR = "http_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    TOO_LARGE = "too_large"
    BAD_CONTENT_TYPE = "bad_content_type"
    BINARY_BODY = "binary_body"
    EMPTY_BODY = "empty_body"
    ROBOTS_DISALLOWED = "robots_disallowed"
    FILE_ERROR = "file_error"
    # Feed parsing.
    UNSAFE_XML = "unsafe_xml"
    MALFORMED_FEED = "malformed_feed"
    NOT_A_FEED = "not_a_feed"
    NO_ITEMS = "no_items"
    # Items and extraction.
    NO_LINK = "no_link"
    NO_TEXT = "no_text"
    TEXT_TOO_SHORT = "text_too_short"
    EXTRACTION_FAILED = "extraction_failed"
    # An item that left its feed while it waited for another try: it cannot be fetched again.
    LEFT_FEED = "left_feed"
    # A bug or an unforeseen condition in the collector itself (logged with its traceback).
    INTERNAL_ERROR = "internal_error"


# Failures that may go away by themselves: the item or feed is tried again on a later poll.
TRANSIENT = frozenset(
    {
        Reason.DNS_FAILURE,
        Reason.CONNECT_FAILED,
        Reason.TIMEOUT,
        Reason.SERVER_ERROR,
        Reason.RATE_LIMITED,
    }
)


# Failures that depend on the other side (the server, the page, its robots.txt) and so may be gone on a
# later day: an item given up on for one of these is tried again from its feed after a back-off. The others
# are the item's own (no link, a URL we refuse) or ours (a bug): the same entry would fail the same way.
WORTH_ANOTHER_DAY = TRANSIENT | frozenset(
    {
        Reason.HTTP_ERROR,
        Reason.TOO_MANY_REDIRECTS,
        Reason.TOO_LARGE,
        Reason.BAD_CONTENT_TYPE,
        Reason.BINARY_BODY,
        Reason.EMPTY_BODY,
        Reason.ROBOTS_DISALLOWED,
        Reason.FILE_ERROR,
        Reason.NO_TEXT,
        Reason.TEXT_TOO_SHORT,
        Reason.EXTRACTION_FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why something was refused. ``detail`` is for people; ``reason`` is for code."""

    reason: Reason
    detail: str = ""
    url: str | None = None

    @property
    def transient(self) -> bool:
        return self.reason in TRANSIENT

    @property
    def worth_another_day(self) -> bool:
        return self.reason in WORTH_ANOTHER_DAY

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"{self.reason.value}: {self.detail}{where}" if self.detail else f"{self.reason.value}{where}"
