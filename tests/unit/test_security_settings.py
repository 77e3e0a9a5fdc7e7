"""Security settings reach every client: kafka-python, Faust (aiokafka) and Elasticsearch."""

from __future__ import annotations

import faust
from pydantic import SecretStr

from pipeline.index.es import make_client
from pipeline.kafka import client_options, faust_credentials
from pipeline.settings import Settings


def test_plaintext_by_default() -> None:
    settings = Settings(kafka_bootstrap="k:9092")
    assert client_options(settings) == {
        "bootstrap_servers": "k:9092",
        "security_protocol": "PLAINTEXT",
        "api_version_auto_timeout_ms": 5000,
    }
    assert faust_credentials(settings) is None


def test_sasl_settings_reach_kafka_python_and_faust() -> None:
    settings = Settings(
        kafka_bootstrap="k:9094",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="pipeline",
        kafka_sasl_password=SecretStr("s3cret"),
    )
    options = client_options(settings)
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("pipeline", "s3cret")
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "pipeline" and credentials.password == "s3cret"
    assert "s3cret" not in repr(settings)  # secrets stay out of logs and tracebacks


def test_elasticsearch_api_key_is_sent() -> None:
    settings = Settings(elasticsearch_url="http://es.example:9200", elasticsearch_api_key=SecretStr("a2V5"))
    client = make_client(settings)
    assert client._headers["authorization"] == "ApiKey a2V5"
