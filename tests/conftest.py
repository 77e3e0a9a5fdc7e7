"""Test-wide set-up: logs go to the stderr of the moment, so pytest's capture never sees a closed stream; the
order tests run in (unit, then integration, then the tests that kill the shared stack's services)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.logconfig import configure_logging
from pipeline.settings import Settings

configure_logging(Settings())

# The cluster tests start a 3-broker, 2-node stack and kill nodes: minutes of work, too long for CI, and never
# to be run by accident against a shared stack. `./run cluster-test` runs them (it sets this variable).
collect_ignore = [] if os.environ.get("PIPELINE_CLUSTER_TESTS") == "1" else ["cluster"]

_UNIT = Path(__file__).resolve().parent / "unit"


def run_order(item: pytest.Item) -> int:
    """0 for unit tests, 1 for integration tests, 2 for tests that kill, restart or freeze the stack's services.

    Unit tests first, so that a unit failure shows within a minute or two instead of after the integration
    tests. Stack-killing tests last, so that no later module waits on a broker or node that is still
    recovering (and a failure there is the failure of the test that did the killing, not of its neighbour)."""
    if item.get_closest_marker("stack_killing") is not None:
        return 2
    return 0 if item.path.is_relative_to(_UNIT) else 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: within each group, pytest's own order (file by file, test by test) is kept.
    items.sort(key=run_order)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections are accepted (by the kernel's backlog) and never answered."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()
