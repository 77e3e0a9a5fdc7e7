"""Is this article new, a new revision, unchanged, or somebody else's story again?

Three checks, cheapest first:

1. Same article id (same canonical URL): unchanged text -> nothing to do; changed text -> next revision.
2. Exact content hash of the normalised text seen under another id -> duplicate of that article.
3. MinHash LSH over word 3-shingles: estimated Jaccard similarity at or above the threshold with an earlier
   article -> duplicate of it. This catches syndicated copies (agency stories re-published with another
   headline, byline or footer) that an exact hash misses.

Duplicates are remembered (so they stay duplicates on the next poll) but never published.

The in-memory index of check 3 is a window: the articles of the last ``window_seconds`` (7 days by default),
at most ``max_entries`` of them (50,000, about 165 MB), oldest out first. Syndicated copies come within hours
or days of their original; an exact copy of an older story is still caught by check 2, which reads the store.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from datasketch import LeanMinHash, MinHash, MinHashLSH

from pipeline.collect.state import ArticleState, StateStore

SHINGLE_WORDS = 3
# Below this many words a shingle set is too small for a similarity estimate to mean anything; such texts
# are only compared exactly.
MIN_WORDS_FOR_NEAR_DUP = 25
_WORD = re.compile(r"\w+", re.UNICODE)

Verdict = Literal["new", "updated", "unchanged", "duplicate"]


def normalize_text(text: str) -> str:
    """The text as compared: Unicode-normalised (NFKC) and with whitespace runs collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def words(text: str) -> list[str]:
    return _WORD.findall(normalize_text(text).casefold())


def shingles(tokens: list[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    if len(tokens) < size:
        return {" ".join(tokens).encode("utf-8")} if tokens else set()
    return {" ".join(tokens[i : i + size]).encode("utf-8") for i in range(len(tokens) - size + 1)}


def signature(text: str, num_perm: int = 128) -> LeanMinHash | None:
    """MinHash of the text's word shingles, or None when the text is too short to compare fuzzily."""
    tokens = words(text)
    if len(tokens) < MIN_WORDS_FOR_NEAR_DUP:
        return None
    sketch = MinHash(num_perm=num_perm, seed=1)
    sketch.update_batch(sorted(shingles(tokens)))
    return LeanMinHash(sketch)


def signature_to_bytes(sig: LeanMinHash) -> bytes:
    buffer = bytearray(sig.bytesize())
    sig.serialize(buffer)
    return bytes(buffer)


def signature_from_bytes(blob: bytes) -> LeanMinHash:
    return LeanMinHash.deserialize(blob)


DEFAULT_WINDOW_SECONDS = 7 * 24 * 3600.0
DEFAULT_MAX_ENTRIES = 50_000


class NearDuplicateIndex:
    """In-memory LSH over the signatures of recent articles; candidates are confirmed with the estimated
    Jaccard. Bounded: at most ``max_entries`` signatures, none older than ``window_seconds`` (by the time each
    was added), the oldest going first."""

    def __init__(
        self,
        threshold: float,
        num_perm: int = 128,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
    ) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.max_entries = max(1, max_entries)
        self.window_seconds = window_seconds
        # The LSH only proposes candidates; they are confirmed against ``threshold`` below. Very high
        # thresholds leave datasketch too few bands to work with, so candidate search is capped at 0.9.
        self._lsh = MinHashLSH(threshold=min(threshold, 0.9), num_perm=num_perm)
        self._signatures: dict[str, LeanMinHash] = {}
        self._added_at: OrderedDict[str, float] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, key: str) -> bool:
        return key in self._signatures

    def add(self, key: str, sig: LeanMinHash, at: float) -> None:
        if key in self._signatures:
            self.remove(key)
        self._lsh.insert(key, sig)
        self._signatures[key] = sig
        self._added_at[key] = at
        self.expire(at)

    def expire(self, now: float) -> None:
        """Drop the oldest signatures while there are too many or they are older than the window."""
        horizon = now - self.window_seconds
        while self._added_at:
            oldest, added = next(iter(self._added_at.items()))
            if len(self._added_at) <= self.max_entries and added >= horizon:
                break
            self.remove(oldest)

    def remove(self, key: str) -> None:
        if key in self._signatures:
            self._lsh.remove(key)
            del self._signatures[key]
            del self._added_at[key]

    def best_match(self, sig: LeanMinHash, exclude: str | None = None) -> tuple[str, float] | None:
        best: tuple[str, float] | None = None
        for key in self._lsh.query(sig):
            if key == exclude:
                continue
            similarity = float(sig.jaccard(self._signatures[key]))
            # Ties go to the earlier key so the "original" is stable whatever the query order.
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (str(key), similarity)
        return best


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    article_id: str
    revision: int
    content_hash: str
    duplicate_of: str | None = None
    similarity: float | None = None

    @property
    def publish(self) -> bool:
        return self.verdict in ("new", "updated")


class Deduplicator:
    """Decides and records. Call inside ``StateStore.transaction`` so a failed publish undoes the record."""

    def __init__(
        self,
        store: StateStore,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        clock: Callable[[], float] = time.time,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
    ) -> None:
        self.store = store
        self.num_perm = num_perm
        self._clock = clock
        self.index = NearDuplicateIndex(threshold, num_perm, max_entries=max_entries, window_seconds=window_seconds)
        self.reload()

    def reload(self) -> None:
        """Rebuild the in-memory index from the store (at start, and after a rolled-back transaction): the
        signatures of the window, oldest first, so the index ends holding the newest."""
        old = self.index
        self.index = NearDuplicateIndex(
            old.threshold, self.num_perm, max_entries=old.max_entries, window_seconds=old.window_seconds
        )
        for article_id, blob, created_at in self.store.signatures(newer_than=self._clock() - old.window_seconds):
            self.index.add(article_id, signature_from_bytes(blob), created_at)

    def judge(self, article_id: str, canonical_url: str, text: str) -> Decision:
        digest = content_hash(text)
        now = self._clock()
        known = self.store.get_article(article_id)
        if known is not None and known.content_hash == digest:
            return Decision("unchanged", article_id, known.revision, digest, known.duplicate_of)
        if known is not None and known.duplicate_of is None:
            return self._record_revision(known, text, digest, now)
        # A new URL, or a known duplicate whose text changed (which may make it a story of its own).
        sig = signature(text, self.num_perm)
        original = self.store.find_original_by_hash(digest)
        match: tuple[str, float] | None = (original.article_id, 1.0) if original else None
        if match is None and sig is not None:
            match = self.index.best_match(sig, exclude=article_id)
        first_seen = known.first_seen_at if known else now
        if match is not None:
            self.store.save_article(ArticleState(article_id, canonical_url, digest, 1, match[0], first_seen, now))
            return Decision("duplicate", article_id, 1, digest, match[0], match[1])
        self.store.save_article(ArticleState(article_id, canonical_url, digest, 1, None, first_seen, now))
        if sig is not None:
            self.store.save_signature(article_id, signature_to_bytes(sig), now)
            self.index.add(article_id, sig, now)
        return Decision("new", article_id, 1, digest)

    def _record_revision(self, known: ArticleState, text: str, digest: str, now: float) -> Decision:
        revision = known.revision + 1
        self.store.save_article(
            ArticleState(known.article_id, known.canonical_url, digest, revision, None, known.first_seen_at, now)
        )
        sig = signature(text, self.num_perm)
        # The index follows the latest text, so copies of the revised story match it.
        if sig is not None:
            self.store.save_signature(known.article_id, signature_to_bytes(sig), now)
            self.index.add(known.article_id, sig, now)
        else:
            self.store.delete_signature(known.article_id)
            self.index.remove(known.article_id)
        return Decision("updated", known.article_id, revision, digest)
