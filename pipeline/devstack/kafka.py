"""KRaft Kafka run straight from the Maven-fetched jars: one node, or a cluster of several on loopback.

Every node is combined broker + controller and a voter, so a 3-node cluster keeps its quorum with one node down.
"""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipeline.devstack.java import kafka_java_home
from pipeline.devstack.layout import KafkaNode, Layout
from pipeline.devstack.process import (
    DevstackError,
    ProcessRecord,
    port_accepts,
    port_is_free,
    read_pid_file,
    spawn,
    tail,
    write_pid_file,
)

# Sized for a 2-core CI runner: a broker this small starts in a few seconds and stays under ~600 MB RSS.
_HEAP_OPTS = ["-Xms256m", "-Xmx512m"]
# A cluster's brokers share the same machine (with ES nodes and workers): smaller each.
_CLUSTER_HEAP_OPTS = ["-Xms256m", "-Xmx384m"]
_GC_OPTS = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35"]
# C1-only JIT: Kafka boots while ES does; skipping C2 compilation leaves ES more of the two cores.
_JIT_OPTS = ["-XX:TieredStopAtLevel=1"]


@dataclass(frozen=True)
class KafkaHealth:
    cluster_id: str
    broker_count: int
    # Partitions whose leader is not elected yet: a broker restarted on its data registers before it has
    # loaded its logs, and until then clients of those partitions (and of the group coordinators) wait.
    leaderless_partitions: int = 0


@dataclass(frozen=True)
class KafkaPaths:
    run: Path
    data: Path
    config: Path
    log4j: Path
    logs: Path
    pid_file: Path
    version_file: Path

    @classmethod
    def of(cls, layout: Layout, node_id: int = 1) -> KafkaPaths:
        # Node 1 keeps the single-node names, so a stack started by an earlier version is still found.
        name = "kafka" if node_id == 1 else f"kafka-{node_id}"
        run = layout.run / name
        return cls(
            run=run,
            data=run / "data",
            config=run / "server.properties",
            log4j=run / "log4j.properties",
            logs=layout.logs / name,
            pid_file=layout.run / "pids" / f"{name}.pid",
            version_file=layout.run / "kafka" / "version",
        )

    @property
    def output(self) -> Path:
        return self.logs / "kafka.out"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"


def running_record(layout: Layout, node_id: int = 1) -> ProcessRecord | None:
    record = read_pid_file(KafkaPaths.of(layout, node_id).pid_file)
    return record if record is not None and record.is_running() else None


def running_records(layout: Layout) -> dict[int, ProcessRecord]:
    """Node id -> live broker process, for the nodes of this layout."""
    found = {node.node_id: running_record(layout, node.node_id) for node in layout.kafka}
    return {node_id: record for node_id, record in found.items() if record is not None}


def running_version(layout: Layout) -> str:
    try:
        return KafkaPaths.of(layout).version_file.read_text().strip()
    except FileNotFoundError:
        return "?"


# The SASL listener's one account. A throwaway local broker's, like its data; never a production secret.
SASL_USERNAME = "pipeline"
SASL_PASSWORD = "pipeline-devstack"


def replication(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas): 3 and 2 from three brokers on, else what fits."""
    factor = min(3, brokers)
    return factor, 2 if factor >= 3 else 1


def server_properties(layout: Layout, node: KafkaNode, data_dir: Path) -> str:
    port, controller, sasl = node.port, node.controller_port, node.sasl_port
    factor, min_isr = replication(layout.brokers)
    jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{SASL_USERNAME}" password="{SASL_PASSWORD}" user_{SASL_USERNAME}="{SASL_PASSWORD}";'
    )
    settings = {
        # KRaft combined mode: every node is a voter and a broker.
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in layout.kafka),
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller},SASL_PLAINTEXT://127.0.0.1:{sasl}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        # The secured listener: clients must authenticate (SASL/PLAIN) before anything else.
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
        "log.dirs": str(data_dir),
        # Two cores: the defaults (3 network, 8 io, 10 background threads) only add contention.
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "num.replica.fetchers": "1",
        "num.partitions": "4",
        # Topics created implicitly get the same durability as those the pipeline creates (settings).
        "default.replication.factor": str(factor),
        "min.insync.replicas": str(min_isr),
        # Internal topics must fit the cluster; fewer partitions make the first consumer group
        # and the first transactional producer ready sooner (each partition is a log to create).
        "offsets.topic.replication.factor": str(factor),
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": str(factor),
        "transaction.state.log.min.isr": str(min_isr),
        "transaction.state.log.num.partitions": "4",
        # Consumers join immediately instead of waiting 3 s for more members.
        "group.initial.rebalance.delay.ms": "0",
        # Tests and demos may produce to topics nobody created explicitly.
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        # A restarted broker takes its partitions back, so leadership spreads again after a failover.
        "auto.leader.rebalance.enable": "true",
        "leader.imbalance.check.interval.seconds": "30",
        # Throwaway data: small segments, short retention, no fsync tuning needed.
        "log.segment.bytes": str(64 * 1024 * 1024),
        "log.retention.hours": "24",
        "log.retention.check.interval.ms": "300000",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def log4j_properties() -> str:
    # The broker reads this through slf4j-reload4j; ${kafka.logs.dir} is a JVM system property we pass.
    return "\n".join(
        [
            "log4j.rootLogger=INFO, file",
            "log4j.appender.file=org.apache.log4j.FileAppender",
            "log4j.appender.file.File=${kafka.logs.dir}/server.log",
            "log4j.appender.file.Append=true",
            "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
            "log4j.logger.kafka.request.logger=WARN",
            "log4j.logger.state.change.logger=WARN",
            "log4j.logger.kafka.log.LogCleaner=WARN",
            "log4j.logger.org.apache.kafka.storage.internals.log=WARN",
            "",
        ]
    )


def new_cluster_id() -> str:
    """A Kafka ``Uuid`` string: 16 random bytes as URL-safe base64 without padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # Kafka rejects ids starting with "-" on some command lines; just draw again.
        if not text.startswith("-"):
            return text


def _java_command(libs: Path, paths: KafkaPaths, main: str, *, short_lived: bool, cluster: bool = False) -> list[str]:
    java = kafka_java_home() / "bin" / "java"
    heap = _CLUSTER_HEAP_OPTS if cluster else _HEAP_OPTS
    opts = ["-Xms64m", "-Xmx256m", *_JIT_OPTS] if short_lived else [*heap, *_GC_OPTS, *_JIT_OPTS]
    return [
        str(java),
        *opts,
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{paths.log4j}",
        f"-Dkafka.logs.dir={paths.logs}",
        "-cp",
        f"{libs}/*",
        main,
    ]


def check_ports(layout: Layout, node: KafkaNode) -> None:
    single = layout.brokers == 1
    for name, port in (
        ("PIPELINE_DEVSTACK_KAFKA_PORT", node.port),
        ("PIPELINE_DEVSTACK_KAFKA_CONTROLLER_PORT", node.controller_port),
        ("PIPELINE_DEVSTACK_KAFKA_SASL_PORT", node.sasl_port),
    ):
        if not port_is_free(port):
            setting = name if single else "PIPELINE_DEVSTACK_CLUSTER_PORT_BASE"
            raise DevstackError(
                f"Kafka cannot listen on 127.0.0.1:{port}: the port is in use by a process this devstack "
                f"({layout.root}) did not start. Stop it (see `ss -ltnp 'sport = :{port}'`) or pick "
                f"other ports with {setting}=<port>."
            )


def start(
    layout: Layout, node: KafkaNode, libs: Path, version: str, cluster_id: str
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    """Format a fresh log dir with the cluster's id and launch the node. Does not wait for it."""
    paths = KafkaPaths.of(layout, node.node_id)
    check_ports(layout, node)
    shutil.rmtree(paths.run, ignore_errors=True)
    shutil.rmtree(paths.logs, ignore_errors=True)
    paths.data.mkdir(parents=True)
    paths.logs.mkdir(parents=True)
    paths.config.write_text(server_properties(layout, node, paths.data))
    paths.log4j.write_text(log4j_properties())
    paths.version_file.write_text(version + "\n")

    fmt = _java_command(libs, paths, "kafka.tools.StorageTool", short_lived=True)
    fmt += ["format", "--cluster-id", cluster_id, "--config", str(paths.config), "--ignore-formatted"]
    result = subprocess.run(fmt, capture_output=True, text=True, check=False)
    (paths.logs / "format.out").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise DevstackError(
            f"Formatting the Kafka log dir failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )

    return _launch(layout, node, libs)


def kept_data(layout: Layout, node: KafkaNode, version: str) -> str | None:
    """The cluster id of the node's formatted log dir left by a node that was not stopped with ``down`` (killed,
    crashed, the machine restarted), if it was made by this Kafka version; else None."""
    paths = KafkaPaths.of(layout, node.node_id)
    try:
        if paths.version_file.read_text().strip() != version:
            return None
        meta = (paths.data / "meta.properties").read_text()
    except OSError:
        return None
    for line in meta.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id" and value.strip():
            return value.strip()
    return None


def restart(layout: Layout, node: KafkaNode, libs: Path) -> ProcessRecord:
    """Start a stopped (e.g. killed) node again on its existing data, as a broker returning after a crash."""
    if running_record(layout, node.node_id) is not None:
        raise DevstackError(f"Kafka node {node.node_id} is running")
    check_ports(layout, node)
    return _launch(layout, node, libs)[1]


def _launch(layout: Layout, node: KafkaNode, libs: Path) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    paths = KafkaPaths.of(layout, node.node_id)
    java = _java_command(libs, paths, "kafka.Kafka", short_lived=False, cluster=layout.brokers > 1)
    proc = spawn([*java, str(paths.config)], env=_kafka_env(), cwd=paths.run, output=paths.output)
    return proc, write_pid_file(paths.pid_file, proc.pid, paths.run.name)


def _kafka_env() -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"}


def probe(layout: Layout, timeout_ms: int = 3000) -> KafkaHealth | None:
    """Ask the broker itself (metadata request) whether it is up and registered; None when not (yet)."""
    # Only brokers that accept connections: kafka-python may otherwise stall on a dead bootstrap address.
    alive = [f"127.0.0.1:{node.port}" for node in layout.kafka if port_accepts(node.port)]
    if not alive:
        return None
    from kafka import KafkaAdminClient  # imported late: costs ~0.3 s and only probes need it

    # kafka-python logs every refused connection at WARNING/ERROR; a probe expects those while booting.
    # Restore the level afterwards: callers such as the demo want the library's warnings.
    logger = logging.getLogger("kafka")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=",".join(alive),
            client_id="devstack-probe",
            request_timeout_ms=timeout_ms,
            api_version_auto_timeout_ms=timeout_ms,
        )
        try:
            cluster = admin.describe_cluster()
            topics = admin.describe_topics()  # every topic, the internal ones (offsets, transactions) too
        finally:
            admin.close()
    except Exception:
        return None
    finally:
        logger.setLevel(previous)
    brokers = cluster.get("brokers") or []
    cluster_id = cluster.get("cluster_id")
    if not brokers or not cluster_id:
        return None  # the listener is up but the broker has not registered with the controller yet
    leaderless = sum(
        1
        for topic in topics
        for partition in topic.get("partitions") or []
        if partition.get("leader", -1) < 0 or partition.get("error_code", 0) != 0
    )
    return KafkaHealth(cluster_id=str(cluster_id), broker_count=len(brokers), leaderless_partitions=leaderless)


def wait_ready(layout: Layout, records: dict[int, ProcessRecord], timeout: float) -> KafkaHealth:
    """Until every node of the layout has registered (a cluster also needs its quorum first) and every
    partition has a leader (a node restarted on its data loads its logs after registering)."""
    deadline = time.monotonic() + timeout
    health: KafkaHealth | None = None
    while time.monotonic() < deadline:
        for node_id, record in records.items():
            if not record.is_running():
                paths = KafkaPaths.of(layout, node_id)
                raise DevstackError(
                    f"Kafka node {node_id} (pid {record.pid}) exited during startup. Last lines of "
                    f"{paths.output}:\n{tail(paths.output)}\n--- {paths.server_log}:\n{tail(paths.server_log)}"
                )
        # A killed broker stays registered for a few seconds, so also wait for each started node's listener.
        listening = all(port_accepts(node.port) for node in layout.kafka if node.node_id in records)
        health = probe(layout) if listening else None
        if health is not None and health.broker_count >= layout.brokers and not health.leaderless_partitions:
            return health
        time.sleep(0.5)
    server_log = KafkaPaths.of(layout).server_log
    if health is not None and health.leaderless_partitions:
        raise DevstackError(
            f"Kafka on {layout.kafka_bootstrap} is up, but {health.leaderless_partitions} partition(s) still "
            f"have no leader after {timeout:.0f}s: their replicas are on a broker that is not running, or still "
            f"loading. `pipeline devstack status` lists the brokers; see {server_log}."
        )
    raise DevstackError(
        f"Kafka did not become ready on {layout.kafka_bootstrap} within {timeout:.0f}s. "
        f"Last lines of {server_log}:\n{tail(server_log)}"
    )
