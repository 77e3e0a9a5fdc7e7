"""Expected failures are messages: a few lines saying what failed, where and what to do, and a non-zero exit.

Each command runs as a user runs it (a subprocess of ``python -m pipeline``) against addresses where nothing
listens (127.0.0.1:1) or where a socket accepts connections and never answers.
"""

from __future__ import annotations

import time

import pytest

from pipeline.errors import EXIT_TIMEOUT, EXIT_UNAVAILABLE, EXIT_USAGE, redact_url
from tests.cli_runs import DEAD, assert_message, run_pipeline


@pytest.mark.parametrize(
    "command",
    [
        ["collect", "pipeline/samples/feed.xml", "--once"],
        ["subscribe", "--limit", "1"],
        ["enrich"],
        ["index", "--idle-exit", "1"],
        ["setup"],
        ["demo"],
    ],
    ids=lambda command: command[0],
)
def test_kafka_unreachable_is_a_message(command: list[str]) -> None:
    result = run_pipeline("--timeout", "1", *command)
    assert_message(result, exit_code=EXIT_UNAVAILABLE, says="cannot reach Kafka", where=DEAD)
    assert "./run up" in result.stderr and "PIPELINE_KAFKA_BOOTSTRAP" in result.stderr
    assert "topic set-up failed" not in result.stderr  # the collector warned of NoBrokersAvailable first


def test_elasticsearch_unreachable_is_a_message() -> None:
    result = run_pipeline("search", "missile")
    assert_message(result, exit_code=EXIT_UNAVAILABLE, says="cannot reach Elasticsearch", where=f"http://{DEAD}")
    assert "PIPELINE_ELASTICSEARCH_URL" in result.stderr


def test_a_silent_elasticsearch_times_out_quickly(silent_port: int) -> None:
    started = time.monotonic()
    result = run_pipeline(
        "--timeout", "1", "search", "missile", env={"PIPELINE_ELASTICSEARCH_URL": f"http://127.0.0.1:{silent_port}"}
    )
    assert_message(result, exit_code=EXIT_TIMEOUT, says="did not answer within 1s", where=str(silent_port))
    assert time.monotonic() - started < 30


def test_a_silent_kafka_fails_quickly(silent_port: int) -> None:
    started = time.monotonic()
    result = run_pipeline("--timeout", "1", "subscribe", env={"PIPELINE_KAFKA_BOOTSTRAP": f"127.0.0.1:{silent_port}"})
    assert_message(result, exit_code=EXIT_UNAVAILABLE, says="cannot reach Kafka", where=str(silent_port))
    assert time.monotonic() - started < 30


def test_debug_shows_the_traceback() -> None:
    result = run_pipeline("--debug", "search", "missile")
    assert result.returncode == EXIT_UNAVAILABLE
    assert "Traceback" in result.stderr and "cannot reach Elasticsearch" in result.stderr


def test_waiting_for_elasticsearch_is_announced() -> None:
    """With Kafka up this wait is what `setup` and `index` do while Elasticsearch starts; here both are down,
    so the Elasticsearch wait is exercised through the client helper directly."""
    from pipeline.errors import ServiceUnavailable
    from pipeline.index.es import make_client, wait_until_ready
    from pipeline.settings import Settings

    client = make_client(Settings(elasticsearch_url=f"http://{DEAD}"))
    with pytest.raises(ServiceUnavailable) as raised:
        wait_until_ready(client, timeout_seconds=1)
    assert "not ready after 1s" in raised.value.what and raised.value.where == f"http://{DEAD}"


def test_passwords_are_never_shown() -> None:
    assert redact_url("https://elastic:s3cret@es.example:9200/x") == "https://elastic:***@es.example:9200/x"
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


def test_debug_by_log_level_too() -> None:
    result = run_pipeline("search", "missile", env={"PIPELINE_LOG_LEVEL": "DEBUG"})
    assert result.returncode == EXIT_UNAVAILABLE
    assert "Traceback" in result.stderr and "cannot reach Elasticsearch" in result.stderr


def test_a_bad_option_value_is_a_message() -> None:
    result = run_pipeline("reindex", "everything")
    assert_message(result, exit_code=EXIT_USAGE, says="cannot reindex 'everything'", where="")
    assert "choose articles, events or all" in result.stderr


def test_a_local_stack_that_cannot_start_is_a_message() -> None:
    # `./run demo` with port 9092 held by another process printed a traceback: the devstack's own error was not
    # among the expected failures the CLI turns into messages.
    from pipeline.devstack.process import DevstackError
    from pipeline.errors import explain

    failure = explain(DevstackError("Kafka cannot listen on 127.0.0.1:9092: the port is in use; stop it"))
    assert failure is not None and failure.exit_code == EXIT_UNAVAILABLE
    assert failure.lines() == ["error: Kafka cannot listen on 127.0.0.1:9092: the port is in use; stop it"]
