"""Reading the dead-letter topic and putting payloads back on their source topics (kafka-python)."""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from pipeline.deadletters.select import Letter, LetterFilter, ReplayPlan
from pipeline.errors import MissingResource
from pipeline.kafka import consumer_options, make_producer
from pipeline.records import DeadLetter
from pipeline.settings import Settings


def _consumer(settings: Settings) -> KafkaConsumer:
    return KafkaConsumer(**consumer_options(settings), client_id="pipeline-deadletters", enable_auto_commit=False)


def read_letters(settings: Settings, letter_filter: LetterFilter | None = None) -> Iterator[Letter]:
    """Every dead letter on the topic up to now (oldest first per partition), filtered."""
    consumer = _consumer(settings)
    try:
        partitions = consumer.partitions_for_topic(settings.topic_dead_letter)
        if not partitions:
            raise MissingResource(
                f"no dead-letter topic {settings.topic_dead_letter!r}",
                where=settings.kafka,
                hint="nothing has been dead-lettered yet, or PIPELINE_TOPIC_DEAD_LETTER names another topic",
            )
        tps = [TopicPartition(settings.topic_dead_letter, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > consumer.position(tp)}
        while remaining:
            for tp, records in consumer.poll(timeout_ms=2000).items():
                for message in records:
                    if message.offset >= ends[tp]:
                        continue
                    try:
                        record = DeadLetter.model_validate_json(message.value)
                    except (ValidationError, ValueError):
                        continue  # not a dead letter: nothing this tool can act on
                    if letter_filter is None or letter_filter.matches(record):
                        yield Letter(message.partition, message.offset, record)
                if consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        consumer.close()


def find_letter(settings: Settings, letter_id: str) -> Letter:
    try:
        partition, offset = (int(part) for part in letter_id.split(":"))
    except ValueError:
        raise MissingResource(
            f"{letter_id!r} is not a dead-letter id", hint="use PARTITION:OFFSET as `pipeline deadletters list` shows"
        ) from None
    message = fetch(settings, settings.topic_dead_letter, partition, offset)
    if message is None:
        raise MissingResource(
            f"no dead letter {letter_id} on {settings.topic_dead_letter}",
            where=settings.kafka,
            hint="list them with `pipeline deadletters list`",
        )
    return Letter(partition, offset, DeadLetter.model_validate_json(message))


def fetch(settings: Settings, topic: str, partition: int, offset: int) -> bytes | None:
    """The value of one message, or None when the topic no longer holds it (retention, or no such offset)."""
    consumer = _consumer(settings)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        start, end = consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]
        if not start <= offset < end:
            return None
        consumer.seek(tp, offset)
        for _ in range(30):
            for message in consumer.poll(timeout_ms=1000).get(tp, []):
                if message.offset == offset:
                    value: bytes | None = message.value
                    return value
                if message.offset > offset:
                    return None  # compacted away
        return None
    finally:
        consumer.close()


def replay(settings: Settings, plans: list[ReplayPlan]) -> tuple[int, list[tuple[ReplayPlan, str]]]:
    """Produce each plan's payload to its source topic and wait for every acknowledgement.
    Returns how many went back, and the ones that did not with why."""
    producer = make_producer(settings, client_id="pipeline-deadletters")
    failed: list[tuple[ReplayPlan, str]] = []
    sent = []
    try:
        for plan in plans:
            record = plan.letter.record
            payload = record.original_payload()
            if payload is None and record.partition is not None and record.offset is not None:
                payload = fetch(settings, plan.topic, record.partition, record.offset)
            if payload is None:
                failed.append((plan, "the source topic no longer holds the message"))
                continue
            sent.append((plan, producer.send(plan.topic, key=plan.key, value=payload)))
        replayed = 0
        for plan, future in sent:
            try:
                future.get(timeout=60)
                replayed += 1
            except Exception as exc:
                failed.append((plan, f"not acknowledged: {exc}"))
    finally:
        producer.close()
    return replayed, failed
