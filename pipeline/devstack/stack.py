"""Bringing the whole local stack up and down; the Python API other code uses."""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from pipeline.devstack import elasticsearch, kafka
from pipeline.devstack.artifacts import ensure_artifacts, read_versions
from pipeline.devstack.layout import Layout
from pipeline.devstack.process import DevstackError, ProcessRecord, stop
from pipeline.settings import Settings, get_settings

# Cold JVMs on a 2-core runner: ES typically needs 15-25 s, Kafka 5-10 s; leave generous headroom.
DEFAULT_TIMEOUT = 180.0


@dataclass(frozen=True)
class StackInfo:
    kafka_bootstrap: str
    kafka_sasl_bootstrap: str  # the same broker behind SASL/PLAIN (devstack.kafka.SASL_USERNAME/PASSWORD)
    elasticsearch_url: str
    kafka_version: str
    elasticsearch_version: str
    kafka_cluster_id: str
    elasticsearch_health: str
    devstack_dir: Path
    started: tuple[str, ...]  # services this call had to start; empty when everything was reused

    def env(self) -> dict[str, str]:
        """Settings that point the pipeline at this stack."""
        return {
            "PIPELINE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "PIPELINE_ELASTICSEARCH_URL": self.elasticsearch_url,
        }


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    version: str
    address: str
    pids: tuple[int, ...]
    healthy: bool
    detail: str
    log: Path

    @property
    def running(self) -> bool:
        return bool(self.pids)


@contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """Serialise up/down across processes (e.g. two terminals, or the demo while tests run)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_up(
    settings: Settings | None = None,
    *,
    console: Console | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> StackInfo:
    """Start whatever part of the stack is not running, wait until both services are healthy.

    Idempotent: services already running from this devstack dir are reused, not restarted.
    Progress goes to stderr so callers can keep stdout for their own output.
    """
    settings = settings or get_settings()
    console = console or Console(stderr=True, soft_wrap=True)
    layout = Layout.from_settings(settings)
    began = time.monotonic()
    with _locked(layout):
        kafka_record = kafka.running_record(layout)
        es_records = elasticsearch.running_records(layout)
        started: list[str] = []
        spawned: list[ProcessRecord] = []
        try:
            # Port conflicts are the most common failure; report them before any download.
            if kafka_record is None:
                kafka.check_ports(layout)
            if not es_records:
                elasticsearch.check_port(layout)
            if kafka_record is None or not es_records:
                artifacts = ensure_artifacts(layout, console)
                # ES takes longest to boot, so launch it first and let it warm up while Kafka formats.
                if not es_records:
                    _, launcher = elasticsearch.start(layout, artifacts.es_home, artifacts.versions.elasticsearch)
                    es_records = [launcher]
                    spawned.append(launcher)
                    started.append("elasticsearch")
                if kafka_record is None:
                    _, kafka_record = kafka.start(layout, artifacts.kafka_libs, artifacts.versions.kafka)
                    spawned.append(kafka_record)
                    started.append("kafka")
            with console.status("Waiting for Kafka and Elasticsearch to become ready"):
                kafka_health = kafka.wait_ready(layout, kafka_record, timeout)
                console.print(
                    f"[green]✓[/] Kafka {kafka.running_version(layout)} listening on "
                    f"{layout.kafka_bootstrap} (SASL/PLAIN {layout.kafka_sasl_bootstrap}, "
                    f"controller 127.0.0.1:{layout.kafka_controller_port}, "
                    f"cluster id {kafka_health.cluster_id})"
                )
                es_health = elasticsearch.wait_ready(layout, es_records[-1], timeout)
                console.print(
                    f"[green]✓[/] Elasticsearch {es_health.version} listening on {layout.es_url} "
                    f"(health {es_health.status})"
                )
        except BaseException:
            # Don't leave half a stack behind: stop only what this call started. The ES server JVM is a
            # child of the launcher with its own PID (if it got that far), so stop it explicitly as well.
            if "elasticsearch" in started:
                spawned.extend(elasticsearch.running_records(layout))
            if spawned:
                stop(spawned, timeout=15)
            raise
    verb = "started" if started else "already running"
    console.print(f"Devstack {verb} in {time.monotonic() - began:.1f}s (dir {layout.root})")
    return StackInfo(
        kafka_bootstrap=layout.kafka_bootstrap,
        kafka_sasl_bootstrap=layout.kafka_sasl_bootstrap,
        elasticsearch_url=layout.es_url,
        kafka_version=kafka.running_version(layout),
        elasticsearch_version=es_health.version,
        kafka_cluster_id=kafka_health.cluster_id,
        elasticsearch_health=es_health.status,
        devstack_dir=layout.root,
        started=tuple(started),
    )


def down(settings: Settings | None = None, *, console: Console | None = None, timeout: float = 30.0) -> None:
    """Stop both services by their recorded PIDs and delete their data; downloads stay for the next `up`."""
    settings = settings or get_settings()
    console = console or Console(stderr=True, soft_wrap=True)
    layout = Layout.from_settings(settings)
    if not layout.root.exists():
        console.print("Devstack is not running (no devstack dir).")
        return
    with _locked(layout):
        records = [*elasticsearch.running_records(layout)]
        kafka_record = kafka.running_record(layout)
        if kafka_record is not None:
            records.append(kafka_record)
        if records:
            names = ", ".join(f"{r.name} (pid {r.pid})" for r in records)
            with console.status(f"Stopping {names}"):
                for note in stop(records, timeout=timeout):
                    console.print(f"[yellow]![/] {note}")
            console.print(f"[green]✓[/] stopped {names}")
        else:
            console.print("Nothing was running.")
        if any(r.is_running() for r in records):
            raise DevstackError("Some processes survived SIGKILL; not deleting their data dirs")
        elasticsearch.remove_run_dirs(layout)
        shutil.rmtree(layout.run, ignore_errors=True)
        console.print(f"[green]✓[/] removed {layout.run} (artifacts in {layout.artifacts} kept)")


def status(settings: Settings | None = None) -> list[ServiceStatus]:
    settings = settings or get_settings()
    layout = Layout.from_settings(settings)
    kafka_record = kafka.running_record(layout)
    kafka_health = kafka.probe(layout) if kafka_record is not None else None
    es_records = elasticsearch.running_records(layout)
    es_health = elasticsearch.probe(layout) if es_records else None
    try:
        pinned = read_versions()
    except DevstackError:
        pinned = None
    kafka_paths = kafka.KafkaPaths.of(layout)
    es_paths = elasticsearch.EsPaths.of(layout)
    return [
        ServiceStatus(
            name="kafka",
            version=kafka.running_version(layout) if kafka_record else (pinned.kafka if pinned else "?"),
            address=layout.kafka_bootstrap,
            pids=(kafka_record.pid,) if kafka_record else (),
            healthy=kafka_health is not None,
            detail=(
                f"cluster id {kafka_health.cluster_id}, {kafka_health.broker_count} broker"
                if kafka_health
                else ("not answering" if kafka_record else "stopped")
            ),
            log=kafka_paths.server_log,
        ),
        ServiceStatus(
            name="elasticsearch",
            version=es_health.version if es_health else (pinned.elasticsearch if pinned else "?"),
            address=layout.es_url,
            pids=tuple(r.pid for r in es_records),
            healthy=es_health is not None,
            detail=(f"health {es_health.status}" if es_health else ("not answering" if es_records else "stopped")),
            log=es_paths.output,
        ),
    ]
