"""The issue's broker-restart recipe as it was run: the local stack's only Kafka broker SIGKILLed a third of the way
into a backlog and brought back with `./run up` (`pipeline devstack up`), then the rest of the stories published.

Until 643f867, with no broker of the stack running, `devstack up` started one on a freshly formatted log dir (a new
cluster id), so the broker came back empty: no topics, no committed offsets, no consumer group, and no stage could
get back what was lost. Now `up` starts it again on its data. This prints the cluster id before and after, and what
one enricher (of this checkout, or of another one with --checkout, e.g. a worktree at an older commit) makes of it;
the devstack that restarts the broker is always this checkout's.

    PIPELINE_FAULT_TESTS=1 nice -n 10 .venv/bin/python benchmarks/broker_up_after_kill.py [--checkout DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from faults import Run, Supervised, load_articles, private_settings, publish  # benchmarks/faults.py
from kafka import KafkaAdminClient, KafkaConsumer

from pipeline.devstack.faults import StackFaults, fault_injection_allowed
from pipeline.index.es import make_client
from pipeline.kafka import LagProbe, ensure_topics
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# Only settings every version of the enricher reads, so an older checkout runs with its own defaults otherwise.
PASSED_ON = [
    "kafka_bootstrap",
    "topic_raw",
    "topic_enriched",
    "topic_events",
    "topic_dead_letter",
    "enricher_group",
    "topic_partitions",
    "data_dir",
]


def cluster_id(settings: Settings) -> str:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka)
    try:
        return str(admin.describe_cluster().get("cluster_id"))
    finally:
        admin.close()


def enriched_ids(settings: Settings) -> set[str]:
    """Article ids on the enriched topic (none while the broker is away)."""
    try:
        consumer = KafkaConsumer(
            settings.topic_enriched,
            bootstrap_servers=settings.kafka,
            auto_offset_reset="earliest",
            consumer_timeout_ms=1000,
        )
        try:
            return {message.key.decode() for message in consumer}
        finally:
            consumer.close()
    except Exception:
        return set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--wait", type=float, default=240, help="seconds to wait for the rest after the restart")
    parser.add_argument("--checkout", type=Path, default=REPO, help="the checkout whose enricher runs")
    parser.add_argument("--workdir", type=Path, default=Path(".pipeline/broker-up-after-kill"))
    args = parser.parse_args()
    configured = Settings()
    base = configured.model_copy(
        update={"kafka_bootstrap": configured.kafka, "elasticsearch_url": configured.elasticsearch}
    )
    why_not = fault_injection_allowed(base)
    if why_not:
        raise SystemExit(f"cannot inject faults: {why_not}")
    workdir = args.workdir.absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    settings = private_settings(base, "up-after-kill", workdir, {"topic_partitions": 3})
    ensure_topics(settings)
    env = {**os.environ, **{f"PIPELINE_{name.upper()}": str(getattr(settings, name)) for name in PASSED_ON}}
    log = workdir / "enricher.log"
    enricher = Supervised(
        "enricher",
        [sys.executable, "-m", "pipeline", "enrich", "--loglevel", "warning"],
        env,
        log,
        cwd=args.checkout.absolute(),
    )
    articles = load_articles(args.articles)
    wanted = {a.article_id for a in articles}
    run = Run("up-after-kill", settings, workdir, make_client(settings))
    began = time.monotonic()
    try:
        third = len(articles) // 3
        publish(run, articles[:third])
        while len(enriched_ids(settings)) < third // 2:
            time.sleep(1)
        before, done_before = cluster_id(settings), len(enriched_ids(settings))
        StackFaults(base).kill_kafka()
        print(f"{time.monotonic() - began:.0f}s: {done_before} enriched; broker SIGKILLed, `pipeline devstack up`")
        subprocess.run(
            [sys.executable, "-m", "pipeline.devstack", "up"], cwd=REPO, check=True, stdout=subprocess.DEVNULL
        )
        after = cluster_id(settings)
        ensure_topics(settings)
        publish(run, articles[third:])
        print(
            f"{time.monotonic() - began:.0f}s: broker back (cluster id {before} -> {after}), "
            f"{len(articles) - third} more published"
        )
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline and not wanted <= enriched_ids(settings):
            time.sleep(5)
        probe = LagProbe(settings)
        try:
            lag = probe.lag(settings.enricher_group, [settings.topic_raw])
        finally:
            probe.close()
        alive = enricher.process is not None and enricher.process.poll() is None
        print(
            f"{time.monotonic() - began:.0f}s: enriched {len(enriched_ids(settings) & wanted)}/{len(wanted)} "
            f"on the enriched topic; raw messages left uncommitted: {lag}; enricher exits {enricher.exits}, "
            f"alive {alive}; log {log}"
        )
    finally:
        enricher.stop()


if __name__ == "__main__":
    main()
