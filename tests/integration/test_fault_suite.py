"""The short fault suite (benchmarks/faults.py --short) against the stack this run started: one SIGKILL of each
stage, Elasticsearch frozen past the poll interval, Kafka and Elasticsearch killed and restarted, a write block
and fuzzed poison, in one pipeline run. Zero lost, zero unexpected, only the poison dead-lettered."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.faults import SHORT, load_articles, run_scenarios
from pipeline.devstack.faults import fault_injection_allowed
from pipeline.settings import Settings
from tests.prerequisites import prerequisite_missing

# Kills and restarts Kafka and Elasticsearch: run last (see tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.stack_killing]


@pytest.mark.timeout(900)
def test_short_fault_suite_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    why_not = fault_injection_allowed(settings)
    if why_not:
        prerequisite_missing(f"no fault injection: {why_not}")
    (outcome,) = run_scenarios(settings, SHORT, load_articles(12), workers=1, workdir=tmp_path, timeout=400)
    assert outcome.ok, outcome.line()
