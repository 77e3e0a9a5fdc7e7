"""EventFilter.to_es_query selects in the real index exactly what EventFilter.matches selects on the records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from pipeline.index.es import delete_indices, ensure_indices
from pipeline.index.sink import ElasticsearchSink
from pipeline.query.filters import EventFilter
from pipeline.settings import Settings
from tests.event_samples import FILTER_CASES, varied_events

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def events_index(es_url: str) -> Iterator[tuple[Elasticsearch, str]]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        elasticsearch_url=es_url, index_articles=f"it-{suffix}-q-articles", index_events=f"it-{suffix}-q-events"
    )
    client = Elasticsearch(es_url, request_timeout=30)
    ensure_indices(client, settings)
    report = ElasticsearchSink(client, settings.index_articles, settings.index_events).write_events(varied_events())
    assert not report.failures
    client.indices.refresh(index=settings.index_events)
    yield client, settings.index_events
    delete_indices(client, settings)


@pytest.mark.parametrize(("arguments", "expected"), FILTER_CASES, ids=[str(a) for a, _ in FILTER_CASES])
def test_es_query_selects_what_matches_selects(
    events_index: tuple[Elasticsearch, str], arguments: dict[str, object], expected: set[int]
) -> None:
    client, index = events_index
    event_filter = EventFilter.parse(**arguments)  # type: ignore[arg-type]
    response = client.search(index=index, query=event_filter.to_es_query(), size=100)
    found = {hit["_id"] for hit in response["hits"]["hits"]}
    events = varied_events()
    assert found == {events[n - 1].event_id for n in expected}
    assert found == {e.event_id for e in events if event_filter.matches(e.model_dump(mode="json"))}
