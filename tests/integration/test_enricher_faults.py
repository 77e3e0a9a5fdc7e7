"""The enricher when the broker refuses what it produces or restarts mid-run, and with an article at the size limit.

Each test runs `pipeline enrich` as a subprocess on topics of its own; the broker's per-topic message size
limit (max.message.bytes) makes a real produce fail.
"""

from __future__ import annotations

import csv
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from kafka import KafkaAdminClient

from pipeline.devstack.faults import StackFaults, fault_injection_allowed
from pipeline.ids import article_id
from pipeline.kafka import client_options, ensure_topics
from pipeline.records import RawArticle
from pipeline.settings import Settings
from tests.integration.stages import (
    count,
    dead_letters,
    private_indices,
    private_settings,
    producer,
    read_topic,
    running_indexer,
    settings_env,
    wait_for,
)
from tests.prerequisites import prerequisite_missing

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "seed-article-korea-2025.txt"
STORIES = SEED.parents[1] / "data" / "events" / "polecat_synthetic_stories.csv"


def raw(n: int, text: str) -> RawArticle:
    url = f"https://enricher-faults.example/{n}"
    return RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=f"Story {n}", text=text)


def stories(count: int) -> list[RawArticle]:
    """Short synthetic news stories: a backlog that one worker enriches in tens of seconds."""
    with STORIES.open(encoding="utf-8", newline="") as handle:
        rows = list(itertools.islice(csv.DictReader(handle), count))
    return [raw(n, row["text"]) for n, row in enumerate(rows, start=1000)]


def publish_raw(settings: Settings, articles: list[RawArticle]) -> None:
    p = producer(settings)
    for a in articles:
        p.send(settings.topic_raw, key=a.article_id.encode(), value=a.to_json_bytes())
    p.flush(timeout=30)
    p.close()


@contextmanager
def enricher(
    settings: Settings, log: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "enrich", "--loglevel", "warning"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**settings_env(settings), **(extra_env or {})},
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            print(f"--- enricher log (tail) ---\n{log.read_text(errors='replace')[-3000:]}")


def make_topics(settings: Settings, limits: dict[str, int]) -> None:
    for topic in (settings.topic_raw, settings.topic_enriched, settings.topic_events, settings.topic_dead_letter):
        config = {"max.message.bytes": str(limits[topic])} if topic in limits else None
        ensure_topics(settings, [topic], config=config)


def test_an_output_the_broker_refuses_dead_letters_its_source(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    private = private_settings(settings, "enf", data_dir=tmp_path)
    make_topics(private, {private.topic_enriched: 600})  # no enriched article fits
    article = raw(1, SEED.read_text(encoding="utf-8"))
    with enricher(private, tmp_path / "enricher.log") as process:
        publish_raw(private, [article])
        wait_for(lambda: bool(dead_letters(private)), "the source dead-lettered", timeout=180)
        assert process.poll() is None, "the enricher should carry on"
    (letter,) = dead_letters(private)
    assert letter.stage == "enrich" and "could not be produced" in letter.reason
    assert letter.original_payload() == article.to_json_bytes() and letter.source_topic == private.topic_raw


def test_an_enricher_that_cannot_dead_letter_exits_non_zero_instead_of_hanging(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    private = private_settings(settings, "enx", data_dir=tmp_path)
    make_topics(private, {private.topic_enriched: 600, private.topic_dead_letter: 600})
    with enricher(private, tmp_path / "enricher.log") as process:
        publish_raw(private, [raw(2, SEED.read_text(encoding="utf-8"))])
        process.wait(timeout=180)
    assert process.returncode == 70
    assert "cannot go on" in (tmp_path / "enricher.log").read_text(errors="replace")


def test_an_enricher_joins_its_consumer_group_only_once_its_pipeline_is_loaded(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A member that joins and then loads for seconds holds its partitions' articles back and slows every
    rebalance (the load holds the GIL against the consumer's thread): two workers starting together on new topics
    once left the first article unread (NOTES.md, tenth session)."""
    private = private_settings(settings, "enj", data_dir=tmp_path)
    make_topics(private, {})
    log = tmp_path / "enricher.log"
    admin = KafkaAdminClient(client_id="it-enricher-join", **client_options(private))

    def members() -> int:
        (group,) = admin.describe_consumer_groups([private.enricher_group])
        return len(group.members)

    try:
        with enricher(private, log, {"PYTHONUNBUFFERED": "1"}):
            wait_for(lambda: members() > 0, "the enricher in its consumer group", timeout=180)
            joined_after = log.read_text(errors="replace")
    finally:
        admin.close()
    assert "parse process ready" in joined_after, "the worker joined its group before its pipeline was loaded"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serves_metrics(port: int) -> bool:
    try:
        return "pipeline_articles_enriched_total" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return False


def test_an_enricher_whose_send_raises_binds_the_metrics_port_once_and_exits_non_zero(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = free_port()
    private = private_settings(settings, "enm", data_dir=tmp_path, metrics_port=port)
    make_topics(private, {})
    log = tmp_path / "enricher.log"
    # Faust reads its producer settings from the environment too: a client-side request limit below every output
    # makes each send raise in the agent (MessageSizeTooLargeError), the dead letter's as well.
    with enricher(private, log, {"PRODUCER_MAX_REQUEST_SIZE": "600"}) as process:
        wait_for(lambda: serves_metrics(port), "/metrics served", timeout=120)
        publish_raw(private, [raw(4, SEED.read_text(encoding="utf-8"))])
        bound_twice = ("Address already in use", "metrics not served")
        wait_for(
            lambda: process.poll() is not None or any(sign in log.read_text(errors="replace") for sign in bound_twice),
            "the enricher to exit",
            timeout=180,
        )
        output = log.read_text(errors="replace")
        assert not [sign for sign in bound_twice if sign in output], "the metrics port was bound a second time"
        process.wait(timeout=60)
    assert process.returncode == 70
    assert "cannot go on" in output


def test_an_article_at_the_size_limit_is_enriched_and_indexed(
    settings: Settings, kafka_bootstrap: str, es_url: str, tmp_path: Path
) -> None:
    private = private_settings(settings, "enl", data_dir=tmp_path)
    make_topics(private, {})
    seed = SEED.read_text(encoding="utf-8")
    # At the limit: seed text repeated, and one 20,000-character run without a full stop (an unbounded sentence).
    run_on = " and ".join(["North Korea fired a missile toward Japan"] * 500)
    text = (run_on + " " + seed * 100)[: private.max_text_chars]
    article = raw(3, text)
    assert len(text) == private.max_text_chars
    with private_indices(private) as es, enricher(private, tmp_path / "enricher.log"), running_indexer(private):
        publish_raw(private, [article])
        wait_for(lambda: count(es, private.index_articles) == 1, "the article indexed", timeout=280)
        wait_for(lambda: count(es, private.index_events) > 0, "its events indexed", timeout=60)
        events = es.search(index=private.index_events, size=100)["hits"]["hits"]
        assert all(len(hit["_source"]["evidence"]["sentence"]) <= 1_000 for hit in events)
    assert dead_letters(private) == []


def enriched_ids(settings: Settings) -> set[str]:
    """Article ids on the enriched topic (none while the broker is away)."""
    try:
        return {m.key.decode() for m in read_topic(settings, settings.topic_enriched)}
    except Exception:
        return set()


@pytest.mark.stack_killing  # kills and restarts the stack's broker: runs last (tests/conftest.py)
@pytest.mark.timeout(600)
def test_a_broker_restart_mid_run_does_not_stall_the_enricher(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The issue's reproduction, smaller: one enricher with a backlog, the broker SIGKILLed while batches are in
    hand and started again on its data. Every article must come out, the enricher restarted whenever it exits
    (as a supervisor would): an enricher that is alive but stalled for good fails this."""
    why_not = fault_injection_allowed(settings)
    if why_not:
        prerequisite_missing(f"no fault injection: {why_not}")
    faults = StackFaults(settings)
    private = private_settings(
        settings, "enb", data_dir=tmp_path, topic_partitions=3, enrich_batch_size=8, enrich_stall_seconds=30.0
    )
    make_topics(private, {})
    articles = stories(90)
    wanted = {a.article_id for a in articles}
    log = tmp_path / "enricher.log"
    exits: list[int | None] = []
    with ExitStack() as stages:
        process = stages.enter_context(enricher(private, log))
        publish_raw(private, articles)
        # Killed once the first batch is out: the next ones are in hand, parsed or being sent.
        wait_for(lambda: len(enriched_ids(private)) >= 8, "the first batch enriched", timeout=240)
        faults.kill_kafka()
        time.sleep(5)  # the outage itself (its length is the fault), not a wait for something to happen
        faults.restart_kafka()

        def all_enriched() -> bool:
            nonlocal process
            if process.poll() is not None:  # restarted, as a supervisor would
                exits.append(process.returncode)
                process = stages.enter_context(enricher(private, log))
            return enriched_ids(private) >= wanted

        try:
            wait_for(all_enriched, "every article enriched after the broker restart", timeout=240)
        finally:
            print(f"enricher exits: {exits}; enriched {len(enriched_ids(private) & wanted)}/{len(wanted)}")


@pytest.mark.parametrize("parse_process", [True, False], ids=["parse-process", "one-process"])
def test_an_enricher_that_reloads_its_pipeline_mid_run_enriches_every_article(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path, parse_process: bool
) -> None:
    """The worker loads its spaCy pipeline afresh after PIPELINE_ENRICH_MODEL_RELOAD_ARTICLES (to give back the
    words spaCy collects), with its parse process or without one; batches on either side of a reload all come
    out."""
    private = private_settings(
        settings,
        "enr",
        data_dir=tmp_path,
        enrich_batch_size=4,
        enrich_model_reload_articles=4,
    )
    make_topics(private, {})
    articles = stories(10)
    log = tmp_path / "enricher.log"
    env = {"PIPELINE_LOG_LEVEL": "INFO", "PIPELINE_ENRICH_PARSE_PROCESS": str(parse_process).lower()}
    with enricher(private, log, env):
        publish_raw(private, articles)
        wait_for(lambda: enriched_ids(private) >= {a.article_id for a in articles}, "every article enriched", 240)
    text = log.read_text(errors="replace")
    assert "reloading the spaCy pipeline" in text
    assert ("starting a fresh parse process" in text) == parse_process
    assert ("parse process ready" in text) == parse_process


def parse_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    """The worker's parse process(es): its children (of any of its threads) running multiprocessing's spawn."""
    children = [pid for task in Path(f"/proc/{worker.pid}/task").glob("*/children") for pid in task.read_text().split()]
    return [int(pid) for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]


def test_a_parse_process_killed_mid_run_is_replaced_and_nothing_is_lost(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """SIGKILL the worker's parse process while it holds batches: the worker parses them again in a new one,
    every article comes out exactly once, nothing is dead-lettered, and the worker never exits."""
    private = private_settings(settings, "enp", data_dir=tmp_path, enrich_batch_size=8)
    make_topics(private, {})
    articles = stories(400)  # about twenty seconds of parsing: the kill falls on batches in hand
    wanted = {a.article_id for a in articles}
    log = tmp_path / "enricher.log"
    with enricher(private, log, {"PIPELINE_LOG_LEVEL": "INFO"}) as process:
        wait_for(lambda: "parse process ready" in log.read_text(errors="replace"), "the parse process", 120)
        (first,) = parse_processes(process)
        publish_raw(private, articles)
        wait_for(lambda: "batch enriched" in log.read_text(errors="replace"), "the first batch enriched", 240)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: enriched_ids(private) >= wanted, "every article enriched after the kill", timeout=240)
        assert process.poll() is None, "the worker exited"
        assert parse_processes(process) and first not in parse_processes(process)
    keys = [m.key.decode() for m in read_topic(private, private.topic_enriched)]
    assert sorted(keys) == sorted(wanted)  # exactly once
    assert dead_letters(private) == []
    assert "the parse process died" in log.read_text(errors="replace")
