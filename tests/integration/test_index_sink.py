"""The Elasticsearch sink against the real node: idempotent writes, revisions, event merging, refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from pipeline.index.es import delete_indices, ensure_indices
from pipeline.index.sink import ElasticsearchSink
from pipeline.records import ArticleRef
from pipeline.settings import Settings
from tests.factories import sample_enriched, sample_event

pytestmark = pytest.mark.integration


@pytest.fixture()
def sink(es_url: str) -> Iterator[ElasticsearchSink]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        elasticsearch_url=es_url, index_articles=f"it-{suffix}-articles", index_events=f"it-{suffix}-events"
    )
    client = Elasticsearch(es_url)
    ensure_indices(client, settings)
    yield ElasticsearchSink(client, settings.index_articles, settings.index_events)
    delete_indices(client, settings)


def _count(sink: ElasticsearchSink, index: str) -> int:
    sink.client.indices.refresh(index=index)
    return int(sink.client.count(index=index)["count"])


def test_replayed_articles_overwrite_and_old_revisions_are_ignored(sink: ElasticsearchSink) -> None:
    first = sample_enriched()
    newer = first.model_copy(update={"revision": 2, "title": "Updated"})
    assert sink.write_articles([first]).written == 1
    assert sink.write_articles([first]).written == 1  # replay: same id, same revision
    assert sink.write_articles([newer]).written == 1
    report = sink.write_articles([first])  # a late, older revision
    assert report.stale == 1 and not report.failures
    assert _count(sink, sink.articles_index) == 1
    stored = sink.client.get(index=sink.articles_index, id=first.article_id)["_source"]
    assert stored["title"] == "Updated" and stored["revision"] == 2


def test_two_reports_of_one_event_merge_into_one_document(sink: ElasticsearchSink) -> None:
    event = sample_event()
    other_ref = ArticleRef(article_id="art_other", url="https://other.example/x", title="Other report")
    other = event.model_copy(
        update={"article_id": "art_other", "article_ids": ["art_other"], "articles": [other_ref], "confidence": 0.95}
    )
    sink.write_events([event])
    sink.write_events([other])
    sink.write_events([event])  # replay
    assert _count(sink, sink.events_index) == 1
    stored = sink.client.get(index=sink.events_index, id=event.event_id)["_source"]
    assert stored["article_ids"] == sorted([event.article_id, "art_other"])
    assert stored["confidence"] == pytest.approx(0.95)
    assert {ref["article_id"]: ref["title"] for ref in stored["articles"]} == {
        event.article_id: "Launch",
        "art_other": "Other report",
    }
    assert stored["location"]["point"] == {"lat": 37.566, "lon": 126.978}


def test_a_document_the_mapping_refuses_comes_back_as_a_failure(sink: ElasticsearchSink) -> None:
    # An index whose strict mapping knows none of the article's fields: a permanent refusal (400),
    # which must come back for dead-lettering instead of being retried forever.
    refusing = f"refusing-{uuid.uuid4().hex[:8]}"  # outside the templates' index patterns
    sink.client.indices.create(index=refusing, mappings={"dynamic": "strict", "properties": {"x": {"type": "keyword"}}})
    try:
        report = ElasticsearchSink(sink.client, refusing, sink.events_index).write_articles([sample_enriched()])
        assert report.written == 0
        assert report.failures and report.failures[0].status == 400
        assert "strict_dynamic_mapping" in report.failures[0].reason
    finally:
        sink.client.indices.delete(index=refusing)
