"""The main job (`pipeline demo`, what `./run demo` runs) on private topics, indices and state."""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from pipeline.devstack import kafka as devstack_kafka
from pipeline.devstack.faults import fault_injection_allowed
from pipeline.devstack.layout import Layout
from pipeline.devstack.process import port_is_free
from pipeline.index.es import delete_indices, make_client
from pipeline.kafka import pipeline_topics
from pipeline.settings import Settings
from tests.integration.stages import private_settings, settings_env

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_runs_the_whole_pipeline_on_the_samples(kafka_bootstrap: str, es_url: str, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    env = dict(
        os.environ,
        COLUMNS="160",
        PIPELINE_KAFKA_BOOTSTRAP=kafka_bootstrap,
        PIPELINE_ELASTICSEARCH_URL=es_url,
        PIPELINE_TOPIC_RAW=f"demo-{suffix}.articles.raw",
        PIPELINE_TOPIC_ENRICHED=f"demo-{suffix}.articles.enriched",
        PIPELINE_TOPIC_EVENTS=f"demo-{suffix}.events.enriched",
        PIPELINE_TOPIC_DEAD_LETTER=f"demo-{suffix}.deadletter",
        PIPELINE_ENRICHER_GROUP=f"demo-{suffix}-enricher",
        PIPELINE_INDEXER_GROUP=f"demo-{suffix}-indexer",
        PIPELINE_INDEX_ARTICLES=f"demo-{suffix}-articles",
        PIPELINE_INDEX_EVENTS=f"demo-{suffix}-events",
        PIPELINE_STATE_PATH=str(tmp_path / "collector.sqlite3"),
        PIPELINE_DEMO_PORT=str(_free_port()),
    )

    def demo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", "demo", "--max-wait", "240"],
            capture_output=True,
            text=True,
            timeout=400,
            env=env,
        )

    env.update(
        PIPELINE_TOPIC_SUBSCRIPTIONS=f"demo-{suffix}.subscriptions",
        PIPELINE_TOPIC_SUBSCRIPTION_PREFIX=f"demo-{suffix}.events.sub.",
    )

    def pipeline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=120, env=env
        )

    try:
        done = demo()
        again = demo()  # the samples are published again: same ids, so nothing is counted twice
        # What a new user does next (issue 11): a named subscription fills from the demo's events.
        added = pipeline("subscriptions", "add", "korea", "--country", "KOR", "--min-confidence", "0.6")
        shown = pipeline("subscriptions", "show", "korea", "--json")
    finally:
        es = Elasticsearch(es_url)
        es.indices.delete(index=f"demo-{suffix}-*", ignore_unavailable=True, allow_no_indices=True)
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"demo-{suffix}.")])
        admin.close()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    # Seven sample stories; the syndicated copy is recognised as a duplicate and not published.
    assert re.search(r"articles indexed\s+│ 7\s", out), out[-3000:]
    assert "events per type" in out and "CONSULT" in out
    assert "for 'missile'" in out and "North Korea" in out
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]

    def counts(text: str) -> list[str]:
        return re.findall(r"(?:articles|events) indexed\s+│ (\d+)", text)

    assert counts(again.stdout) == counts(out)

    assert added.returncode == 0, added.stdout + added.stderr
    backfilled = re.search(r"backfilled (\d+) changes", added.stdout)
    assert backfilled and int(backfilled.group(1)) > 0, added.stdout
    changes = [json.loads(line) for line in shown.stdout.splitlines()]
    assert len(changes) == int(backfilled.group(1))
    for change in changes:
        event = change["event"]
        places = {(event.get(role) or {}).get("country_code") for role in ("source", "target", "location")}
        assert "KOR" in places and event["confidence"] >= 0.6
        assert event["articles"] and all(ref["url"].startswith("http") for ref in event["articles"])
    assert len({c["event_id"] for c in changes if c["change"] == "create"}) == len({c["event_id"] for c in changes})


def _free_block(size: int, also: int) -> int:
    """A base port with ``size`` consecutive ports, and each of them + ``also``, free (ES transport: HTTP + 100)."""
    for _ in range(200):
        base = random.randrange(28000, 28800)
        if all(port_is_free(base + i) and port_is_free(base + i + also) for i in range(size)):
            return base
    raise RuntimeError("no free ports for a stack of the test's own")


@pytest.mark.timeout(420)
def test_run_test_after_the_demo_owns_the_stack_the_demo_left(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's two commands in one clone: `./run demo` leaves its local stack up, then `./run test` must
    still have a stack it may inject faults into (before, its three fault-injection modules skipped, or failed
    under CI=true); and a stack started with `./run up` must stay one it never faults or stops.

    A stack of the test's own (a devstack dir and ports of its own), started by the real `pipeline demo`, which
    stops at the sample server's port (held here) once its stack is up and set up: enriching the samples would
    change nothing about who holds the stack. Then `./run test`'s own question to `up`, as `run` asks it."""
    main = Layout.from_settings(settings)
    stack_dir = main.root / "dedicated" / f"demo-then-test-{uuid.uuid4().hex[:8]}"
    stack_dir.mkdir(parents=True)
    if main.artifacts.is_dir():  # warm: no Maven run for a second devstack dir
        (stack_dir / "artifacts").symlink_to(main.artifacts)
    if main.es_dist == main.root / "dist" and main.es_dist.is_dir():  # not as root, the unpacked ES is per dir too
        (stack_dir / "dist").symlink_to(main.es_dist)
    base = _free_block(4, 100)
    stack_env = {
        "PIPELINE_DEVSTACK_DIR": str(stack_dir),
        "PIPELINE_DEVSTACK_KAFKA_PORT": str(base),
        "PIPELINE_DEVSTACK_KAFKA_CONTROLLER_PORT": str(base + 1),
        "PIPELINE_DEVSTACK_KAFKA_SASL_PORT": str(base + 2),
        "PIPELINE_DEVSTACK_ES_PORT": str(base + 3),
    }
    # Nothing configured, as for a new user: the demo and `up` use the local stack. Nothing of this run's either.
    unset = {"PIPELINE_KAFKA_BOOTSTRAP", "PIPELINE_ELASTICSEARCH_URL", "PIPELINE_FAULT_TESTS", "DEVSTACK_STARTED"}
    env = {key: value for key, value in os.environ.items() if key not in {*unset, "DEVSTACK_TEST_RUN"}}
    env.update(stack_env, PIPELINE_DATA_DIR=str(tmp_path / "data"), COLUMNS="160")

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", *args], capture_output=True, text=True, timeout=300, env={**env, **extra}
        )

    def test_run_up() -> dict[str, str]:
        """What `./run test` does for its stack: `up --print-env` told it is a test run, its lines `eval`ed."""
        done = run("pipeline.devstack", "up", "--print-env", DEVSTACK_TEST_RUN=str(os.getpid()))
        assert done.returncode == 0, done.stderr[-3000:]
        lines = [shlex.split(line.removeprefix("export ")) for line in done.stdout.splitlines()]
        return dict(word.split("=", 1) for words in lines for word in words)

    def faults_allowed(exported: dict[str, str]) -> str | None:
        """What the fault tests ask (`fault_injection_allowed`), in the environment `./run test` gives them."""
        for key, value in {**stack_env, **exported}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("PIPELINE_FAULT_TESTS", raising=False)
        return fault_injection_allowed(Settings())

    stack = Layout.from_settings(Settings(**{key.removeprefix("PIPELINE_").lower(): v for key, v in stack_env.items()}))
    try:
        with socket.socket() as taken:  # the demo's sample server cannot bind: the demo stops there
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            demo = run("pipeline", "demo", PIPELINE_DEMO_PORT=str(taken.getsockname()[1]))
        assert devstack_kafka.running_record(stack) is not None, demo.stdout[-3000:] + demo.stderr[-3000:]

        exported = test_run_up()
        assert exported["DEVSTACK_STARTED"], "`./run test` got no stack of its own: its fault tests would not run"
        assert faults_allowed(exported) is None

        # A developer's `./run up` on that stack makes it theirs: a later test run only reuses it.
        up = run("pipeline.devstack", "up")
        assert up.returncode == 0, up.stderr[-3000:]
        exported = test_run_up()
        assert exported["DEVSTACK_STARTED"] == "", "a test run took over a stack started with ./run up"
        assert faults_allowed(exported) is not None
    finally:
        down = run("pipeline.devstack", "down")
        shutil.rmtree(stack.es_root, ignore_errors=True)
        shutil.rmtree(stack_dir, ignore_errors=True)
    assert down.returncode == 0, down.stderr[-3000:]


def test_demo_says_when_its_sample_port_is_taken(settings: Settings) -> None:
    """Another demo (or anything) on PIPELINE_DEMO_PORT: one line saying so and what to do, exit 69; it was a
    traceback of OSError. On the run's services, under names of the test's own (set-up runs before the port)."""
    own = private_settings(settings, "demoport")
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            demo = subprocess.run(
                [sys.executable, "-m", "pipeline", "demo"],
                capture_output=True,
                text=True,
                timeout=120,
                env={**settings_env(own), "PIPELINE_DEMO_PORT": str(port)},
            )
    finally:
        delete_indices(make_client(own), own)
        admin = KafkaAdminClient(bootstrap_servers=own.kafka)
        admin.delete_topics([t for t in admin.list_topics() if t in pipeline_topics(own)])
        admin.close()
    assert "Traceback" not in demo.stderr, demo.stderr[-3000:]
    assert f"the demo cannot serve its sample feed on 127.0.0.1:{port}" in demo.stderr, demo.stderr[-3000:]
    assert "PIPELINE_DEMO_PORT" in demo.stderr
    assert demo.returncode == 69
