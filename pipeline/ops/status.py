"""``pipeline status``: is each stage keeping up? Facts from Kafka, Elasticsearch and the collector's state.

``gather_*`` functions talk to the services and return plain records; ``stage_verdicts`` is a plain function
of two snapshots taken a moment apart (rates need two points); rendering lives in ``pipeline.ops.cli``.
An unreachable service is reported in the status, not raised, so the other half is still shown. Each service
is probed first (``pipeline.ops.probe``): one that does not answer is reported at once, as refusing or as
silent, rather than after the client library's own timeouts and retries.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import explain, redact_url
from pipeline.ops.probe import SILENT, Probe, probe_both
from pipeline.settings import Settings

KEEPING_UP = "keeping up"
FALLING_BEHIND = "falling behind"
STOPPED = "stopped"
UNKNOWN = "unknown"
HOUR_SECONDS = 3600.0


@dataclass
class TopicStatus:
    name: str
    exists: bool
    messages: int = 0  # retained: end offset minus beginning offset, summed over partitions
    end_offset: int = 0  # total of the partitions' end offsets; its growth is the produce rate
    last_hour: int = 0


@dataclass
class GroupStatus:
    group: str
    stage: str
    topics: list[str]
    state: str
    members: int
    lag: int
    committed: int  # total of committed offsets; its growth is the consume rate


@dataclass
class KafkaStatus:
    bootstrap: str
    reachable: bool
    error: str | None = None
    silent: bool = False  # accepted the connection (or left it hanging) and did not answer in time
    brokers: int = 0
    api_version: str | None = None
    topics: list[TopicStatus] = field(default_factory=list)
    groups: list[GroupStatus] = field(default_factory=list)


@dataclass
class IndexStatus:
    alias: str
    exists: bool
    indices: list[str] = field(default_factory=list)
    documents: int = 0
    newest_age_seconds: float | None = None
    # Fields of the template that an index behind the alias lacks (an index from an older contract): documents
    # carrying them are refused until `pipeline setup --upgrade-mappings` or `pipeline reindex`.
    missing_fields: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ElasticsearchStatus:
    url: str
    reachable: bool
    error: str | None = None
    silent: bool = False
    version: str | None = None
    health: str | None = None
    indices: list[IndexStatus] = field(default_factory=list)


@dataclass
class CollectorStatus:
    state_path: str
    found: bool
    feeds: int = 0
    overdue: int = 0
    last_poll_age_seconds: float | None = None


@dataclass
class StageVerdict:
    stage: str
    verdict: str
    detail: str


@dataclass
class StatusReport:
    taken_at: str
    kafka: KafkaStatus
    elasticsearch: ElasticsearchStatus
    collector: CollectorStatus
    dead_letters_total: int
    dead_letters_last_hour: int
    stages: list[StageVerdict]
    monotonic: float = field(default_factory=time.monotonic)  # when it was taken, for rates

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["monotonic"]
        return data

    @property
    def healthy(self) -> bool:
        return self.kafka.reachable and self.elasticsearch.reachable


def _problem(exc: Exception, settings: Settings) -> str:
    failure = explain(exc, settings)
    return failure.what if failure else f"{type(exc).__name__}: {exc}"[:300]


def stage_topics(settings: Settings) -> dict[str, list[str]]:
    """The consumer groups the pipeline itself runs, by stage, and the topics each reads."""
    return {
        settings.enricher_group: [settings.topic_raw],
        settings.indexer_group: [settings.topic_enriched, settings.topic_events],
        settings.subscriptions_group: [settings.topic_events],
    }


def _stage_of(group: str, settings: Settings) -> str:
    if group == settings.enricher_group:
        return "enrich"
    if group == settings.indexer_group:
        return "index"
    if group == settings.subscriptions_group:
        return "publish"
    if group.startswith("pipeline-subscribe") or group.startswith("subs-"):
        return "subscribe"
    return "other"


def gather_kafka(settings: Settings) -> KafkaStatus:
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    from pipeline.kafka import client_options, consumer_options, pipeline_topics

    status = KafkaStatus(bootstrap=settings.kafka, reachable=False)
    try:
        admin = KafkaAdminClient(client_id="pipeline-status", **client_options(settings))
    except Exception as exc:
        status.error = _problem(exc, settings)
        return status
    consumer = KafkaConsumer(client_id="pipeline-status", enable_auto_commit=False, **consumer_options(settings))
    try:
        status.reachable = True
        status.brokers = len(admin.describe_cluster().get("brokers") or [])
        version = admin.config.get("api_version")
        status.api_version = ".".join(str(part) for part in version) if version else None
        existing = set(admin.list_topics())
        partitions: dict[str, list[TopicPartition]] = {}
        for name in pipeline_topics(settings):
            partitions[name] = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or [])]
        every = [tp for tps in partitions.values() for tp in tps]
        ends = consumer.end_offsets(every) if every else {}
        begins = consumer.beginning_offsets(every) if every else {}
        hour_ago_ms = int((time.time() - HOUR_SECONDS) * 1000)
        since = consumer.offsets_for_times({tp: hour_ago_ms for tp in every}) if every else {}
        for name, tps in partitions.items():
            topic = TopicStatus(name=name, exists=name in existing)
            for tp in tps:
                topic.messages += ends[tp] - begins[tp]
                topic.end_offset += ends[tp]
                first_recent = since.get(tp)
                topic.last_hour += ends[tp] - (first_recent.offset if first_recent is not None else ends[tp])
            status.topics.append(topic)
        status.groups = _groups(admin, consumer, settings)
    except Exception as exc:
        status.error = _problem(exc, settings)
    finally:
        consumer.close()
        admin.close()
    return status


def _groups(admin: Any, consumer: Any, settings: Settings) -> list[GroupStatus]:
    from kafka import TopicPartition

    known = stage_topics(settings)
    names = sorted({group for group, _protocol in admin.list_consumer_groups()} | set(known))
    descriptions = {d.group: d for d in admin.describe_consumer_groups(names)}
    groups = []
    for name in names:
        committed = {tp: meta.offset for tp, meta in admin.list_consumer_group_offsets(name).items() if meta}
        topics = known.get(name) or sorted({tp.topic for tp in committed})
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        ends = consumer.end_offsets(tps) if tps else {}
        done = {tp: max(0, committed.get(tp, 0)) for tp in tps}  # a group that never committed lags fully
        description = descriptions.get(name)
        groups.append(
            GroupStatus(
                group=name,
                stage=_stage_of(name, settings),
                topics=topics,
                state=description.state if description else "Dead",
                members=len(description.members) if description else 0,
                lag=sum(max(0, ends[tp] - done[tp]) for tp in tps),
                committed=sum(done.values()),
            )
        )
    return groups


def gather_elasticsearch(settings: Settings) -> ElasticsearchStatus:
    from pipeline.index.es import index_names, make_client

    status = ElasticsearchStatus(url=redact_url(settings.elasticsearch), reachable=False)
    client = make_client(settings)
    try:
        status.health = str(client.cluster.health()["status"])
        status.reachable = True
        nodes = client.nodes.info(filter_path="nodes.*.version").get("nodes") or {}
        status.version = ", ".join(sorted({str(node["version"]) for node in nodes.values()})) or None
        for kind, alias in index_names(settings).items():
            status.indices.append(_index_status(client, alias, kind))
    except Exception as exc:
        status.error = _problem(exc, settings)
    finally:
        client.close()
    return status


def _index_status(client: Any, alias: str, kind: str) -> IndexStatus:
    from pipeline.index.es import mapping_drift, template_properties

    if not client.indices.exists(index=alias):
        return IndexStatus(alias=alias, exists=False)
    # The names behind the alias and their mappings in one request (status --watch asks every few seconds).
    behind = client.indices.get(index=alias, filter_path="*.settings.index.provided_name,*.mappings.properties").body
    response = client.search(
        index=alias, size=0, track_total_hits=True, aggs={"newest": {"max": {"field": "indexed_at"}}}
    )
    newest_ms = response["aggregations"]["newest"]["value"]
    return IndexStatus(
        alias=alias,
        exists=True,
        indices=sorted(behind),
        documents=int(response["hits"]["total"]["value"]),
        newest_age_seconds=max(0.0, time.time() - newest_ms / 1000) if newest_ms else None,
        missing_fields=mapping_drift(behind, template_properties(kind)),
    )


def gather_collector(settings: Settings, now: float | None = None) -> CollectorStatus:
    """From the collector's state file (this machine's; a collector elsewhere is not seen here)."""
    path = settings.state_path
    status = CollectorStatus(state_path=str(path), found=path.is_file())
    if not status.found:
        return status
    now = time.time() if now is None else now
    grace = max(60.0, settings.poll_min_interval_seconds)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        feeds, overdue, last_poll = connection.execute(
            "SELECT COUNT(*), SUM(CASE WHEN next_poll_at < ? THEN 1 ELSE 0 END), MAX(last_polled_at) FROM feeds",
            (now - grace,),
        ).fetchone()
    except sqlite3.Error:
        return status
    finally:
        connection.close()
    status.feeds, status.overdue = int(feeds or 0), int(overdue or 0)
    status.last_poll_age_seconds = now - last_poll if last_poll else None
    return status


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def consumer_verdict(
    group: GroupStatus | None, before: GroupStatus | None, produced: int, elapsed: float
) -> tuple[str, str]:
    """A consuming stage from two snapshots of its group ``elapsed`` seconds apart; ``produced`` is how many
    messages its input topics received meanwhile."""
    if group is None or group.members == 0:
        pending = group.lag if group else 0
        return STOPPED, f"no consumer running; {pending} messages waiting"
    if group.lag == 0:
        return KEEPING_UP, "no lag"
    consumed = group.committed - before.committed if before else 0
    rate = f"{consumed / elapsed:.1f} msg/s in, {produced / elapsed:.1f} msg/s arriving" if elapsed > 0 else ""
    if before is not None and (group.lag < before.lag or consumed >= produced > 0):
        return KEEPING_UP, f"lag {group.lag}, shrinking ({rate})"
    return FALLING_BEHIND, f"lag {group.lag}" + (f", not shrinking ({rate})" if before is not None else "")


def collector_verdict(collector: CollectorStatus) -> tuple[str, str]:
    if not collector.found:
        return UNKNOWN, f"no collector state at {collector.state_path} (a collector elsewhere is not seen)"
    if collector.feeds == 0:
        return STOPPED, "no feeds polled yet"
    detail = f"{collector.feeds} feeds, last poll {_age(collector.last_poll_age_seconds)} ago"
    if collector.overdue == collector.feeds:
        return STOPPED, detail + ", every feed overdue"
    if collector.overdue:
        return FALLING_BEHIND, detail + f", {collector.overdue} overdue"
    return KEEPING_UP, detail


def stage_verdicts(
    settings: Settings, now: StatusReport, before: StatusReport | None, elapsed: float
) -> list[StageVerdict]:
    verdicts = [StageVerdict("collect", *collector_verdict(now.collector))]
    if not now.kafka.reachable:
        return verdicts + [StageVerdict(stage, UNKNOWN, "Kafka unreachable") for stage in ("enrich", "index")]
    consumers = (
        (settings.enricher_group, "enrich"),
        (settings.indexer_group, "index"),
        (settings.subscriptions_group, "publish"),
    )
    for group_name, stage in consumers:
        group = _find(now.kafka.groups, group_name)
        if stage == "publish" and (group is None or (group.members == 0 and group.committed == 0)):
            continue  # subscriptions are optional: no verdict for a materialiser that never ran
        earlier = _find(before.kafka.groups, group_name) if before else None
        inputs = stage_topics(settings)[group_name]
        produced = _end_total(now, inputs) - (_end_total(before, inputs) if before else _end_total(now, inputs))
        verdicts.append(StageVerdict(stage, *consumer_verdict(group, earlier, produced, elapsed)))
    return verdicts


def _find(groups: Iterable[GroupStatus], name: str) -> GroupStatus | None:
    return next((group for group in groups if group.group == name), None)


def _end_total(report: StatusReport, topics: list[str]) -> int:
    return sum(topic.end_offset for topic in report.kafka.topics if topic.name in topics)


def snapshot(settings: Settings, probes: tuple[Probe, Probe] | None = None) -> StatusReport:
    kafka_probe, es_probe = probes or probe_both(settings)
    if kafka_probe.answered:
        kafka = gather_kafka(settings)
    else:
        kafka = KafkaStatus(
            bootstrap=settings.kafka,
            reachable=False,
            error=kafka_probe.describe(),
            silent=kafka_probe.outcome == SILENT,
        )
    if es_probe.answered:
        elasticsearch = gather_elasticsearch(settings)
    else:
        elasticsearch = ElasticsearchStatus(
            url=redact_url(settings.elasticsearch),
            reachable=False,
            error=es_probe.describe(),
            silent=es_probe.outcome == SILENT,
        )
    dead = next((t for t in kafka.topics if t.name == settings.topic_dead_letter), None)
    return StatusReport(
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        kafka=kafka,
        elasticsearch=elasticsearch,
        collector=gather_collector(settings),
        dead_letters_total=dead.messages if dead else 0,
        dead_letters_last_hour=dead.last_hour if dead else 0,
        stages=[],
    )


def status(settings: Settings, before: StatusReport | None = None, sample_seconds: float = 2.0) -> StatusReport:
    """A snapshot with verdicts. Without an earlier snapshot, one is taken ``sample_seconds`` before (rates need
    two points), unless Kafka does not answer: then there are no rates to take and the answer is immediate."""
    if before is None:
        before = snapshot(settings)
        if before.kafka.reachable:
            time.sleep(sample_seconds)
            now = snapshot(settings)
        else:
            now = before
    else:
        now = snapshot(settings)
    now.stages = stage_verdicts(settings, now, before, max(now.monotonic - before.monotonic, 1e-3))
    return now


def age_text(seconds: float | None) -> str:
    return _age(seconds)
