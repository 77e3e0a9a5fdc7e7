"""Writes articles and events to Elasticsearch idempotently.

* Articles: id = article_id, external version = revision, so a replay rewrites the same document and a
  late, older revision never overwrites a newer one.
* Events: id = event_id; a report of a known event is merged into it (article_ids union) with optimistic
  concurrency (if_seq_no / if_primary_term), because scripted upserts need painless, which the local test
  distribution lacks.

Transient failures (connection, 429, 5xx) are retried with exponential backoff; items Elasticsearch refuses
for good (e.g. a mapping error) come back as ``SinkFailure`` for the caller to dead-letter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from elasticsearch import ApiError, Elasticsearch, TransportError

from pipeline.index.documents import article_document, event_document, merge_event
from pipeline.records import EnrichedArticle, Event

log = structlog.get_logger(__name__)

TRANSIENT_STATUSES = {429, 502, 503, 504}
MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class SinkFailure:
    doc_id: str
    reason: str
    status: int


@dataclass
class SinkReport:
    written: int = 0
    stale: int = 0
    failures: list[SinkFailure] = field(default_factory=list)


def _backoff(attempt: int) -> float:
    return float(min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2))


class ElasticsearchSink:
    def __init__(self, client: Elasticsearch, articles_index: str, events_index: str) -> None:
        self.client = client
        self.articles_index = articles_index
        self.events_index = events_index

    def _bulk(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One bulk call, retried as a whole on transport errors. Returns the per-item results."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = self.client.bulk(operations=operations, refresh=False)
                return [next(iter(item.values())) for item in response["items"]]
            except (TransportError, ApiError) as exc:
                status = getattr(exc, "status_code", None) or getattr(getattr(exc, "meta", None), "status", 0)
                if isinstance(exc, ApiError) and status not in TRANSIENT_STATUSES:
                    raise
                delay = _backoff(attempt)
                log.warning("bulk failed, retrying", error=str(exc), attempt=attempt + 1, delay=round(delay, 2))
                time.sleep(delay)
        raise RuntimeError(f"Elasticsearch bulk failed after {MAX_ATTEMPTS} attempts")

    def write_articles(self, articles: Sequence[EnrichedArticle]) -> SinkReport:
        report = SinkReport()
        pending = {a.article_id: a for a in articles}  # last revision in the batch wins
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                break
            operations: list[dict[str, Any]] = []
            for article in pending.values():
                operations.append(
                    {
                        "index": {
                            "_index": self.articles_index,
                            "_id": article.article_id,
                            "version": article.revision,
                            "version_type": "external_gte",
                        }
                    }
                )
                operations.append(article_document(article))
            results = self._bulk(operations)
            retry: dict[str, EnrichedArticle] = {}
            for article, result in zip(pending.values(), results, strict=True):
                status = int(result.get("status", 500))
                if status < 300:
                    report.written += 1
                elif status == 409:
                    report.stale += 1  # a newer revision is already indexed
                elif status in TRANSIENT_STATUSES:
                    retry[article.article_id] = article
                else:
                    report.failures.append(SinkFailure(article.article_id, _reason(result), status))
            pending = retry
            if pending:
                time.sleep(_backoff(attempt))
        self._give_up(pending.keys(), report)
        return report

    def write_events(self, events: Sequence[Event]) -> SinkReport:
        report = SinkReport()
        incoming: dict[str, dict[str, Any]] = {}
        for event in events:
            doc = event_document(event)
            known = incoming.get(event.event_id)
            incoming[event.event_id] = merge_event(known, doc) if known else doc
        pending = incoming
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                break
            found = self.client.mget(index=self.events_index, ids=list(pending))["docs"]
            operations: list[dict[str, Any]] = []
            for existing in found:
                doc_id = existing["_id"]
                if existing.get("found"):
                    operations.append(
                        {
                            "index": {
                                "_index": self.events_index,
                                "_id": doc_id,
                                "if_seq_no": existing["_seq_no"],
                                "if_primary_term": existing["_primary_term"],
                            }
                        }
                    )
                    operations.append(merge_event(existing["_source"], pending[doc_id]))
                else:
                    operations.append({"create": {"_index": self.events_index, "_id": doc_id}})
                    operations.append(pending[doc_id])
            results = self._bulk(operations)
            retry: dict[str, dict[str, Any]] = {}
            for existing, result in zip(found, results, strict=True):
                doc_id = existing["_id"]
                status = int(result.get("status", 500))
                if status < 300:
                    report.written += 1
                elif status == 409 or status in TRANSIENT_STATUSES:
                    retry[doc_id] = pending[doc_id]  # someone else wrote it meanwhile: merge again
                else:
                    report.failures.append(SinkFailure(doc_id, _reason(result), status))
            pending = retry
            if pending:
                time.sleep(_backoff(attempt) / 4)
        self._give_up(pending.keys(), report)
        return report

    @staticmethod
    def _give_up(doc_ids: Any, report: SinkReport) -> None:
        for doc_id in doc_ids:
            report.failures.append(SinkFailure(doc_id, "still failing after retries", 503))


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error") or {}
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"[:1000]
    return str(error)[:1000]
