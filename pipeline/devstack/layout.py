"""Where the local stack keeps things, derived from ``settings.devstack_dir``.

<devstack_dir>/
  artifacts/    Maven output (Kafka jars, ES zip); kept across `down` so the next `up` is warm
  dist/         the unpacked ES distribution; kept as well
  run/          configs, data dirs and PID files of the running stack; removed by `down`
  logs/         process output; kept after `down` for post-mortems, truncated by the next `up`
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import Settings

# deploy/local/pom.xml relative to the source checkout (the package is installed editable).
REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "deploy" / "local" / "pom.xml"


@dataclass(frozen=True)
class Layout:
    root: Path
    kafka_port: int
    kafka_controller_port: int
    kafka_sasl_port: int
    es_port: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Layout:
        root = settings.devstack_dir
        if not root.is_absolute():
            # Relative paths mean the repository root, not wherever the command happens to run.
            root = REPO_ROOT / root
        return cls(
            root=root,
            kafka_port=settings.devstack_kafka_port,
            kafka_controller_port=settings.devstack_kafka_controller_port,
            kafka_sasl_port=settings.devstack_kafka_sasl_port,
            es_port=settings.devstack_es_port,
        )

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def kafka_libs(self) -> Path:
        return self.artifacts / "kafka-libs"

    @property
    def dist(self) -> Path:
        return self.root / "dist"

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
