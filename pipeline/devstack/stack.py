"""Bringing the whole local stack up and down; the Python API other code uses."""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from pipeline.devstack import elasticsearch, holder, kafka
from pipeline.devstack.artifacts import ensure_artifacts, read_versions
from pipeline.devstack.layout import Layout
from pipeline.devstack.process import DevstackError, ProcessRecord, kill, stop
from pipeline.settings import Settings, get_settings

# Cold JVMs on a 2-core runner: ES typically needs 15-25 s, Kafka 5-10 s; leave generous headroom.
DEFAULT_TIMEOUT = 180.0


@dataclass(frozen=True)
class StackInfo:
    kafka_bootstrap: str  # every broker, comma-separated
    kafka_sasl_bootstrap: str  # the same brokers behind SASL/PLAIN (devstack.kafka.SASL_USERNAME/PASSWORD)
    elasticsearch_url: str  # every node, comma-separated
    kafka_version: str
    elasticsearch_version: str
    kafka_cluster_id: str
    elasticsearch_health: str
    devstack_dir: Path
    started: tuple[str, ...]  # services this call had to start; empty when everything was reused
    brokers: int = 1
    es_nodes: int = 1
    owned: bool = False  # the caller may inject faults and stops the stack when done (see devstack.holder)
    note: str = ""  # why a running stack was reused or taken over, for the caller's user

    def env(self) -> dict[str, str]:
        """Settings that point the pipeline at this stack, with the durability a cluster allows."""
        factor, min_isr = kafka.replication(self.brokers)
        return {
            "PIPELINE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "PIPELINE_ELASTICSEARCH_URL": self.elasticsearch_url,
            "PIPELINE_TOPIC_REPLICATION": str(factor),
            "PIPELINE_TOPIC_MIN_INSYNC_REPLICAS": str(min_isr),
            "PIPELINE_INDEX_REPLICAS": str(min(1, self.es_nodes - 1)),
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


def _topology(settings: Settings) -> dict[str, int]:
    return {
        "brokers": settings.devstack_brokers,
        "es_nodes": settings.devstack_es_nodes,
        "cluster_port_base": settings.devstack_cluster_port_base,
    }


def running_settings(settings: Settings | None = None) -> Settings:
    """The settings with the topology of the stack running in their devstack dir (``up --brokers 3`` then a
    plain ``down`` or ``status`` must still see all three brokers)."""
    settings = settings or get_settings()
    try:
        recorded = json.loads(Layout.from_settings(settings).topology_file.read_text())
    except (FileNotFoundError, ValueError):
        return settings
    return settings.model_copy(update={f"devstack_{key}": value for key, value in recorded.items()})


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
    claimant: holder.Holder | None = None,
) -> StackInfo:
    """Start whatever part of the stack is not running, wait until both services are healthy.

    Idempotent: services already running from this devstack dir are reused, not restarted. A node of a
    running cluster that is down (killed) is started again on its data, as after a crash.
    Progress goes to stderr so callers can keep stdout for their own output.
    ``claimant`` says who asks (a person's ``up``, the demo, a test run; None claims nothing), and
    ``StackInfo.owned`` whether the stack is theirs to fault and stop (``devstack.holder.decide``).
    """
    settings = settings or get_settings()
    console = console or Console(stderr=True, soft_wrap=True)
    layout = Layout.from_settings(settings)
    began = time.monotonic()
    with _locked(layout):
        kafka_running = kafka.running_records(layout)
        es_running = {n.number for n in layout.es if elasticsearch.running_records(layout, n.number)}
        was_running = bool(kafka_running or es_running)
        _check_same_topology(settings, layout, was_running)
        recorded = holder.read(layout)
        claim = holder.decide(claimant, recorded, was_running, holder.alive(recorded))
        kafka_missing = [n for n in layout.kafka if n.node_id not in kafka_running]
        es_missing = [n for n in layout.es if n.number not in es_running]
        started: list[str] = []
        spawned: list[ProcessRecord] = []
        es_launchers: list[ProcessRecord] = []
        try:
            # Port conflicts are the most common failure; report them before any download.
            for kafka_node in kafka_missing:
                kafka.check_ports(layout, kafka_node)
            for es_node in es_missing:
                elasticsearch.check_port(layout, es_node)
            if kafka_missing or es_missing:
                artifacts = ensure_artifacts(layout, console)
                # Data left behind is reused only by the same topology: its brokers' quorum must not change.
                same_topology = _recorded_topology(layout) == _topology(settings)
                layout.run.mkdir(parents=True, exist_ok=True)
                layout.topology_file.write_text(json.dumps(_topology(settings)) + "\n")
                # ES takes longest to boot, so launch it first and let it warm up while Kafka formats.
                es_version = artifacts.versions.elasticsearch
                for es_node in es_missing:
                    # A node whose data is still there (killed, crashed, a reboot: not `down`) comes back on it.
                    if es_running or (same_topology and elasticsearch.kept_data(layout, es_node, es_version)):
                        console.print(f"Elasticsearch node {es_node.number}: starting again on its data")
                        launcher = elasticsearch.restart(layout, es_node, artifacts.es_home)
                    else:
                        _, launcher = elasticsearch.start(layout, es_node, artifacts.es_home, es_version)
                    es_launchers.append(launcher)
                    spawned.append(launcher)
                    started.append(launcher.name.removesuffix("-launcher"))
                # One cluster id for every node of a cluster; a node whose log dir is still there (killed,
                # crashed, a reboot: not `down`) comes back on it, keeping topics, offsets and groups.
                kept = {
                    n.node_id: kafka.kept_data(layout, n, artifacts.versions.kafka) if same_topology else None
                    for n in kafka_missing
                }
                cluster_id = next((i for i in kept.values() if i), None) or kafka.new_cluster_id()
                others_running = bool(kafka_running)
                for kafka_node in kafka_missing:
                    if others_running or kept[kafka_node.node_id]:
                        console.print(f"Kafka node {kafka_node.node_id}: starting again on its data")
                        record = kafka.restart(layout, kafka_node, artifacts.kafka_libs)
                    else:
                        _, record = kafka.start(
                            layout, kafka_node, artifacts.kafka_libs, artifacts.versions.kafka, cluster_id
                        )
                    kafka_running[kafka_node.node_id] = record
                    spawned.append(record)
                    started.append(record.name)
            with console.status("Waiting for Kafka and Elasticsearch to become ready"):
                kafka_health = kafka.wait_ready(layout, kafka_running, timeout)
                console.print(
                    f"[green]✓[/] Kafka {kafka.running_version(layout)}, {layout.brokers} broker(s), listening on "
                    f"{layout.kafka_bootstrap} (SASL/PLAIN {layout.kafka_sasl_bootstrap}, controllers "
                    + ",".join(f"127.0.0.1:{n.controller_port}" for n in layout.kafka)
                    + f", cluster id {kafka_health.cluster_id})"
                )
                es_health = elasticsearch.wait_ready(layout, es_launchers, timeout)
                console.print(
                    f"[green]✓[/] Elasticsearch {es_health.version}, {es_health.node_count} node(s), listening on "
                    f"{layout.es_url} (cluster {layout.es_cluster_name}, health {es_health.status})"
                )
        except BaseException:
            # Don't leave half a stack behind: stop only what this call started. The ES server JVM is a
            # child of the launcher with its own PID (if it got that far), so stop it explicitly as well.
            for launcher in es_launchers:
                number = _es_number(launcher)
                spawned.extend(elasticsearch.running_records(layout, number))
            if spawned:
                stop(spawned, timeout=15)
            raise
        if claim.record is not None:
            holder.write(layout, claim.record)
    if claim.note:
        console.print(f"Devstack: {claim.note}")
    verb = ("started " + ", ".join(started)) if started else "already running"
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
        brokers=layout.brokers,
        es_nodes=layout.es_node_count,
        owned=claim.owned,
        note=claim.note,
    )


def _es_number(launcher: ProcessRecord) -> int:
    name = launcher.name.removesuffix("-launcher")
    return 1 if name == "elasticsearch" else int(name.rsplit("-", 1)[1])


def _recorded_topology(layout: Layout) -> dict[str, int]:
    """The topology the stack in this devstack dir was started with."""
    try:
        recorded: dict[str, int] = json.loads(layout.topology_file.read_text())
    except (FileNotFoundError, ValueError):
        recorded = {"brokers": 1, "es_nodes": 1}  # started by a version that only knew single nodes
    return recorded


def _check_same_topology(settings: Settings, layout: Layout, anything_running: bool) -> None:
    if not anything_running:
        return
    recorded = _recorded_topology(layout)
    wanted = _topology(settings)
    if any(recorded.get(key, value) != value for key, value in wanted.items()):
        raise DevstackError(
            f"The stack in {layout.root} runs {recorded.get('brokers')} broker(s) and {recorded.get('es_nodes')} "
            f"Elasticsearch node(s), not the {wanted['brokers']} and {wanted['es_nodes']} asked for. "
            "Stop it first (`pipeline devstack down`) or use another PIPELINE_DEVSTACK_DIR."
        )


def kill_node(settings: Settings, service: str, number: int) -> list[ProcessRecord]:
    """SIGKILL one node (``kafka`` node id or ``elasticsearch`` node number), as a crash would: no shutdown,
    data left as it was. ``ensure_up`` starts it again. Returns the processes killed."""
    layout = Layout.from_settings(running_settings(settings))
    if service == "kafka":
        record = kafka.running_record(layout, number)
        records = [record] if record is not None else []
    elif service == "elasticsearch":
        # The server JVM only; its launcher notices and exits by itself.
        records = [r for r in elasticsearch.running_records(layout, number) if not r.name.endswith("-launcher")]
    else:
        raise DevstackError(f"unknown service {service!r}: kafka or elasticsearch")
    if not records:
        raise DevstackError(f"{service} node {number} is not running in {layout.root}")
    for record in records:
        kill(record)
    return records


def down(settings: Settings | None = None, *, console: Console | None = None, timeout: float = 30.0) -> None:
    """Stop every node by its recorded PID and delete the data; downloads stay for the next `up`."""
    settings = running_settings(settings)
    console = console or Console(stderr=True, soft_wrap=True)
    layout = Layout.from_settings(settings)
    if not layout.root.exists():
        console.print("Devstack is not running (no devstack dir).")
        return
    with _locked(layout):
        records = [*elasticsearch.running_records(layout), *kafka.running_records(layout).values()]
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


def _leaderless(partitions: int) -> str:
    if not partitions:
        return ""
    return f", {partitions} partition(s) without a leader (still loading, or on a broker that is gone)"


def status(settings: Settings | None = None) -> list[ServiceStatus]:
    layout = Layout.from_settings(running_settings(settings))
    kafka_running = kafka.running_records(layout)
    kafka_health = kafka.probe(layout) if kafka_running else None
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
            version=kafka.running_version(layout) if kafka_running else (pinned.kafka if pinned else "?"),
            address=layout.kafka_bootstrap,
            pids=tuple(r.pid for r in kafka_running.values()),
            healthy=kafka_health is not None
            and len(kafka_running) == layout.brokers
            and not kafka_health.leaderless_partitions,
            detail=(
                f"cluster id {kafka_health.cluster_id}, {len(kafka_running)} of {layout.brokers} broker(s) running"
                + _leaderless(kafka_health.leaderless_partitions)
                if kafka_health
                else ("not answering" if kafka_running else "stopped")
            ),
            log=kafka_paths.server_log,
        ),
        ServiceStatus(
            name="elasticsearch",
            version=es_health.version if es_health else (pinned.elasticsearch if pinned else "?"),
            address=layout.es_url,
            pids=tuple(r.pid for r in es_records),
            healthy=es_health is not None and es_health.node_count == layout.es_node_count,
            detail=(
                f"health {es_health.status}, {es_health.node_count} of {layout.es_node_count} node(s)"
                if es_health
                else ("not answering" if es_records else "stopped")
            ),
            log=es_paths.output,
        ),
    ]
