"""The one settings object. Every value can be set by an environment variable prefixed ``PIPELINE_``.

Example: ``PIPELINE_KAFKA_BOOTSTRAP=broker:9092 PIPELINE_SPACY_MODEL=en_core_web_sm pipeline enrich``.
The same variables may also be written in a file named ``.env`` in the working directory (environment
variables win over it). ``pipeline config`` shows every effective value and where it came from.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_FILE = ".env"  # read from the working directory, like docker compose does
_PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """``.pipeline`` in the project checkout; for an installed (non-editable) package, the user's data dir."""
    if (_PACKAGE_PARENT / "pyproject.toml").is_file():
        return _PACKAGE_PARENT / ".pipeline"
    return Path.home() / ".local" / "share" / "news-event-pipeline"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIPELINE_", env_file=ENV_FILE, extra="ignore")

    # Where the pipeline keeps its own files (collector state, Faust data, logs of the demo), whatever the
    # working directory: the same state is found from anywhere.
    data_dir: Path = Field(default_factory=default_data_dir)

    # Services. Empty means "not configured": the main job then starts the local stack.
    kafka_bootstrap: str = ""
    elasticsearch_url: str = ""
    kibana_url: str = ""

    # Security (off by default, as in the local profile; see docs/deploy.md). Credentials in the
    # Elasticsearch and Kibana URLs (https://user:password@host) work too.
    elasticsearch_api_key: SecretStr | None = None
    elasticsearch_ca_certs: str | None = None
    kibana_ca_certs: str | None = None
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None

    # How long to wait for a service: one request (a few seconds, so a dead address fails fast; the global
    # `pipeline --timeout S` sets both), and how long set-up waits for a node that is still starting.
    elasticsearch_timeout_seconds: float = 5.0
    kafka_timeout_seconds: float = 5.0
    service_wait_seconds: float = 60.0

    # Local stack (pipeline devstack), used when no services are configured.
    devstack_dir: Path = Path(".devstack")
    devstack_kafka_port: int = 9092
    devstack_kafka_controller_port: int = 9093
    devstack_kafka_sasl_port: int = 9094  # a second listener, SASL/PLAIN, so the secured path is tested too
    devstack_es_port: int = 9200
    # Where Elasticsearch's own files go. Unset: inside devstack_dir, except as root, where ES runs as the
    # user pipeline-es and the checkout may be closed to it: then /var/tmp/pipeline-devstack.
    devstack_es_dir: Path | None = None
    # A cluster instead (`pipeline devstack up --brokers 3 --es-nodes 2`): its nodes listen on ports derived
    # from this base (see pipeline/devstack/layout.py), apart from the single-node defaults above.
    devstack_brokers: int = Field(default=1, ge=1, le=9)
    devstack_es_nodes: int = Field(default=1, ge=1, le=9)
    devstack_cluster_port_base: int = 39100

    # Topics and consumer groups.
    topic_raw: str = "articles.raw"
    topic_enriched: str = "articles.enriched"
    topic_events: str = "events.enriched"
    topic_dead_letter: str = "pipeline.deadletter"
    topic_subscriptions: str = "pipeline.subscriptions"  # compacted: key = subscription name
    topic_subscription_prefix: str = "events.sub."  # + subscription name: its creates and updates
    topic_partitions: int = 4
    topic_replication: int = 1
    topic_min_insync_replicas: int = 1  # 2 with 3 replicas: an acknowledged write survives one broker's loss
    enricher_group: str = "pipeline-enricher"
    indexer_group: str = "pipeline-indexer"
    subscriptions_group: str = "pipeline-subscriptions"
    # The subscription materialiser forgets an event with no new reporting article for this long (by the reports'
    # Kafka timestamps), which bounds its table. Keep it at or above events.enriched's retention.
    subscriptions_event_ttl_hours: float = Field(720.0, gt=0)

    # Webhook delivery (pipeline subscribe --webhook, pipeline subscriptions deliver).
    webhook_secret: SecretStr | None = None  # signs each request (X-Pipeline-Signature) when set
    webhook_timeout_seconds: float = 10.0
    webhook_max_backoff_seconds: float = 60.0
    # The webhook deliverer polls while it retries, so only a single request longer than this drops it.
    webhook_max_poll_interval_ms: int = 300_000
    # The broker's message.max.bytes: dead letters keep a payload only while the letter stays below it.
    kafka_max_message_bytes: int = 1_000_000
    # How long a consumer may go between polls before the group drops it. The indexer polls (paused) while
    # Elasticsearch is away, so it can be short; tests lower it to prove that.
    indexer_max_poll_interval_ms: int = 300_000
    # Longest wait between two attempts at a batch Elasticsearch does not take (outage, 429, write block).
    indexer_retry_max_seconds: float = 30.0

    # Elasticsearch indices: the aliases everything reads and writes through; behind each, one versioned index
    # (news-events -> news-events-v1) that `pipeline reindex` replaces by the next version (pipeline.index.lifecycle).
    index_articles: str = "news-articles"
    index_events: str = "news-events"
    index_replicas: int = 0  # 1 on a cluster of two or more nodes

    # Enrichment.
    spacy_model: str = "en_core_web_sm"
    # The project's news NER merged over spacy_model's entities: "shipped" (the model in the package), a path
    # or package name, or "none" for spacy_model's entities alone.
    news_ner_model: str = "shipped"
    # Entities of French articles (other languages than English and French get none; see docs/enrichment.md).
    french_spacy_model: str = "fr_core_news_sm"
    # The most articles one nlp.pipe pass takes. A batch never waits to fill: it is what has arrived (live
    # traffic: one article; a backlog: full batches), see pipeline.enrich.batching.
    enrich_batch_size: int = 32
    max_text_chars: int = 200_000
    # An enricher with messages waiting on its partitions and no batch done for this long exits (non-zero) so
    # that its supervisor restarts it.
    enrich_stall_seconds: float = 120.0
    # spaCy keeps every word it has seen, so a worker loads its pipeline afresh after this many articles to give
    # that memory back (a few seconds, once); 0: never. See pipeline.enrich.nlp.ReloadingModel.
    enrich_model_reload_articles: int = Field(default=100_000, ge=0)
    # Parse in a child process of each worker, which then parses one batch while the worker enriches the one
    # before: about a third more throughput per worker with two cores or more, a few percent more CPU per
    # article. Set false to run one single-process worker per core instead (pipeline.enrich.parse_process).
    enrich_parse_process: bool = True

    # Collection.
    user_agent: str = "news-event-pipeline/0.1 (+https://example.org/news-event-pipeline)"
    state_path: Path = Path("collector.sqlite3")  # a relative path is taken inside data_dir
    allow_private_hosts: list[str] = Field(default_factory=list)
    max_body_bytes: int = 5_000_000
    request_timeout_seconds: float = 20.0
    per_host_concurrency: int = 2
    per_host_min_interval_seconds: float = 1.0
    poll_interval_seconds: float = 300.0
    poll_min_interval_seconds: float = 60.0
    poll_max_interval_seconds: float = 6 * 3600.0
    fetch_retries: int = 3
    retry_backoff_seconds: float = 1.0
    retry_backoff_max_seconds: float = 60.0
    max_redirects: int = 5
    robots_cache_seconds: float = 3600.0
    collect_concurrency: int = 16
    min_text_chars: int = 200
    near_duplicate_threshold: float = 0.8
    # The near-duplicate index holds the signatures of this recent window only (memory: ~3.3 kB an article).
    near_duplicate_window_seconds: float = 7 * 24 * 3600.0
    near_duplicate_max_articles: int = Field(default=50_000, ge=1)
    max_item_attempts: int = 3
    # An item given up on (dead-lettered) for a failure of the other side is tried again from its feed after
    # this back-off, doubling each time it fails again, up to the maximum, for as long as the feed lists it.
    item_retry_backoff_seconds: float = 3600.0
    item_retry_backoff_max_seconds: float = 24 * 3600.0

    # The main job (pipeline demo): where the bundled sample feed is served.
    demo_port: int = 8765

    # Observability.
    log_level: str = "INFO"
    log_json: bool = False
    metrics_port: int = 0

    @model_validator(mode="after")
    def _files_under_data_dir(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().absolute()
        if not self.state_path.is_absolute():
            self.state_path = self.data_dir / self.state_path
        return self

    @property
    def faust_data_dir(self) -> Path:
        return self.data_dir / "faust"

    def as_env(self) -> dict[str, str]:
        """The PIPELINE_* variables that give a child process these settings (plain values; no secrets)."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, bool):  # before int: bool is an int
                env[f"PIPELINE_{name.upper()}"] = "true" if value else "false"
            elif isinstance(value, str | int | float | Path):
                env[f"PIPELINE_{name.upper()}"] = str(value)
        return env

    @property
    def kafka(self) -> str:
        """Bootstrap servers, falling back to the local stack's broker."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.devstack_kafka_port}"

    @property
    def elasticsearch(self) -> str:
        return self.elasticsearch_url or f"http://127.0.0.1:{self.devstack_es_port}"

    @property
    def services_configured(self) -> bool:
        return bool(self.kafka_bootstrap and self.elasticsearch_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
