"""Do a restarted broker's partitions have leaders as soon as `up` reports it ready?

Makes sure the local stack's broker holds at least ``--topics`` topics of ``--partitions`` partitions, SIGKILLs
it, brings it back with `pipeline devstack up` (on its data), and probes the partitions without a leader from
the moment `up` returns until none is left. `up` itself now waits for none (``devstack.kafka.wait_ready``);
``--no-wait`` measures what it would report without that wait. The topics it creates stay (``lead-*``).

    PIPELINE_FAULT_TESTS=1 .venv/bin/python benchmarks/leaders_after_restart.py --no-wait
"""

from __future__ import annotations

import argparse
import time
import uuid
from unittest import mock

from kafka.admin import KafkaAdminClient, NewTopic

from pipeline.devstack import kafka as devstack_kafka
from pipeline.devstack.faults import StackFaults, fault_injection_allowed
from pipeline.devstack.layout import Layout
from pipeline.devstack.process import port_is_free
from pipeline.devstack.stack import ensure_up
from pipeline.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topics", type=int, default=300)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--no-wait", action="store_true", help="`up` returns at registration, as before")
    args = parser.parse_args()
    settings = Settings()
    why_not = fault_injection_allowed(settings)
    if why_not:
        raise SystemExit(f"not killing anything: {why_not}")
    layout = Layout.from_settings(settings)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka)
    missing = args.topics - len(admin.list_topics())
    if missing > 0:
        prefix = uuid.uuid4().hex[:6]
        admin.create_topics([NewTopic(f"lead-{prefix}-{n}", args.partitions, 1) for n in range(missing)])
    admin.close()
    time.sleep(5)
    print("before the kill:", devstack_kafka.probe(layout))
    StackFaults(settings).kill_kafka()
    while not port_is_free(layout.kafka[0].port):
        time.sleep(0.5)
    began = time.monotonic()
    if args.no_wait:
        registered = devstack_kafka.probe  # what wait_ready saw before it counted leaderless partitions

        def leaders_ignored(layout: Layout, timeout_ms: int = 3000) -> devstack_kafka.KafkaHealth | None:
            health = registered(layout, timeout_ms)
            return None if health is None else devstack_kafka.KafkaHealth(health.cluster_id, health.broker_count)

        with mock.patch.object(devstack_kafka, "probe", leaders_ignored):
            ensure_up(settings)
    else:
        ensure_up(settings)
    print(f"up returned after {time.monotonic() - began:.1f} s")
    while True:
        health = devstack_kafka.probe(layout)
        print(f"  {time.monotonic() - began:5.1f} s: {health}")
        if health is not None and not health.leaderless_partitions:
            break
        time.sleep(0.3)


if __name__ == "__main__":
    main()
