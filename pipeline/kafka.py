"""Kafka plumbing shared by the shells: topic creation and a safe kafka-python producer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from pipeline.records import DeadLetter
from pipeline.settings import Settings

log = structlog.get_logger(__name__)


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection security for every kafka-python client (PIPELINE_KAFKA_SECURITY_PROTOCOL and friends)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka,
        "security_protocol": settings.kafka_security_protocol,
        # Bounds the first contact, so a wrong address fails in seconds (NoBrokersAvailable) instead of hanging.
        "api_version_auto_timeout_ms": int(settings.kafka_timeout_seconds * 1000),
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    if settings.kafka_ssl_cafile:
        options["ssl_cafile"] = settings.kafka_ssl_cafile
    return options


# kafka-python 2.x lets a fetch response grow to fetch_max_bytes (50 MB) but refuses any frame over
# receive_message_max_bytes (1,000,000), so a consumer behind by more than ~1 MB over several partitions has its
# fetches fail ("Invalid frame length") and retried. Our consumers fetch at most this much, and accept it.
FETCH_MAX_BYTES = 16 * 1024 * 1024


def consumer_options(settings: Settings) -> dict[str, Any]:
    """``client_options`` plus fetch limits that fit in what the client accepts in one frame (kafka-python)."""
    return client_options(settings) | {
        "fetch_max_bytes": FETCH_MAX_BYTES,
        # A fetch may exceed fetch_max_bytes by one record batch (up to the broker's message size), and framing.
        "receive_message_max_bytes": FETCH_MAX_BYTES + max(settings.kafka_max_message_bytes, 1_048_576) + 65_536,
    }


def faust_credentials(settings: Settings) -> Any:
    """The same security for Faust (aiokafka): None, SSL or SASL credentials."""
    import ssl

    import faust

    protocol = settings.kafka_security_protocol
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if protocol.endswith("SSL") else None
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None,
            mechanism=settings.kafka_sasl_mechanism or "PLAIN",
            ssl_context=context,
        )
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return None


def compression_type(settings: Settings) -> str | None:
    """The producers' codec (PIPELINE_KAFKA_COMPRESSION), as both kafka-python and aiokafka name it."""
    return None if settings.kafka_compression == "none" else settings.kafka_compression


def faust_app(settings: Settings, group: str, **options: Any) -> Any:
    """A Faust app on the configured broker with the project's common options; ``options`` add or override.

    Faust is imported here so that commands which never run a worker do not pay for it.
    """
    import faust

    from pipeline.faust_transport import Transport

    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates its own directory, not the parents
    app = faust.App(
        group,
        broker=f"kafka://{settings.kafka}",
        broker_credentials=faust_credentials(settings),
        datadir=str(settings.faust_data_dir),  # not the working directory (docs/operations.md#data-directory)
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        producer_acks=-1,
        producer_max_request_size=4_000_000,
        **({"producer_compression_type": compression_type(settings)} | options),
    )
    # Before anything reaches app.transport: a partition never committed is read again after a rebalance.
    app.transport = Transport(app.conf.broker_consumer, app)
    return app


def pipeline_topics(settings: Settings) -> list[str]:
    return [settings.topic_raw, settings.topic_enriched, settings.topic_events, settings.topic_dead_letter]


def ensure_topics(
    settings: Settings,
    names: Iterable[str] | None = None,
    *,
    partitions: int | None = None,
    config: dict[str, str] | None = None,
) -> list[str]:
    """Create the pipeline's topics if missing (idempotent). Returns the names that were created."""
    wanted = list(names) if names is not None else pipeline_topics(settings)
    partitions = partitions or settings.topic_partitions
    admin = KafkaAdminClient(client_id="pipeline-setup", **client_options(settings))
    try:
        existing = set(admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        new = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.topic_replication,
                topic_configs={"min.insync.replicas": str(settings.topic_min_insync_replicas), **(config or {})},
            )
            for name in missing
        ]
        # Another process may win the race; the topics then exist, which is all we need.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(new)
        log.info("topics created", topics=missing, partitions=partitions)
        return missing
    finally:
        admin.close()


def make_producer(settings: Settings, client_id: str) -> KafkaProducer:
    """A producer that neither loses nor duplicates what it is given: acks from all replicas, idempotent."""
    return KafkaProducer(
        **client_options(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        compression_type=compression_type(settings),
        key_serializer=lambda key: None if key is None else key.encode("utf-8"),  # None: a keyless message
        max_request_size=4_000_000,
    )


def send_dead_letter(producer: KafkaProducer, settings: Settings, record: DeadLetter) -> Any:
    """Send a dead letter; returns the delivery future, which the caller must resolve before it commits."""
    log.warning("dead-lettered", stage=record.stage, key=record.key, reason=record.reason)
    return producer.send(settings.topic_dead_letter, key=record.key or "", value=record.to_json_bytes())


class LagProbe:
    """How far consumer groups are behind; one admin and one consumer connection reused across checks."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaConsumer

        self._admin = KafkaAdminClient(client_id="pipeline-lag", **client_options(settings))
        self._consumer = KafkaConsumer(client_id="pipeline-lag", **consumer_options(settings))

    def lag(self, group: str, topics: Iterable[str]) -> int | None:
        """Messages on ``topics`` not yet committed by ``group`` (a group that never committed lags fully);
        None while the broker cannot tell yet (e.g. the group coordinator is still being elected)."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(self._consumer.partitions_for_topic(topic) or [])
            ]
            ends = self._consumer.end_offsets(partitions)
            committed = self._admin.list_consumer_group_offsets(group)
        except KafkaError as exc:
            if getattr(exc, "retriable", False):
                return None
            raise
        lag = 0
        for tp in partitions:
            done = committed.get(tp)
            lag += max(0, ends[tp] - (done.offset if done is not None and done.offset >= 0 else 0))
        return lag

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()
