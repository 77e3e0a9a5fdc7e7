"""The fault suite: the whole pipeline under kills, outages and poison, counted.

For each scenario it publishes the same stories (POLECAT synthetic stories from ../shared/data/events) to
topics of its own, runs enricher workers and the indexer as supervised subprocesses (restarted whenever they
exit, as compose or systemd would), injects the scenario's faults into the local stack, waits until every
stage has caught up, and compares Elasticsearch with what a fault-free enrichment of the same stories yields
(computed in this process with the same code and model):

  articles / events expected vs found, lost, unexpected; reports of events lost; dead letters expected
  (only the fuzzed messages) vs found.

Scenarios: kills (SIGKILL the enricher 5x and the indexer 2x mid-run), es-freeze (SIGSTOP longer than the
indexer's max.poll.interval.ms), es-restart (SIGKILL, start again on its data), broker-restart (the same for
Kafka), write-block (index.blocks.write set, then lifted), fuzz (hypothesis-generated poison mixed into the
raw, enriched and event topics). ``--short`` runs one kill of each stage and one short outage of each service
in a single scenario (this is what ``./run test`` runs).

Faults need a local stack this process may break: ``./run up`` first (with PIPELINE_FAULT_TESTS=1 when the
stack was not started by a test run). Nothing outside the devstack's PID records is signalled.

    PIPELINE_FAULT_TESTS=1 nice -n 10 .venv/bin/python benchmarks/faults.py --articles 200
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from pipeline.devstack.faults import StackFaults, fault_injection_allowed
from pipeline.ids import article_id
from pipeline.index.es import ensure_indices, make_client
from pipeline.kafka import LagProbe, ensure_topics
from pipeline.records import DeadLetter, RawArticle
from pipeline.settings import Settings

STORIES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "events" / "polecat_synthetic_stories.csv"


def load_articles(count: int) -> list[RawArticle]:
    with STORIES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    articles = []
    for n, row in enumerate(rows):
        url = f"https://faults.example/story/{n}"
        articles.append(
            RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=row["title"], text=row["text"])
        )
    return articles


@dataclass(frozen=True)
class Expected:
    articles: frozenset[str]
    events: frozenset[str]
    reports: frozenset[tuple[str, str]]  # (event_id, article_id)


def expected_outcome(articles: list[RawArticle], settings: Settings) -> Expected:
    """What a fault-free run indexes: the same enrichment function and model the workers run."""
    from pipeline.enrich.core import EnrichmentFailure, enrich_articles
    from pipeline.enrich.nlp import load_nlp

    nlp = load_nlp(settings)
    reports: set[tuple[str, str]] = set()
    ids: set[str] = set()
    for start in range(0, len(articles), 32):
        for result in enrich_articles(articles[start : start + 32], nlp):
            if isinstance(result, EnrichmentFailure):
                raise RuntimeError(f"{result.article_id} fails enrichment even without faults: {result.reason}")
            ids.add(result.article.article_id)
            reports.update((event.event_id, result.article.article_id) for event in result.events)
    return Expected(frozenset(ids), frozenset(e for e, _ in reports), frozenset(reports))


# Poison -------------------------------------------------------------------------------------------------


def fuzzed_messages(count: int, valid: RawArticle) -> list[tuple[bytes | None, bytes]]:
    """``count`` (key, value) pairs no stage may accept, generated with hypothesis (fixed seed: repeatable)."""
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    template = json.loads(valid.model_dump_json())
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )
    broken_field = st.sampled_from(["text", "article_id", "revision", "published_at", "schema_version", "url"])
    mutated = st.builds(
        lambda name, value: json.dumps({**template, name: value}).encode(),
        broken_field,
        st.one_of(st.integers(-5, 0), st.lists(st.integers(), max_size=2), st.just("9.9"), st.none()),
    ).filter(lambda raw: json.loads(raw).get("schema_version") != "1.0" or _invalid_article(raw))
    values = st.one_of(
        st.binary(max_size=2_000),
        json_values.map(lambda value: json.dumps(value).encode()),
        mutated,
        st.just(b""),
        st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    ).filter(_invalid_article)
    text_keys = st.text(max_size=16).map(lambda t: t.encode("utf-8", "surrogatepass"))
    keys = st.one_of(st.none(), st.binary(max_size=16), text_keys)
    collected: list[tuple[bytes | None, bytes]] = []

    @hypothesis_settings(
        max_examples=count * 3,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(keys, values)
    def collect(key: bytes | None, value: bytes) -> None:
        if len(collected) < count:
            collected.append((key, value))

    collect()
    return collected


def _invalid_article(value: bytes) -> bool:
    try:
        RawArticle.model_validate_json(value)
    except ValueError:
        return True
    return False


# Supervised stages --------------------------------------------------------------------------------------


class Supervised:
    """A stage subprocess restarted whenever it exits (as a supervisor would), with its exits counted."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> None:
        self.name, self.argv, self.env, self.log, self.cwd = name, argv, env, log, cwd
        self.exits: list[int] = []
        self.kills = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._start()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd)

    def _watch(self) -> None:
        delay = 1.0
        started = time.monotonic()
        while not self._stopping.wait(0.5):
            with self._lock:
                if self.process is None or self.process.poll() is None:
                    continue
                self.exits.append(self.process.returncode)
            # Back off like a supervisor: a stage that fails at once (its service is away) is not spun.
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 20.0)
            if self._stopping.wait(delay):
                return
            with self._lock:
                self._start()
                started = time.monotonic()

    def kill(self, timeout: float = 300.0) -> None:
        """SIGKILL the running process; while it is being restarted, wait for the new one first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.process is not None and self.process.poll() is None:
                    self.process.send_signal(signal.SIGKILL)
                    # Until the kernel has delivered it, the process still looks alive: a second kill right
                    # away would hit the same process.
                    self.process.wait(timeout=30)
                    self.kills += 1
                    return
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} did not come back within {timeout:.0f}s")

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()


@dataclass
class Run:
    """One scenario's private topics, indices and running stages."""

    name: str
    settings: Settings
    workdir: Path
    es: Elasticsearch
    enrichers: list[Supervised] = field(default_factory=list)
    indexer: Supervised | None = None
    fuzzed: set[tuple[str, int, int]] = field(default_factory=set)  # (topic, partition, offset)

    def published(self, producer: KafkaProducer, topic: str, key: bytes | None, value: bytes) -> tuple[str, int, int]:
        metadata = producer.send(topic, key=key, value=value).get(timeout=60)
        return (topic, metadata.partition, metadata.offset)


def private_settings(base: Settings, scenario: str, workdir: Path, overrides: dict[str, Any]) -> Settings:
    suffix = f"faults-{scenario}-{uuid.uuid4().hex[:6]}"
    return base.model_copy(
        update={
            "topic_raw": f"{suffix}.articles.raw",
            "topic_enriched": f"{suffix}.articles.enriched",
            "topic_events": f"{suffix}.events.enriched",
            "topic_dead_letter": f"{suffix}.deadletter",
            "enricher_group": f"{suffix}-enricher",
            "indexer_group": f"{suffix}-indexer",
            "index_articles": f"{suffix}-articles",
            "index_events": f"{suffix}-events",
            "data_dir": workdir,
            **overrides,
        }
    )


@contextmanager
def pipeline_run(
    base: Settings, scenario: str, workdir: Path, workers: int, overrides: dict[str, Any]
) -> Iterator[Run]:
    workdir.mkdir(parents=True, exist_ok=True)
    settings = private_settings(base, scenario, workdir, overrides)
    ensure_topics(settings)
    es = make_client(settings, request_timeout=60)
    ensure_indices(es, settings)
    env = {**os.environ, **settings.as_env()}
    run = Run(scenario, settings, workdir, es)
    command = [sys.executable, "-m", "pipeline"]
    try:
        enrich = [*command, "enrich", "--loglevel", "warning"]
        run.enrichers = [
            Supervised(f"enricher-{n}", enrich, env, workdir / f"enricher-{n}.log") for n in range(workers)
        ]
        run.indexer = Supervised("indexer", [*command, "index"], env, workdir / "indexer.log")
        yield run
    finally:
        for stage in [*run.enrichers, *([run.indexer] if run.indexer else [])]:
            stage.stop()
        es.options(ignore_status=[400, 404]).indices.delete(
            index=[settings.index_articles, settings.index_events], ignore_unavailable=True
        )
        for index in (settings.index_articles, settings.index_events):
            es.options(ignore_status=404).indices.delete_index_template(name=f"pipeline-{index}")


def publish(run: Run, articles: list[RawArticle], pause: float = 0.0) -> None:
    producer = KafkaProducer(bootstrap_servers=run.settings.kafka, acks="all", linger_ms=5)
    try:
        for article in articles:
            producer.send(run.settings.topic_raw, key=article.article_id.encode(), value=article.to_json_bytes())
            if pause:
                time.sleep(pause)
        producer.flush(timeout=60)
    finally:
        producer.close()


def publish_poison(run: Run, poison: list[tuple[bytes | None, bytes]]) -> None:
    """Poison into all three topics a stage reads; remembers where each landed."""
    producer = KafkaProducer(bootstrap_servers=run.settings.kafka, acks="all")
    topics = [run.settings.topic_raw, run.settings.topic_enriched, run.settings.topic_events]
    try:
        for n, (key, value) in enumerate(poison):
            run.fuzzed.add(run.published(producer, topics[n % 3], key, value))
    finally:
        producer.close()


# Measuring --------------------------------------------------------------------------------------------


def progress(run: Run) -> int:
    """Articles indexed so far (0 while Elasticsearch is away)."""
    try:
        run.es.indices.refresh(index=run.settings.index_articles)
        return int(run.es.count(index=run.settings.index_articles)["count"])
    except Exception:
        return 0


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass  # a service is away: ask again
        time.sleep(1.0)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s")


def drained(run: Run, probe: LagProbe) -> bool:
    s = run.settings
    return (
        probe.lag(s.enricher_group, [s.topic_raw]) == 0
        and probe.lag(s.indexer_group, [s.topic_enriched, s.topic_events]) == 0
    )


def read_dead_letters(settings: Settings) -> list[DeadLetter]:
    from pipeline.deadletters.topic import read_letters

    try:
        return [letter.record for letter in read_letters(settings)]
    except Exception:
        return []


def all_ids(es: Elasticsearch, index: str, fields: list[str]) -> list[dict[str, Any]]:
    es.indices.refresh(index=index)
    hits: list[dict[str, Any]] = []
    response = es.search(index=index, size=1000, source_includes=fields, sort=["_doc"], scroll="1m")
    while response["hits"]["hits"]:
        hits.extend({"_id": h["_id"], **h["_source"]} for h in response["hits"]["hits"])
        response = es.scroll(scroll_id=response["_scroll_id"], scroll="1m")
    return hits


@dataclass
class Outcome:
    scenario: str
    expected: Expected
    articles_found: set[str]
    events_found: set[str]
    reports_found: set[tuple[str, str]]
    fuzzed: int
    letters_for_fuzzed: int
    unexpected_letters: list[str]
    restarts: dict[str, str]
    seconds: float

    @property
    def ok(self) -> bool:
        e = self.expected
        return (
            self.articles_found == set(e.articles)
            and self.events_found == set(e.events)
            and set(e.reports) <= self.reports_found
            and self.letters_for_fuzzed == self.fuzzed
            and not self.unexpected_letters
        )

    def line(self) -> str:
        e = self.expected
        return (
            f"{self.scenario:<15} articles {len(self.articles_found):>4}/{len(e.articles):<4} "
            f"lost {len(e.articles - self.articles_found):>3} unexpected {len(self.articles_found - e.articles):>3} | "
            f"events {len(self.events_found):>5}/{len(e.events):<5} lost {len(e.events - self.events_found):>3} "
            f"unexpected {len(self.events_found - e.events):>3} "
            f"reports lost {len(e.reports - self.reports_found):>3} | "
            f"dead letters {self.letters_for_fuzzed}/{self.fuzzed} unexpected {len(self.unexpected_letters)} | "
            f"restarts {self.restarts} | {self.seconds:.0f}s {'OK' if self.ok else 'FAIL'}"
        )


def measure(run: Run, expected: Expected, began: float, timeout: float) -> Outcome:
    probe = LagProbe(run.settings)
    try:
        wait_until(lambda: drained(run, probe), timeout, f"{run.name}: every stage caught up")
    finally:
        probe.close()
    time.sleep(2)  # the last batch's refresh
    articles = {hit["_id"] for hit in all_ids(run.es, run.settings.index_articles, ["article_id"])}
    events = all_ids(run.es, run.settings.index_events, ["article_ids"])
    reports = {(hit["_id"], a) for hit in events for a in hit.get("article_ids") or []}
    letters = read_dead_letters(run.settings)
    for_fuzzed = {(lt.source_topic, lt.partition, lt.offset) for lt in letters} & run.fuzzed
    unexpected = [
        f"{lt.stage} {lt.key}: {lt.reason[:120]}"
        for lt in letters
        if (lt.source_topic, lt.partition, lt.offset) not in run.fuzzed
    ]
    stages = [*run.enrichers, *([run.indexer] if run.indexer else [])]
    restarts = {s.name: f"{len(s.exits)} ({s.kills} SIGKILL)" for s in stages if s.exits}
    return Outcome(
        run.name,
        expected,
        articles,
        {hit["_id"] for hit in events},
        reports,
        len(run.fuzzed),
        len(for_fuzzed),
        unexpected,
        restarts,
        time.monotonic() - began,
    )


# Scenarios --------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    faults: Callable[[Run, StackFaults, list[RawArticle]], None]
    overrides: dict[str, Any] = field(default_factory=dict)


def _halfway(run: Run, total: int, share: float, timeout: float = 600) -> None:
    wait_until(lambda: progress(run) >= int(total * share), timeout, f"{share:.0%} of the articles indexed")


def kills(enricher_kills: int, indexer_kills: int) -> Callable[[Run, StackFaults, list[RawArticle]], None]:
    def inject(run: Run, faults: StackFaults, articles: list[RawArticle]) -> None:
        publish(run, articles)
        steps = enricher_kills + indexer_kills
        for step in range(steps):
            _halfway(run, len(articles), (step + 1) / (steps + 2))
            if step < enricher_kills:
                run.enrichers[step % len(run.enrichers)].kill()
            else:
                assert run.indexer is not None
                run.indexer.kill()

    return inject


def es_freeze(seconds: float) -> Callable[[Run, StackFaults, list[RawArticle]], None]:
    def inject(run: Run, faults: StackFaults, articles: list[RawArticle]) -> None:
        publish(run, articles)
        _halfway(run, len(articles), 0.2)
        faults.freeze_elasticsearch()
        try:
            time.sleep(seconds)
        finally:
            faults.thaw_elasticsearch()

    return inject


def es_restart(run: Run, faults: StackFaults, articles: list[RawArticle]) -> None:
    publish(run, articles)
    _halfway(run, len(articles), 0.2)
    faults.kill_elasticsearch()
    time.sleep(5)
    faults.restart_elasticsearch()


def broker_restart(run: Run, faults: StackFaults, articles: list[RawArticle]) -> None:
    half = len(articles) // 3
    publish(run, articles[:half])
    _halfway(run, len(articles), 0.1)
    faults.kill_kafka()
    time.sleep(5)
    faults.restart_kafka()
    publish(run, articles[half:])


def write_block(seconds: float) -> Callable[[Run, StackFaults, list[RawArticle]], None]:
    def inject(run: Run, faults: StackFaults, articles: list[RawArticle]) -> None:
        publish(run, articles)
        _halfway(run, len(articles), 0.2)
        indices = [run.settings.index_articles, run.settings.index_events]
        run.es.indices.put_settings(index=indices, settings={"index.blocks.write": True})
        time.sleep(seconds)
        run.es.indices.put_settings(index=indices, settings={"index.blocks.write": False})

    return inject


def fuzz(count: int) -> Callable[[Run, StackFaults, list[RawArticle]], None]:
    def inject(run: Run, faults: StackFaults, articles: list[RawArticle]) -> None:
        poison = fuzzed_messages(count, articles[0])
        half = len(articles) // 2
        publish(run, articles[:half])
        publish_poison(run, poison)
        publish(run, articles[half:])

    return inject


def short_suite(run: Run, faults: StackFaults, articles: list[RawArticle]) -> None:
    """One kill of each stage, one short outage of each service, a write block and poison, in one run."""
    third = len(articles) // 3
    publish(run, articles[:third])
    publish_poison(run, fuzzed_messages(6, articles[0]))
    _halfway(run, len(articles), 0.1)
    run.enrichers[0].kill()
    assert run.indexer is not None
    run.indexer.kill()
    faults.freeze_elasticsearch()
    try:
        time.sleep(run.settings.indexer_max_poll_interval_ms / 1000 + 4)
    finally:
        faults.thaw_elasticsearch()
    faults.kill_kafka()
    time.sleep(2)
    faults.restart_kafka()
    publish(run, articles[third:])
    faults.kill_elasticsearch()
    faults.restart_elasticsearch()
    _halfway(run, len(articles), 0.5)
    indices = [run.settings.index_articles, run.settings.index_events]
    run.es.indices.put_settings(index=indices, settings={"index.blocks.write": True})
    time.sleep(5)
    run.es.indices.put_settings(index=indices, settings={"index.blocks.write": False})


# Lower than the defaults so outages outlast them quickly; the stall watch gives up on a stuck enricher sooner.
FAST = {"indexer_max_poll_interval_ms": 15_000, "indexer_retry_max_seconds": 5.0, "enrich_stall_seconds": 60.0}

FULL = [
    Scenario("kills", kills(5, 2)),
    Scenario("es-freeze", es_freeze(40), {**FAST, "indexer_max_poll_interval_ms": 20_000}),
    Scenario("es-restart", es_restart, FAST),
    Scenario("broker-restart", broker_restart, FAST),
    Scenario("write-block", write_block(30), FAST),
    Scenario("fuzz", fuzz(60)),
]
SHORT = [Scenario("short", short_suite, {**FAST, "indexer_max_poll_interval_ms": 10_000})]


def run_scenarios(
    base: Settings,
    scenarios: list[Scenario],
    articles: list[RawArticle],
    workers: int,
    workdir: Path,
    timeout: float = 900,
    echo: Callable[[str], None] = print,
) -> list[Outcome]:
    why_not = fault_injection_allowed(base)
    if why_not:
        raise SystemExit(f"cannot inject faults: {why_not}")
    expected = expected_outcome(articles, base)
    echo(
        f"expected without faults: {len(expected.articles)} articles, {len(expected.events)} events, "
        f"{len(expected.reports)} event reports"
    )
    outcomes = []
    faults = StackFaults(base)
    for scenario in scenarios:
        began = time.monotonic()
        with pipeline_run(base, scenario.name, workdir / scenario.name, workers, scenario.overrides) as run:
            scenario.faults(run, faults, articles)
            outcome = measure(run, expected, began, timeout)
        echo(outcome.line())
        for letter in outcome.unexpected_letters[:5]:
            echo(f"    unexpected dead letter: {letter}")
        outcomes.append(outcome)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="enricher worker processes")
    parser.add_argument("--short", action="store_true", help="the short suite ./run test runs")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    parser.add_argument("--workdir", type=Path, default=Path(".pipeline/faults"))
    args = parser.parse_args()
    configured = Settings()
    base = configured.model_copy(
        update={"kafka_bootstrap": configured.kafka, "elasticsearch_url": configured.elasticsearch}
    )
    scenarios = SHORT if args.short else [s for s in FULL if not args.only or s.name in args.only]
    outcomes = run_scenarios(base, scenarios, load_articles(args.articles), args.workers, args.workdir.absolute())
    failed = [o.scenario for o in outcomes if not o.ok]
    print(
        f"{len(outcomes) - len(failed)}/{len(outcomes)} scenarios with zero lost and zero unexpected"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
