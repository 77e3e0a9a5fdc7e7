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
class Layout:
    root: Path
    kafka_port: int
    kafka_controller_port: int
    kafka_sasl_port: int
    es_port: int
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
            kafka_port=settings.devstack_kafka_port,
            kafka_controller_port=settings.devstack_kafka_controller_port,
            kafka_sasl_port=settings.devstack_kafka_sasl_port,
            es_port=settings.devstack_es_port,
            es_dist=es_dist,
            es_root=es_root,
        )

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
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def kafka_sasl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_sasl_port}"

    @property
    def es_url(self) -> str:
        return f"http://127.0.0.1:{self.es_port}"
