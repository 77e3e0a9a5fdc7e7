"""Index versions behind aliases, and ``pipeline reindex``: a new version built and switched to while the
indexer keeps writing.

Readers and the indexer only ever name the alias (``news-articles``); behind it is one concrete index
(``news-articles-v1``). Reindexing builds ``-v2`` from the current template and moves the alias in one
atomic ``_aliases`` call. The local Elasticsearch build has no ``_reindex`` API (docs/local-stack.md), so
the client copies: a point-in-time scroll of the old index, bulk-written into the new one.

Why nothing written meanwhile is lost: copies and the indexer's writes commute. An article is written
with its revision as external version (``external_gte``), so whichever of copy and live write comes last,
the newer revision stays; an event is merged (union of its reporting articles) with optimistic concurrency,
and merging is order-free. So the copy runs twice:

1. copy everything while the alias still points at the old index (it takes the indexer's writes);
2. move the alias (atomic: every request resolves to exactly one index, before or after);
3. block writes on the old index, so a write that resolved the alias just before the move and arrives late
   is refused and retried by the indexer (it holds a batch on a write block) through the alias, i.e. into
   the new index;
4. copy again what was indexed since step 1 started: what reached the old index between the two copies.

Searches see the old index until step 2 and the new one after it; between steps 2 and 4 finishing, the few
documents written during step 1 are briefly absent from the new index. The old index is kept (read-only)
for a roll-back unless deletion is asked for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from elasticsearch import Elasticsearch

from pipeline.errors import MissingResource, PipelineError
from pipeline.index.es import versioned_name
from pipeline.index.sink import ElasticsearchSink, SinkReport

log = structlog.get_logger(__name__)

PAGE_SIZE = 500
# Documents whose indexed_at is this much older than the first copy's start are copied again in the
# second one anyway: the indexer's clock and this machine's may disagree a little.
CLOCK_SLACK = timedelta(minutes=5)
HELD_RETRIES = 20


@dataclass
class ReindexReport:
    alias: str
    source: str
    target: str
    first_copy: int = 0
    second_copy: int = 0
    kept_newer: int = 0  # copies skipped because the new index already held a newer revision
    source_deleted: bool = False


def resolve_alias(client: Elasticsearch, alias: str) -> tuple[str, bool]:
    """The concrete index behind ``alias``, and whether ``alias`` is an alias (False: an index from before
    versioning, which reindexing turns into version 1 behind an alias)."""
    if client.indices.exists_alias(name=alias):
        indices = sorted(client.indices.get_alias(name=alias))
        if len(indices) != 1:
            raise PipelineError(f"alias {alias!r} points at {len(indices)} indices ({', '.join(indices)}), not one")
        return indices[0], True
    if client.indices.exists(index=alias):
        return alias, False
    raise MissingResource(f"Elasticsearch index {alias!r} does not exist", hint="run `pipeline setup` first")


def next_version(alias: str, current: str) -> str:
    found = re.fullmatch(re.escape(alias) + r"-v(\d+)", current)
    return versioned_name(alias, int(found.group(1)) + 1 if found else 1)


def _pages(client: Elasticsearch, index: str, query: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Every matching document of ``index`` as of now, a page at a time (point in time + search_after)."""
    pit = client.open_point_in_time(index=index, keep_alive="2m")["id"]
    after: list[Any] | None = None
    try:
        while True:
            response = client.search(
                pit={"id": pit, "keep_alive": "2m"},
                query=query,
                sort=["_shard_doc"],
                size=PAGE_SIZE,
                search_after=after,
                track_total_hits=False,
            )
            pit = response.get("pit_id", pit)
            hits = response["hits"]["hits"]
            if not hits:
                return
            yield hits
            after = hits[-1]["sort"]
    finally:
        client.close_point_in_time(id=pit)


def _write(sink: ElasticsearchSink, kind: str, docs: dict[str, dict[str, Any]]) -> SinkReport:
    """Write one page into the new index, retrying what Elasticsearch could not take right now."""
    total = SinkReport()
    for attempt in range(HELD_RETRIES):
        report = sink.write_article_documents(docs) if kind == "articles" else sink.merge_event_documents(docs)
        total.written += report.written
        total.stale += report.stale
        if report.failures:
            first = report.failures[0]
            raise PipelineError(
                f"the new index refused {len(report.failures)} documents, e.g. {first.doc_id}: {first.reason}",
                hint="the template and the documents disagree; the alias was not moved",
            )
        if not report.held:
            return total
        held = {failure.doc_id for failure in report.held}
        docs = {doc_id: doc for doc_id, doc in docs.items() if doc_id in held}
        time.sleep(min(10.0, 0.5 * 2**attempt))
    raise PipelineError(f"Elasticsearch kept refusing {len(docs)} documents for now; the copy stopped")


def copy_documents(
    client: Elasticsearch, kind: str, source: str, target: str, query: dict[str, Any] | None = None
) -> SinkReport:
    """Copy ``source``'s documents (those matching ``query``) into ``target`` the way the indexer writes."""
    sink = ElasticsearchSink(client, target, target)
    total = SinkReport()
    for hits in _pages(client, source, query or {"match_all": {}}):
        report = _write(sink, kind, {hit["_id"]: hit["_source"] for hit in hits})
        total.written += report.written
        total.stale += report.stale
    return total


def reindex(
    client: Elasticsearch,
    kind: str,
    alias: str,
    *,
    delete_source: bool = False,
    on_step: Callable[[str], None] = lambda step: None,
) -> ReindexReport:
    """Build the next version of ``alias``'s index and move the alias to it without stopping anything."""
    source, is_alias = resolve_alias(client, alias)
    target = next_version(alias, source)
    report = ReindexReport(alias=alias, source=source, target=target)
    # Mappings and settings from the current index template; the replica count (a property of the cluster, not
    # of the template) from the version it replaces.
    current = client.indices.get_settings(index=source, name="index.number_of_replicas")
    replicas = next(iter(current.values()))["settings"]["index"]["number_of_replicas"]
    client.indices.create(index=target, settings={"number_of_replicas": replicas})
    started = datetime.now(UTC)
    try:
        on_step(f"copying {source} into {target}")
        client.indices.refresh(index=source)
        first = copy_documents(client, kind, source, target)
    except BaseException:
        client.indices.delete(index=target, ignore_unavailable=True)
        raise
    report.first_copy, report.kept_newer = first.written, first.stale
    if is_alias:
        on_step(f"moving {alias} to {target}")
        client.indices.update_aliases(
            actions=[{"remove": {"index": source, "alias": alias}}, {"add": {"index": target, "alias": alias}}]
        )
    # From here on the old index refuses writes; the indexer retries them, through the alias.
    client.indices.put_settings(index=source, settings={"index.blocks.write": True})
    time.sleep(1.0)  # lets a bulk request that got past the block check before it was set finish
    on_step(f"copying what {source} received meanwhile")
    client.indices.refresh(index=source)
    since = (started - CLOCK_SLACK).isoformat()
    second = copy_documents(client, kind, source, target, {"range": {"indexed_at": {"gte": since}}})
    report.second_copy, report.kept_newer = second.written, report.kept_newer + second.stale
    if not is_alias:
        # An index from before versioning has the alias's name: it goes in the same atomic call that makes
        # the alias (writes were blocked since the second copy began and are retried by the indexer).
        on_step(f"replacing index {source} by alias {alias} -> {target}")
        client.indices.update_aliases(
            actions=[{"add": {"index": target, "alias": alias}}, {"remove_index": {"index": source}}]
        )
        report.source_deleted = True
    elif delete_source:
        client.indices.delete(index=source)
        report.source_deleted = True
    log.info("reindexed", **vars(report))
    return report
