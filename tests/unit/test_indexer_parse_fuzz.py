"""Whatever arrives on the indexer's topics, parsing never raises: each record is a document or a dead letter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.consumer.fetcher import ConsumerRecord

from pipeline.index.indexer import parse_batch
from pipeline.settings import Settings
from tests.factories import sample_enriched, sample_event

SETTINGS = Settings(topic_enriched="enriched", topic_events="events", kafka_max_message_bytes=50_000)
VALID = [sample_enriched().to_json_bytes(), sample_event().to_json_bytes()]


def record(topic: str, offset: int, key: bytes | None, value: bytes | None) -> ConsumerRecord:
    size = len(value) if value else 0
    return ConsumerRecord(topic, 0, -1, offset, 0, 0, key, value, [], None, len(key or b""), size, -1)


values = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.sampled_from(VALID),
    st.sampled_from(VALID).map(lambda v: v[: len(v) // 2]),
    st.sampled_from(VALID).map(lambda v: v.replace(b'"1.0"', b'"2.0"', 1)),
    st.binary(min_size=50_001, max_size=50_010),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["enriched", "events"]), st.none() | st.binary(max_size=8), values)))
def test_every_record_is_a_document_or_a_dead_letter(messages: list[tuple[str, bytes | None, bytes | None]]) -> None:
    records = [record(topic, n, key, value) for n, (topic, key, value) in enumerate(messages)]
    batch = parse_batch(records, SETTINGS)
    parsed = sum(len(group) for group in batch.articles.values()) + sum(len(g) for g in batch.events.values())
    assert parsed + len(batch.letters) == len(records)
    for letter in batch.letters:
        assert letter.stage == "index" and letter.reason and letter.to_json_bytes()
