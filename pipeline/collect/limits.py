"""Upper bounds on every text field the collector takes from a feed or a page and puts into a message.

Feeds are untrusted: a link, a title or an author name can be as long as the document allows (megabytes).
Uncapped, one such field makes a message larger than the broker takes, and a send that fails for good stops
the run at that item on every restart. Each field therefore has a cap here; links longer than
``MAX_URL_CHARS`` are refused (a truncated URL would point elsewhere), other text is cut.
"""

from __future__ import annotations

import hashlib

# RFC 9110 asks for at least 8,000 octets of request line; longer links are not worth following.
MAX_URL_CHARS = 8_192
MAX_TITLE_CHARS = 1_000
MAX_AUTHOR_CHARS = 200
MAX_AUTHORS = 20
MAX_SITE_NAME_CHARS = 200
MAX_LANGUAGE_CHARS = 35  # the longest BCP 47 tag worth keeping
MAX_GUID_CHARS = 2_000
MAX_SUMMARY_CHARS = 2_000  # of an item kept in its dead letter
# A dead letter's key is what `deadletters list` shows and what partitions the letter; 1 KiB is plenty.
MAX_KEY_CHARS = 1_024
MAX_REASON_CHARS = 500

_CUT_MARK = "…"


def cut(text: str, limit: int) -> str:
    """``text`` no longer than ``limit`` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(_CUT_MARK))] + _CUT_MARK


def bounded_key(key: str, limit: int = MAX_KEY_CHARS) -> str:
    """A message key no longer than ``limit``: a long key keeps its head and a digest of the whole, so two
    long keys that share a head stay distinct and the same key always shortens the same way."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    suffix = f"{_CUT_MARK}#{digest}"
    return key[: max(0, limit - len(suffix))] + suffix
