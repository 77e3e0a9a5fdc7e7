"""The local cluster for these tests: 3 brokers, 2 Elasticsearch nodes, in their own devstack dir.

Started if it is not running (and then stopped at the end unless KEEP_DEVSTACK=1); a running one is reused and
left running. Its ports come from PIPELINE_DEVSTACK_CLUSTER_PORT_BASE (default 39100), away from the
single-node stack's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from benchmarks.cluster_failover import cluster_settings
from pipeline.devstack.stack import down, ensure_up
from pipeline.settings import Settings


@pytest.fixture(scope="session")
def stack() -> Settings:
    return cluster_settings()


@pytest.fixture(scope="session")
def cluster_env(stack: Settings) -> Iterator[dict[str, str]]:
    info = ensure_up(stack)
    yield info.env()
    if info.started and os.environ.get("KEEP_DEVSTACK") != "1":
        down(stack)
