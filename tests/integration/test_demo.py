"""The main job (`pipeline demo`, what `./run demo` runs) on private topics, indices and state."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

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
