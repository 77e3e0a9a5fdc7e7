"""Test-wide set-up: logs go to the stderr of the moment, so pytest's capture never sees a closed stream."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from pipeline.logconfig import configure_logging
from pipeline.settings import Settings

configure_logging(Settings())

# The cluster tests start a 3-broker, 2-node stack and kill nodes: minutes of work, too long for CI, and never
# to be run by accident against a shared stack. `./run cluster-test` runs them (it sets this variable).
collect_ignore = [] if os.environ.get("PIPELINE_CLUSTER_TESTS") == "1" else ["cluster"]


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
