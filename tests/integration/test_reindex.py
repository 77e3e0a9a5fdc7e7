"""``pipeline reindex`` against the real Elasticsearch: a new version built and switched to while writes
keep coming, and none of them lost; an index from before versioning moved behind an alias."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from rich.console import Console

from pipeline.index.es import delete_indices, ensure_indices, make_client
from pipeline.index.lifecycle import next_version, reindex, resolve_alias
from pipeline.index.sink import ElasticsearchSink, ElasticsearchUnavailable
from pipeline.ops.cli import status_view
from pipeline.ops.status import CollectorStatus, KafkaStatus, StatusReport, gather_elasticsearch
from pipeline.records import EnrichedArticle, Event
from pipeline.settings import Settings
from tests.factories import sample_enriched, sample_event

pytestmark = pytest.mark.integration


@pytest.fixture()
def indexed(settings: Settings, es_url: str) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:8]
    mine = settings.model_copy(
        update={"index_articles": f"it-reindex-{suffix}-articles", "index_events": f"it-reindex-{suffix}-events"}
    )
    client = make_client(mine, request_timeout=60)
    yield mine
    delete_indices(client, mine)


class Writer:
    """Writes like the indexer (through the aliases, retrying what is held) until stopped, and remembers what
    must end up indexed: each article's newest revision, each event's reporting articles."""

    def __init__(self, sink: ElasticsearchSink) -> None:
        self.sink = sink
        self.revisions: dict[str, int] = {}
        self.reports: dict[str, set[str]] = {}
        self.batches = 0
        self.retries = 0  # batches held (e.g. by the old index's write block) and written again
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _batch(self, number: int) -> tuple[list[EnrichedArticle], list[Event]]:
        base, event = sample_enriched(), sample_event()
        articles = [base.model_copy(update={"article_id": f"a{number}-{i}", "revision": 1}) for i in range(5)]
        if number >= 3:  # a new revision of an article written earlier
            articles.append(base.model_copy(update={"article_id": f"a{number - 3}-0", "revision": 2}))
        events = [
            event.model_copy(
                update={
                    "event_id": f"e{(number + i) % 25}",
                    "article_id": f"a{number}-{i}",
                    "article_ids": [],
                    "articles": [],
                }
            )
            for i in range(3)
        ]
        return articles, events

    def _run(self) -> None:
        try:
            number = 0
            while not self.stop.is_set():
                articles, events = self._batch(number)
                while True:
                    try:
                        written = self.sink.write_articles(articles), self.sink.write_events(events)
                    except ElasticsearchUnavailable:  # e.g. the old index's write block: held, retried
                        self.retries += 1
                        time.sleep(0.2)
                        continue
                    assert not any(report.failures for report in written), written
                    if not any(report.held for report in written):
                        break
                    self.retries += 1
                    time.sleep(0.2)
                for article in articles:
                    self.revisions[article.article_id] = max(
                        article.revision, self.revisions.get(article.article_id, 0)
                    )
                for e in events:
                    self.reports.setdefault(e.event_id, set()).add(e.article_id)
                number += 1
                self.batches = number
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def wait_for(self, batches: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.batches < batches:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"the writer wrote only {self.batches} batches"
            time.sleep(0.1)


def _all(client: Elasticsearch, index: str) -> list[dict[str, Any]]:
    client.indices.refresh(index=index)
    return client.search(index=index, size=10_000, version=True, query={"match_all": {}})["hits"]["hits"]


def test_reindex_under_load_loses_no_write(indexed: Settings) -> None:
    client = make_client(indexed, request_timeout=60)
    ensure_indices(client, indexed)
    assert resolve_alias(client, indexed.index_articles) == (f"{indexed.index_articles}-v1", True)
    sink = ElasticsearchSink(client, indexed.index_articles, indexed.index_events)
    base = sample_enriched()
    # Enough documents that copying takes several seconds, while the writer goes on.
    for chunk in range(6):
        sink.write_articles([base.model_copy(update={"article_id": f"seed-{chunk}-{i}"}) for i in range(500)])
    writer = Writer(sink)
    writer.revisions.update({f"seed-{chunk}-{i}": base.revision for chunk in range(6) for i in range(500)})
    writer.thread.start()
    try:
        writer.wait_for(10)
        during = writer.batches
        articles = reindex(client, "articles", indexed.index_articles)
        events = reindex(client, "events", indexed.index_events)
        print(f"batches written during the reindex: {writer.batches - during}, held and retried: {writer.retries}")
        assert writer.batches > during, "the writes were expected to go on during the reindex"
        writer.wait_for(writer.batches + 5)
    finally:
        writer.stop.set()
        writer.thread.join(timeout=60)
    assert writer.error is None, writer.error

    assert (articles.target, events.target) == (f"{indexed.index_articles}-v2", f"{indexed.index_events}-v2")
    assert resolve_alias(client, indexed.index_articles) == (articles.target, True)
    assert resolve_alias(client, indexed.index_events) == (events.target, True)
    indexed_articles = {hit["_id"]: hit["_source"]["revision"] for hit in _all(client, indexed.index_articles)}
    assert indexed_articles == writer.revisions  # every article, each at its newest revision
    indexed_events = {hit["_id"]: set(hit["_source"]["article_ids"]) for hit in _all(client, indexed.index_events)}
    assert indexed_events == writer.reports  # every event, with every report merged in
    # The old versions stay, read-only, for a roll-back.
    old = client.indices.get_settings(index=articles.source)[articles.source]["settings"]["index"]
    assert old["blocks"]["write"] == "true"


def test_an_index_from_before_versioning_moves_behind_an_alias(indexed: Settings) -> None:
    client = make_client(indexed, request_timeout=60)
    client.indices.create(index=indexed.index_articles)  # as setup made it before indices were versioned
    ensure_indices(client, indexed)
    assert resolve_alias(client, indexed.index_articles) == (indexed.index_articles, False)
    sink = ElasticsearchSink(client, indexed.index_articles, indexed.index_events)
    base = sample_enriched()
    sink.write_articles([base.model_copy(update={"article_id": f"old-{i}", "revision": 3}) for i in range(7)])

    report = reindex(client, "articles", indexed.index_articles)

    assert (report.source, report.target, report.source_deleted) == (
        indexed.index_articles,
        f"{indexed.index_articles}-v1",
        True,
    )
    assert resolve_alias(client, indexed.index_articles) == (report.target, True)
    hits = _all(client, indexed.index_articles)
    assert len(hits) == 7 and {hit["_version"] for hit in hits} == {3}  # the revisions stay the versions


def test_versions_are_numbered() -> None:
    assert next_version("news-events", "news-events-v1") == "news-events-v2"
    assert next_version("news-events", "news-events-v12") == "news-events-v13"
    assert next_version("news-events", "news-events") == "news-events-v1"


def test_reindex_command(indexed: Settings) -> None:
    from tests.cli_runs import run_pipeline

    client = make_client(indexed, request_timeout=60)
    ensure_indices(client, indexed)
    environment = {
        "PIPELINE_ELASTICSEARCH_URL": indexed.elasticsearch,
        "PIPELINE_INDEX_ARTICLES": indexed.index_articles,
        "PIPELINE_INDEX_EVENTS": indexed.index_events,
    }
    result = run_pipeline("reindex", "events", "--delete-old", env=environment)
    assert result.returncode == 0, result.stderr
    assert f"{indexed.index_events}: {indexed.index_events}-v1 → {indexed.index_events}-v2" in result.stdout
    assert resolve_alias(client, indexed.index_events) == (f"{indexed.index_events}-v2", True)
    assert not client.indices.exists(index=f"{indexed.index_events}-v1")
    assert resolve_alias(client, indexed.index_articles) == (f"{indexed.index_articles}-v1", True)


def _index_from_an_older_contract(client: Elasticsearch, settings: Settings) -> str:
    """The articles index as an earlier release made it: the template's mapping without ``main_event_type``."""
    from pipeline.contracts import index_template

    mappings = index_template("articles")["template"]["mappings"]
    older = {**mappings, "properties": {k: v for k, v in mappings["properties"].items() if k != "main_event_type"}}
    index = f"{settings.index_articles}-v1"
    client.indices.create(index=index, aliases={settings.index_articles: {}}, mappings=older)
    return index


def test_an_index_from_an_older_contract_gets_the_new_fields_only_when_asked(indexed: Settings) -> None:
    from tests.cli_runs import run_pipeline

    client = make_client(indexed, request_timeout=60)
    index = _index_from_an_older_contract(client, indexed)
    environment = indexed.as_env() | {
        f"PIPELINE_TOPIC_{kind}": f"it-upgrade-{uuid.uuid4().hex[:8]}.{kind.lower()}"
        for kind in ("RAW", "ENRICHED", "EVENTS", "DEAD_LETTER")
    }

    told = run_pipeline("setup", env=environment)  # an index made strict on purpose stays as it is
    assert told.returncode == 0, told.stderr
    assert "main_event_type" not in client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert "pipeline setup --upgrade-mappings" in told.stdout + told.stderr
    assert "main_event_type" in told.stdout + told.stderr
    articles = gather_elasticsearch(indexed).indices[0]
    assert articles.missing_fields == {index: ["main_event_type"]}  # `pipeline status` says so too
    report = StatusReport(
        "now", KafkaStatus("k", False), gather_elasticsearch(indexed), CollectorStatus("s", False), 0, 0, []
    )
    shown = Console(width=400, record=True)
    shown.print(status_view(report))
    told_by_status = shown.export_text()
    assert f"{index} ({indexed.index_articles}) lacks 1 field(s) of its template (main_event_type)" in told_by_status

    upgraded = run_pipeline("setup", "--upgrade-mappings", env=environment)
    assert upgraded.returncode == 0, upgraded.stderr
    assert gather_elasticsearch(indexed).indices[0].missing_fields == {}
    properties = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert properties["main_event_type"] == {"type": "keyword"}
    sink = ElasticsearchSink(client, indexed.index_articles, indexed.index_events)
    article = sample_enriched().model_copy(update={"main_event_type": "PROTEST"})
    report = sink.write_articles([article])
    assert (report.written, report.failures) == (1, [])  # the newer enricher's field is taken


def test_a_changed_field_is_a_message_pointing_at_reindex(indexed: Settings) -> None:
    from pipeline.errors import MappingConflict

    client = make_client(indexed, request_timeout=60)
    client.indices.create(
        index=f"{indexed.index_articles}-v1",
        aliases={indexed.index_articles: {}},
        mappings={"dynamic": "strict", "properties": {"title": {"type": "keyword"}}},  # text in the template
    )
    with pytest.raises(MappingConflict, match="title") as refused:
        ensure_indices(client, indexed, upgrade_mappings=True)
    assert "pipeline reindex" in "\n".join(refused.value.lines())
