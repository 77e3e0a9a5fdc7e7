"""Where the local stack keeps things, derived from ``settings.devstack_dir``.

<devstack_dir>/
  artifacts/    Maven output (Kafka jars, ES zip); kept across `down` so the next `up` is warm
  dist/         the unpacked ES distribution; kept as well
  run/          configs, data dirs and PID files of the running stack; removed by `down`
  logs/         process output; kept after `down` for post-mortems, truncated by the next `up`

Elasticsearch refuses to run as root, so as root it runs as the user ``pipeline-es``, which may not be able to
enter the checkout (a home directory with mode 700, a ``mktemp -d``). Its own files therefore live where
that user can always reach them (``es_root``, see ``es_dir_for``):

<es_base>/dist/elasticsearch-<ver>/   the unpacked distribution, shared by every checkout (read-only)
<es_base>/<hash of devstack_dir>/     this checkout's node(s): run/ (config, data; removed by `down`), logs/
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import Settings

# deploy/local/pom.xml relative to the source checkout (the package is installed editable).
REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "deploy" / "local" / "pom.xml"
# World-traversable on every Linux machine, survives reboots, and is not cleaned as eagerly as /tmp.
DEFAULT_ES_BASE = Path("/var/tmp/pipeline-devstack")


def es_dir_for(root: Path, configured: Path | None) -> tuple[Path, Path]:
    """(distribution dir, this checkout's node dir) for Elasticsearch.

    Not as root, ES runs as ourselves and can read the checkout: everything stays under ``root``. As root,
    the default base is ``DEFAULT_ES_BASE``; a hash of the devstack dir keeps checkouts apart.
    """
    if configured is None and os.geteuid() != 0:
        return root / "dist", root
    base = DEFAULT_ES_BASE if configured is None else configured
    if not base.is_absolute():
        base = REPO_ROOT / base
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return base / "dist", base / digest


@dataclass(frozen=True)
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    sasl_port: int


@dataclass(frozen=True)
class EsNode:
    number: int  # 1-based; node 1 is always master-eligible
    http_port: int
    transport_port: int


def kafka_nodes(settings: Settings) -> tuple[KafkaNode, ...]:
    """One broker keeps the configured ports; a cluster's broker i listens on base+i, base+10+i, base+20+i.

    The cluster's ports come from their own base so they never collide with a single-node stack on the
    defaults (9092-9094, 9200) running next to it.
    """
    if settings.devstack_brokers == 1:
        return (
            KafkaNode(
                1,
                settings.devstack_kafka_port,
                settings.devstack_kafka_controller_port,
                settings.devstack_kafka_sasl_port,
            ),
        )
    base = settings.devstack_cluster_port_base
    return tuple(KafkaNode(i, base + i, base + 10 + i, base + 20 + i) for i in range(1, settings.devstack_brokers + 1))


def es_nodes(settings: Settings) -> tuple[EsNode, ...]:
    """One node keeps the configured HTTP port (transport: +100); a cluster's node j: base+30+j, base+40+j.

    Transport ports are always explicit, so nodes of different stacks never find and join each other.
    """
    if settings.devstack_es_nodes == 1:
        return (EsNode(1, settings.devstack_es_port, settings.devstack_es_port + 100),)
    base = settings.devstack_cluster_port_base
    return tuple(EsNode(j, base + 30 + j, base + 40 + j) for j in range(1, settings.devstack_es_nodes + 1))


@dataclass(frozen=True)
class Layout:
    root: Path
    kafka: tuple[KafkaNode, ...]
    es: tuple[EsNode, ...]
    es_dist: Path  # unpacked Elasticsearch distributions
    es_root: Path  # this stack's Elasticsearch run/ and logs/

    @classmethod
    def from_settings(cls, settings: Settings) -> Layout:
        root = settings.devstack_dir
        if not root.is_absolute():
            # Relative paths mean the repository root, not wherever the command happens to run.
            root = REPO_ROOT / root
        es_dist, es_root = es_dir_for(root, settings.devstack_es_dir)
        return cls(
            root=root,
            kafka=kafka_nodes(settings),
            es=es_nodes(settings),
            es_dist=es_dist,
            es_root=es_root,
        )

    @property
    def brokers(self) -> int:
        return len(self.kafka)

    @property
    def es_node_count(self) -> int:
        return len(self.es)

    @property
    def topology_file(self) -> Path:
        """What the running stack was started as (brokers, ES nodes); ``up`` refuses to mix two."""
        return self.run / "topology.json"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def kafka_libs(self) -> Path:
        return self.artifacts / "kafka-libs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def lock_file(self) -> Path:
        return self.root / "devstack.lock"

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.kafka)

    @property
    def kafka_sasl_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{node.sasl_port}" for node in self.kafka)

    @property
    def es_url(self) -> str:
        """Every node's URL, comma-separated (the pipeline's clients take such a list)."""
        return ",".join(f"http://127.0.0.1:{node.http_port}" for node in self.es)

    @property
    def es_cluster_name(self) -> str:
        if self.es_node_count == 1:
            return "pipeline-devstack"  # unchanged, so a node started by an earlier version is still ours
        # Unique per stack dir: two clusters on one machine must never merge.
        return "pipeline-devstack-" + hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
