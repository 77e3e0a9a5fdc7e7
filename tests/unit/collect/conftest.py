from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.settings import Settings
from tests.httpserver import SampleServer


@pytest.fixture
def server() -> Iterator[SampleServer]:
    running = SampleServer().start()
    yield running
    running.stop()


@pytest.fixture
def collect_settings(tmp_path: Path) -> Settings:
    """Settings for tests against the local server: 127.0.0.1 allowed, short timeouts and back-offs."""
    return Settings(
        state_path=tmp_path / "collector.sqlite3",
        allow_private_hosts=["127.0.0.1"],
        per_host_min_interval_seconds=0.0,
        per_host_concurrency=4,
        retry_backoff_seconds=0.01,
        retry_backoff_max_seconds=0.05,
        fetch_retries=2,
        request_timeout_seconds=2.0,
        min_text_chars=100,
        robots_cache_seconds=3600,
    )
