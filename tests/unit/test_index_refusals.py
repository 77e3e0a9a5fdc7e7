"""How the sink sorts what Elasticsearch answers: hold (transient, a write block), refuse one document
(dead letter), or refuse the whole request (stop). The requests themselves are tested against real nodes in
tests/integration/test_index_refusals.py and test_indexer_faults.py; here the answers are canned."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from pipeline.errors import EXIT_NO_PERMISSION
from pipeline.index.sink import ElasticsearchSink, ElasticsearchUnavailable, RequestRefused
from pipeline.records import EnrichedArticle
from tests.factories import sample_enriched

BLOCK = {"type": "cluster_block_exception", "reason": "index [a] blocked by: [FORBIDDEN/8/index write (api)];"}
NO_PRIVILEGE = {"type": "security_exception", "reason": "action [indices:data/write/bulk[s]] is unauthorized"}


def article(n: int, prefix: str = "a") -> EnrichedArticle:
    return sample_enriched().model_copy(update={"article_id": f"art_{prefix}_{n}"})


def api_error(status: int, error: Any = None) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError(str(status), meta, {"error": error, "status": status} if error else "")


class CannedNode:
    """Answers bulk requests with one canned item result, or raises for a request over ``max_bytes``."""

    def __init__(self, item: dict[str, Any] | None = None, error: ApiError | None = None, max_bytes: int = 0):
        self.item, self.error, self.max_bytes = item, error, max_bytes
        self.requests: list[int] = []

    def bulk(self, operations: list[bytes], refresh: bool) -> dict[str, Any]:
        """``operations``: the request's lines, serialised by the sink (the client sends bytes as they are)."""
        self.requests.append(len(operations) // 2)
        if self.error:
            raise self.error
        if self.max_bytes and len(b"".join(operations)) > self.max_bytes:
            raise api_error(413)
        return {"items": [{"index": self.item or {"status": 201}} for _ in operations[::2]]}


def sink(node: CannedNode) -> ElasticsearchSink:
    return ElasticsearchSink(node, "articles", "events")  # type: ignore[arg-type]


def test_a_write_block_and_overload_are_held_and_a_bad_document_is_refused() -> None:
    for status, error in ((403, BLOCK), (429, {"type": "es_rejected_execution_exception"}), (503, {"type": "x"})):
        report = sink(CannedNode({"status": status, "error": error})).write_articles([article(1)])
        assert [f.status for f in report.held] == [status] and report.failures == []
    report = sink(CannedNode({"status": 400, "error": {"type": "mapper_parsing_exception"}})).write_articles(
        [article(1)]
    )
    assert [f.status for f in report.failures] == [400] and report.held == []


def test_a_document_refused_for_lack_of_privileges_stops_the_batch_instead_of_dead_lettering_it() -> None:
    with pytest.raises(RequestRefused) as refused:
        sink(CannedNode({"status": 403, "error": NO_PRIVILEGE})).write_articles([article(1), article(2)])
    assert refused.value.status == 403 and refused.value.exit_code == EXIT_NO_PERMISSION


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_stop_and_a_blocked_cluster_is_held(status: int) -> None:
    with pytest.raises(RequestRefused) as refused:
        sink(CannedNode(error=api_error(status, NO_PRIVILEGE))).write_articles([article(1)])
    assert refused.value.exit_code == EXIT_NO_PERMISSION
    with pytest.raises(ElasticsearchUnavailable):  # cluster.blocks.read_only, the disk flood stage
        sink(CannedNode(error=api_error(403, BLOCK))).write_articles([article(1)])


def test_a_request_too_large_for_the_node_is_halved_until_only_a_document_too_large_alone_is_refused() -> None:
    small = [article(n, "small") for n in range(6)]
    huge = article(9, "huge").model_copy(update={"text": "x" * 20_000})
    node = CannedNode(max_bytes=12_000)
    report = sink(node).write_articles([*small[:3], huge, *small[3:]])
    assert report.written == 6 and [f.doc_id for f in report.failures] == [huge.article_id]
    assert report.failures[0].status == 413 and "http.max_content_length" in report.failures[0].reason
    assert node.requests[0] == 7 and 1 in node.requests


def test_missing_fields_names_what_a_newer_template_added() -> None:
    from pipeline.index.es import missing_fields

    template = {
        "title": {"type": "text"},
        "main_event_type": {"type": "keyword"},
        "place": {"properties": {"name": {"type": "keyword"}, "country": {"type": "keyword"}}},
        "source": {"properties": {"name": {"type": "keyword"}}},
    }
    index = {"title": {"type": "text"}, "place": {"properties": {"name": {"type": "keyword"}}}}
    assert missing_fields(index, template) == ["main_event_type", "place.country", "source"]
    assert missing_fields(template, template) == []
