"""Writes articles and events to Elasticsearch idempotently, one attempt at a time.

* Articles: id = article_id, external version = revision, so a replay rewrites the same document and a
  late, older revision never overwrites a newer one.
* Events: id = event_id; a report of a known event is merged into it (article_ids union) with optimistic
  concurrency (if_seq_no / if_primary_term), because scripted upserts need painless, which the local test
  distribution lacks.

Each write sorts every document into one of four outcomes: written, stale (an older revision), *held*
(Elasticsearch could not take it now: 429, 5xx, a write block; the caller retries it later, however long that
takes) or *refused* (Elasticsearch refuses this document itself, e.g. a mapping error: the caller dead-letters
it). A whole request that fails is either ``ElasticsearchUnavailable`` (retry later) or ``RequestRefused``
(permanent: credentials, permissions, a missing index; retrying cannot help). A request too large for the node
(413) is split until each document goes alone; one still too large is refused for itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

import structlog
from elasticsearch import ApiError, Elasticsearch, TransportError

from pipeline.errors import EXIT_DATA_ERROR, EXIT_NO_PERMISSION, EXIT_NOT_FOUND, PipelineError
from pipeline.index.documents import article_document, event_document, merge_event
from pipeline.index.es import JSON
from pipeline.records import EnrichedArticle, Event

log = structlog.get_logger(__name__)

# Per-item statuses worth retrying: overload and server-side failures pass.
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}
# Item errors that concern the whole index, not the document: every other document fails alike.
INDEX_UNAVAILABLE = {"index_not_found_exception", "index_closed_exception"}
# Two indexers merging into one event conflict now and then; rounds beyond this mean something is wrong.
MAX_MERGE_ROUNDS = 6
# Well below Elasticsearch's default http.max_content_length (100 MB), so a batch of large articles is never a
# 413 there; a node configured lower gets smaller requests (see _bulk_request).
MAX_BULK_BYTES = 8_000_000
TOO_LARGE_ALONE = "the document alone is larger than the node's http.max_content_length"


class ElasticsearchUnavailable(Exception):
    """The whole request failed for a reason that passes: unreachable, overloaded, write-blocked."""


class RequestRefused(PipelineError):
    """The whole request was refused for good (401, 403 not a block, a missing or closed index)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(
            f"Elasticsearch refused the indexer's request ({status}): {reason}",
            hint=(
                "retrying cannot help, so the indexer stopped. Check the credentials "
                "(PIPELINE_ELASTICSEARCH_API_KEY) and the role's index privileges, and that the indices exist and "
                "are open (`pipeline setup`); then start it again. Uncommitted messages are read again."
            ),
        )
        self.status = status
        self.reason = reason
        self.exit_code = (
            EXIT_NO_PERMISSION if status in (401, 403) else EXIT_NOT_FOUND if "index_" in reason else EXIT_DATA_ERROR
        )


@dataclass(frozen=True)
class SinkFailure:
    doc_id: str
    reason: str
    status: int


@dataclass
class SinkReport:
    written: int = 0
    stale: int = 0
    failures: list[SinkFailure] = field(default_factory=list)  # refused: to be dead-lettered
    held: list[SinkFailure] = field(default_factory=list)  # not taken now: to be retried


def is_write_block(status: int, error: Any) -> bool:
    """A 403 that is a cluster or index block (disk watermark, read-only index): lifted by an operator."""
    return status == 403 and isinstance(error, dict) and error.get("type") == "cluster_block_exception"


def is_not_permitted(status: int, result: dict[str, Any]) -> bool:
    """A per-document 401/403 that is not a write block: the credentials or the role, so every document of the
    batch fails alike; dead-lettering them would empty the topic into the dead letters."""
    return status in (401, 403) and not is_write_block(status, result.get("error"))


def _status_and_error(exc: ApiError) -> tuple[int, Any]:
    body = exc.body if isinstance(exc.body, dict) else {}
    return int(exc.status_code or 0), body.get("error", exc.message)


def _raise_for_request(exc: Exception) -> NoReturn:
    """Translate a failed request into ElasticsearchUnavailable or RequestRefused."""
    if isinstance(exc, ApiError):
        status, error = _status_and_error(exc)
        if status in TRANSIENT_STATUSES or is_write_block(status, error):
            raise ElasticsearchUnavailable(f"{status} {_reason({'error': error})}") from exc
        raise RequestRefused(status, _reason({"error": error})) from exc
    raise ElasticsearchUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _chunks(operations: list[dict[str, Any]]) -> Iterator[list[bytes]]:
    """Action/document pairs in bulk requests of at most MAX_BULK_BYTES (one oversized pair goes alone), each
    line serialised here as the client would, once: the client passes bytes through, and their length is the
    request's size."""
    chunk: list[bytes] = []
    size = 0
    for action, document in zip(operations[::2], operations[1::2], strict=True):
        pair = [JSON.json_dumps(action) + b"\n", JSON.json_dumps(document) + b"\n"]
        pair_size = len(pair[0]) + len(pair[1])
        if chunk and size + pair_size > MAX_BULK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk += pair
        size += pair_size
    if chunk:
        yield chunk


class ElasticsearchSink:
    def __init__(self, client: Elasticsearch, articles_index: str, events_index: str) -> None:
        self.client = client
        self.articles_index = articles_index
        self.events_index = events_index

    def _bulk(self, operations: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
        """Bulk requests for ``operations``; (status, result) per document, in order."""
        results: list[tuple[int, dict[str, Any]]] = []
        for chunk in _chunks(operations):
            results += self._bulk_request(chunk)
        return results

    def _bulk_request(self, chunk: list[bytes]) -> list[tuple[int, dict[str, Any]]]:
        """One bulk request. A request over the node's ``http.max_content_length`` (413, which may be set far
        below our MAX_BULK_BYTES) is halved until it fits; a document over the limit alone is refused for itself."""
        try:
            response = self.client.bulk(operations=cast(Any, chunk), refresh=False)  # lines already serialised
        except ApiError as exc:
            if exc.status_code != 413:
                _raise_for_request(exc)
            if len(chunk) == 2:
                return [(413, {"error": {"type": "request_entity_too_large", "reason": TOO_LARGE_ALONE}})]
            half = len(chunk) // 4 * 2  # action/document pairs stay together
            return self._bulk_request(chunk[:half]) + self._bulk_request(chunk[half:])
        except TransportError as exc:
            _raise_for_request(exc)
        results: list[tuple[int, dict[str, Any]]] = []
        for item in response["items"]:
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if (result.get("error") or {}).get("type") in INDEX_UNAVAILABLE or is_not_permitted(status, result):
                raise RequestRefused(status, _reason(result))
            results.append((status, result))
        return results

    def write_articles(self, articles: Sequence[EnrichedArticle]) -> SinkReport:
        # The highest revision of each article wins (the later one of equal revisions), whatever the order.
        latest: dict[str, EnrichedArticle] = {}
        for article in articles:
            known = latest.get(article.article_id)
            if known is None or article.revision >= known.revision:
                latest[article.article_id] = article
        return self.write_article_documents({doc_id: article_document(a) for doc_id, a in latest.items()})

    def write_article_documents(self, latest: dict[str, dict[str, Any]]) -> SinkReport:
        """Article documents by id, each versioned by its revision (also how ``pipeline reindex`` copies)."""
        report = SinkReport()
        operations: list[dict[str, Any]] = []
        for doc_id, doc in latest.items():
            operations.append(
                {
                    "index": {
                        "_index": self.articles_index,
                        "_id": doc_id,
                        "version": doc["revision"],
                        "version_type": "external_gte",
                    }
                }
            )
            operations.append(doc)
        for doc_id, (status, result) in zip(latest, self._bulk(operations), strict=True):
            if status < 300:
                report.written += 1
            elif status == 409:
                report.stale += 1  # a newer revision is already indexed
            else:
                _sort_failure(report, doc_id, status, result)
        return report

    def write_events(self, events: Sequence[Event]) -> SinkReport:
        pending: dict[str, dict[str, Any]] = {}
        for event in events:
            doc = event_document(event)
            known = pending.get(event.event_id)
            pending[event.event_id] = merge_event(known, doc) if known else doc
        return self.merge_event_documents(pending)

    def merge_event_documents(self, pending: dict[str, dict[str, Any]]) -> SinkReport:
        """Event documents by id, each merged into the indexed one (also how ``pipeline reindex`` copies)."""
        report = SinkReport()
        for merge_round in range(MAX_MERGE_ROUNDS):
            if not pending:
                break
            try:
                found = self.client.mget(index=self.events_index, ids=list(pending))["docs"]
            except (TransportError, ApiError) as exc:
                _raise_for_request(exc)
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
            conflicts: dict[str, dict[str, Any]] = {}
            for existing, (status, result) in zip(found, self._bulk(operations), strict=True):
                doc_id = existing["_id"]
                if status < 300:
                    report.written += 1
                elif status == 409:
                    conflicts[doc_id] = pending[doc_id]  # someone else wrote it meanwhile: merge again
                else:
                    _sort_failure(report, doc_id, status, result)
            pending = conflicts
            if pending:
                time.sleep(0.05 * 2**merge_round)
        for doc_id in pending:
            report.failures.append(
                SinkFailure(doc_id, f"merge conflict persisted after {MAX_MERGE_ROUNDS} rounds", 409)
            )
        return report


def _sort_failure(report: SinkReport, doc_id: str, status: int, result: dict[str, Any]) -> None:
    failure = SinkFailure(doc_id, _reason(result), status)
    if status in TRANSIENT_STATUSES or is_write_block(status, result.get("error")):
        report.held.append(failure)
    else:
        report.failures.append(failure)


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error") or {}
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"[:1000]
    return str(error)[:1000]
