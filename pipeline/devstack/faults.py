"""Faults for the local stack: kill, freeze and restart its Kafka broker and Elasticsearch node.

Used by the fault tests and ``benchmarks/faults.py``. Processes are found only through this devstack's PID
records (PID plus start time), never by name, so nothing outside the stack is ever signalled. A restart keeps
the data (topics, offsets, indices), as a crashed service's supervisor would.

``fault_injection_allowed`` guards against breaking a stack other people use: faults are injected only into a
stack that is the current test run's own (``DEVSTACK_STARTED``, exported by ``./run test``: it started the stack,
or took over one a tool such as ``./run demo`` left, see ``devstack.holder``) or when asked explicitly
(``PIPELINE_FAULT_TESTS=1``), and only when the configured services are this devstack's ports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from rich.console import Console

from pipeline.devstack import elasticsearch, holder, kafka
from pipeline.devstack.artifacts import ensure_artifacts
from pipeline.devstack.layout import Layout
from pipeline.devstack.process import DevstackError, ProcessRecord
from pipeline.redact import redact_url
from pipeline.settings import Settings

RESTART_TIMEOUT = 180.0

_Started = TypeVar("_Started")


def fault_injection_allowed(settings: Settings) -> str | None:
    """None when faults may be injected into the configured services, else why not."""
    layout = Layout.from_settings(settings)
    if settings.kafka != layout.kafka_bootstrap or settings.elasticsearch.rstrip("/") != layout.es_url:
        services = f"{settings.kafka}, {redact_url(settings.elasticsearch)}"
        return f"the configured services ({services}) are not this devstack's"
    if not (os.environ.get("DEVSTACK_STARTED") or os.environ.get("PIPELINE_FAULT_TESTS") == "1"):
        recorded = holder.read(layout)
        return (
            f"the devstack is not this run's own (held by {holder.describe_holding(recorded, holder.alive(recorded))};"
            " set PIPELINE_FAULT_TESTS=1 to inject faults anyway)"
        )
    if kafka.running_record(layout) is None or not elasticsearch.running_records(layout):
        return f"no running devstack recorded in {layout.root}"
    return None


@dataclass
class StackFaults:
    settings: Settings

    @property
    def layout(self) -> Layout:
        return Layout.from_settings(self.settings)

    def _es_server(self) -> ProcessRecord:
        records = [r for r in elasticsearch.running_records(self.layout) if r.name == "elasticsearch"]
        if not records:
            raise DevstackError("no running Elasticsearch server recorded")
        return records[0]

    def _kafka(self) -> ProcessRecord:
        record = kafka.running_record(self.layout)
        if record is None:
            raise DevstackError("no running Kafka broker recorded")
        return record

    # Elasticsearch -------------------------------------------------------------------------------------

    def freeze_elasticsearch(self) -> None:
        _signal(self._es_server(), signal.SIGSTOP)

    def thaw_elasticsearch(self) -> None:
        _signal(self._es_server(), signal.SIGCONT)

    def kill_elasticsearch(self) -> None:
        records = elasticsearch.running_records(self.layout)
        for record in records:
            _signal(record, signal.SIGKILL)
        _wait_gone(records)

    def restart_elasticsearch(self) -> None:
        """Start the node again on its existing data and wait until it is healthy."""
        layout = self.layout
        artifacts = ensure_artifacts(layout, Console(stderr=True, quiet=True))
        launcher = _start_when_port_free(lambda: elasticsearch.restart(layout, layout.es[0], artifacts.es_home))
        elasticsearch.wait_ready(layout, [launcher], RESTART_TIMEOUT)

    # Kafka ---------------------------------------------------------------------------------------------

    def kill_kafka(self) -> None:
        record = self._kafka()
        _signal(record, signal.SIGKILL)
        _wait_gone([record])

    def restart_kafka(self) -> None:
        """Start the broker again on its existing log dir and wait until it is ready."""
        layout = self.layout
        artifacts = ensure_artifacts(layout, Console(stderr=True, quiet=True))
        record = _start_when_port_free(lambda: kafka.restart(layout, layout.kafka[0], artifacts.kafka_libs))
        kafka.wait_ready(layout, {layout.kafka[0].node_id: record}, RESTART_TIMEOUT)


def _start_when_port_free(start: Callable[[], _Started]) -> _Started:
    """``start()``, retried while the killed process's ports are still being released (up to 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return start()
        except DevstackError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _signal(record: ProcessRecord, sig: signal.Signals) -> None:
    if not record.is_running():
        raise DevstackError(f"{record.name} (pid {record.pid}) is not running")
    os.kill(record.pid, sig)


def _wait_gone(records: list[ProcessRecord], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(r.is_running() for r in records):
        if time.monotonic() > deadline:
            raise DevstackError(f"still running after SIGKILL: {[r.pid for r in records if r.is_running()]}")
        with contextlib.suppress(ChildProcessError):  # our own children must be reaped to disappear
            os.waitpid(-1, os.WNOHANG)
        time.sleep(0.1)
