"""The secured path against the real broker's SASL/PLAIN listener (the local stack opens one).

The pipeline's own security settings (PIPELINE_KAFKA_SECURITY_PROTOCOL, _SASL_*) build the clients here,
so what is tested is what a deployment with security switched on runs.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import SecretStr

from pipeline.devstack.kafka import SASL_PASSWORD, SASL_USERNAME
from pipeline.kafka import client_options, ensure_topics, faust_credentials
from pipeline.settings import Settings
from tests.integration.stages import read_topic
from tests.prerequisites import prerequisite_missing

pytestmark = pytest.mark.integration

SASL_BOOTSTRAP = os.environ.get("DEVSTACK_KAFKA_SASL_BOOTSTRAP")


def sasl_settings(password: str = SASL_PASSWORD) -> Settings:
    return Settings(
        kafka_bootstrap=SASL_BOOTSTRAP or "",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username=SASL_USERNAME,
        kafka_sasl_password=SecretStr(password),
    )


@pytest.fixture()
def sasl_listener() -> str:
    """The broker's SASL listener; without one the test is skipped, or fails under CI=true (tests/prerequisites.py)."""
    if SASL_BOOTSTRAP is None:
        prerequisite_missing(
            "the configured broker has no known SASL listener (the local stack's is exported by ./run test)"
        )
    return SASL_BOOTSTRAP


needs_sasl_listener = pytest.mark.usefixtures("sasl_listener")


@needs_sasl_listener
def test_kafka_python_clients_authenticate_with_the_pipeline_settings() -> None:
    settings = sasl_settings()
    topic = f"it-sasl-{uuid.uuid4().hex[:8]}"
    assert ensure_topics(settings, [topic]) == [topic]
    producer = KafkaProducer(**client_options(settings))
    producer.send(topic, key=b"k", value=b"secured").get(timeout=30)
    producer.close()
    assert [m.value for m in read_topic(settings, topic)] == [b"secured"]  # read over SASL, up to the end


@needs_sasl_listener
def test_a_wrong_password_is_refused() -> None:
    with pytest.raises(KafkaError):
        producer = KafkaProducer(max_block_ms=5000, **client_options(sasl_settings("wrong")))
        producer.send("anything", value=b"x").get(timeout=10)


@needs_sasl_listener
def test_faust_credentials_work_for_aiokafka() -> None:
    settings = sasl_settings()
    credentials = faust_credentials(settings)
    topic = f"it-sasl-aio-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic])
    # Exactly what Faust's aiokafka driver hands to aiokafka for these credentials.
    options = {"bootstrap_servers": settings.kafka, **credentials_to_aiokafka_auth(credentials)}

    async def round_trip() -> list[bytes]:
        producer = AIOKafkaProducer(**options)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"faust-secured")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **options)
        await consumer.start()
        try:
            message = await asyncio.wait_for(consumer.getone(), timeout=20)
            return [message.value]
        finally:
            await consumer.stop()

    assert asyncio.run(round_trip()) == [b"faust-secured"]
