"""The one settings object. Every value can be set by an environment variable prefixed ``PIPELINE_``.

Example: ``PIPELINE_KAFKA_BOOTSTRAP=broker:9092 PIPELINE_SPACY_MODEL=en_core_web_sm pipeline enrich``.
The same variables may also be written in a file named ``.env`` in the working directory (environment
variables win over it). ``pipeline config`` shows every effective value and where it came from.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

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
    kafka_bootstrap: str = ""  # host:port[,host:port...]
    elasticsearch_url: str = ""  # http(s)://host:port[,...]
    kibana_url: str = ""  # http(s)://host[:port]

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
    elasticsearch_timeout_seconds: float = Field(default=5.0, gt=0)
    kafka_timeout_seconds: float = Field(default=5.0, gt=0)
    service_wait_seconds: float = Field(default=60.0, ge=0)

    # Local stack (pipeline devstack), used when no services are configured.
    devstack_dir: Path = Path(".devstack")
    devstack_kafka_port: int = Field(default=9092, ge=1, le=65535)
    devstack_kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    # A second listener, SASL/PLAIN, so the secured path is tested too.
    devstack_kafka_sasl_port: int = Field(default=9094, ge=1, le=65535)
    devstack_es_port: int = Field(default=9200, ge=1, le=65535)
    # Where Elasticsearch's own files go. Unset: inside devstack_dir, except as root, where ES runs as the
    # user pipeline-es and the checkout may be closed to it: then /var/tmp/pipeline-devstack.
    devstack_es_dir: Path | None = None
    # A cluster instead (`pipeline devstack up --brokers 3 --es-nodes 2`): its nodes listen on ports derived
    # from this base (see pipeline/devstack/layout.py), apart from the single-node defaults above.
    devstack_brokers: int = Field(default=1, ge=1, le=9)
    devstack_es_nodes: int = Field(default=1, ge=1, le=9)
    devstack_cluster_port_base: int = Field(default=39100, ge=1024, le=65000)

    # Topics and consumer groups.
    topic_raw: str = "articles.raw"
    topic_enriched: str = "articles.enriched"
    topic_events: str = "events.enriched"
    topic_dead_letter: str = "pipeline.deadletter"
    topic_subscriptions: str = "pipeline.subscriptions"  # compacted: key = subscription name
    topic_subscription_prefix: str = "events.sub."  # + subscription name: its creates and updates
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    # 2 with 3 replicas: an acknowledged write survives one broker's loss.
    topic_min_insync_replicas: int = Field(default=1, ge=1)
    enricher_group: str = "pipeline-enricher"
    indexer_group: str = "pipeline-indexer"
    subscriptions_group: str = "pipeline-subscriptions"
    # The subscription materialiser forgets an event with no new reporting article for this long (by the reports'
    # Kafka timestamps), which bounds its table. Keep it at or above events.enriched's retention.
    subscriptions_event_ttl_hours: float = Field(720.0, gt=0)

    # Webhook delivery (pipeline subscribe --webhook, pipeline subscriptions deliver).
    webhook_secret: SecretStr | None = None  # signs each request (X-Pipeline-Signature) when set
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_backoff_seconds: float = Field(default=60.0, gt=0)
    # The webhook deliverer polls while it retries, so only a single request longer than this drops it.
    webhook_max_poll_interval_ms: int = Field(default=300_000, ge=1)
    # How every producer of the pipeline compresses its record batches (kafka-python's and Faust's alike). zstd
    # keeps gzip's ratio at a seventh of its CPU (benchmarks/serialization_profile.py, docs/performance.md).
    kafka_compression: Literal["zstd", "gzip", "none"] = "zstd"
    # The broker's message.max.bytes: dead letters keep a payload only while the letter stays below it.
    kafka_max_message_bytes: int = Field(default=1_000_000, ge=1024)
    # How long a consumer may go between polls before the group drops it. The indexer polls (paused) while
    # Elasticsearch is away, so it can be short; tests lower it to prove that.
    indexer_max_poll_interval_ms: int = Field(default=300_000, ge=1)
    # Longest wait between two attempts at a batch Elasticsearch does not take (outage, 429, write block).
    indexer_retry_max_seconds: float = Field(default=30.0, gt=0)

    # Elasticsearch indices: the aliases everything reads and writes through; behind each, one versioned index
    # (news-events -> news-events-v1) that `pipeline reindex` replaces by the next version (pipeline.index.lifecycle).
    index_articles: str = "news-articles"
    index_events: str = "news-events"
    index_replicas: int = Field(default=0, ge=0)  # 1 on a cluster of two or more nodes

    # Enrichment.
    spacy_model: str = "en_core_web_sm"
    # The project's news NER merged over spacy_model's entities: "shipped" (the model in the package), a path
    # or package name, or "none" for spacy_model's entities alone.
    news_ner_model: str = "shipped"
    # Entities of French articles (other languages than English and French get none; see docs/enrichment.md).
    french_spacy_model: str = "fr_core_news_sm"
    # The most articles one nlp.pipe pass takes. A batch never waits to fill: it is what has arrived (live
    # traffic: one article; a backlog: full batches), see pipeline.enrich.batching.
    enrich_batch_size: int = Field(default=32, ge=1)
    max_text_chars: int = Field(default=200_000, ge=1)
    # An enricher with messages waiting on its partitions and no batch done for this long exits (non-zero) so
    # that its supervisor restarts it.
    enrich_stall_seconds: float = Field(default=120.0, gt=0)
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
    # Comma-separated (or a JSON list): names, IPs or CIDR networks that may resolve to non-public addresses.
    allow_private_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=5_000_000, ge=1)
    request_timeout_seconds: float = Field(default=20.0, gt=0)
    per_host_concurrency: int = Field(default=2, ge=1)
    per_host_min_interval_seconds: float = Field(default=1.0, ge=0)
    poll_interval_seconds: float = Field(default=300.0, gt=0)
    poll_min_interval_seconds: float = Field(default=60.0, gt=0)
    poll_max_interval_seconds: float = Field(default=6 * 3600.0, gt=0)
    fetch_retries: int = Field(default=3, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    retry_backoff_max_seconds: float = Field(default=60.0, ge=0)
    max_redirects: int = Field(default=5, ge=0)
    robots_cache_seconds: float = Field(default=3600.0, ge=0)
    collect_concurrency: int = Field(default=16, ge=1)
    min_text_chars: int = Field(default=200, ge=0)
    near_duplicate_threshold: float = Field(default=0.8, ge=0, le=1)
    # The near-duplicate index holds the signatures of this recent window only (memory: ~3.3 kB an article).
    near_duplicate_window_seconds: float = Field(default=7 * 24 * 3600.0, gt=0)
    near_duplicate_max_articles: int = Field(default=50_000, ge=1)
    max_item_attempts: int = Field(default=3, ge=1)
    # An item given up on (dead-lettered) for a failure of the other side is tried again from its feed after
    # this back-off, doubling each time it fails again, up to the maximum, for as long as the feed lists it.
    item_retry_backoff_seconds: float = Field(default=3600.0, gt=0)
    item_retry_backoff_max_seconds: float = Field(default=24 * 3600.0, gt=0)

    # The main job (pipeline demo): where the bundled sample feed is served.
    demo_port: int = Field(default=8765, ge=1, le=65535)

    # Observability.
    log_level: str = "INFO"  # DEBUG, INFO, WARNING, ERROR or CRITICAL
    log_json: bool = False
    metrics_port: int = Field(default=0, ge=0, le=65535)  # 0: no metrics endpoint

    # Formats checked at load, so a wrong value is one message naming the setting (``SettingsInvalid``), not
    # a traceback from whichever client first uses it.
    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in _items(value):
            host, _, port = server.rpartition(":")
            if not host or not _is_port(port):
                raise ValueError(f"{server!r} is not host:port" if "," in value else "not host:port")
        return value

    @field_validator("elasticsearch_url")
    @classmethod
    def _es_urls(cls, value: str) -> str:
        for url in _items(value):
            if not _is_http_url(url, port_required=True):
                problem = "not a URL with a scheme, host and port"
                raise ValueError(f"{url!r} is {problem}" if "," in value else problem)
        return value

    @field_validator("kibana_url")
    @classmethod
    def _kibana_url(cls, value: str) -> str:
        if value.strip() and not _is_http_url(value.strip(), port_required=False):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("elasticsearch_api_key")
    @classmethod
    def _api_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # set but empty: no key, as when unset
        if value is not None and re.search(r"\s", value.get_secret_value()):
            raise ValueError("an API key is one word (no spaces or line breaks)")
        return value

    @field_validator("elasticsearch_ca_certs", "kibana_ca_certs", "kafka_ssl_cafile")
    @classmethod
    def _existing_file(cls, value: str | None) -> str | None:
        if value and not Path(value).expanduser().is_file():
            raise ValueError("no such file")
        return value

    @field_validator("data_dir", "devstack_dir", "devstack_es_dir")
    @classmethod
    def _directory(cls, value: Path | None) -> Path | None:
        if value is not None and (not str(value).strip() or value.expanduser().is_file()):
            raise ValueError("not a directory")
        return value

    @field_validator("state_path")
    @classmethod
    def _file_path(cls, value: Path) -> Path:
        # A relative path is taken inside data_dir (below), so only an absolute one can be checked here.
        path = value.expanduser()
        if not str(value).strip() or str(value) == "." or (path.is_absolute() and path.is_dir()):
            raise ValueError("a directory, not a file")
        return value

    @field_validator("topic_raw", "topic_enriched", "topic_events", "topic_dead_letter", "topic_subscriptions")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not _TOPIC.fullmatch(value) or value in {".", ".."}:
            raise ValueError("not a Kafka topic name (letters, digits, '.', '_', '-')")
        return value

    @field_validator("topic_subscription_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        if not _TOPIC.fullmatch(value + "x"):
            raise ValueError("cannot start a Kafka topic name (letters, digits, '.', '_', '-')")
        return value

    @field_validator("enricher_group", "indexer_group", "subscriptions_group", "user_agent", "kafka_sasl_username")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(ord(c) < 32 for c in value)):
            raise ValueError("empty, or has a line break")
        return value

    @field_validator("index_articles", "index_events")
    @classmethod
    def _index(cls, value: str) -> str:
        if not _INDEX.fullmatch(value):
            raise ValueError("not an Elasticsearch index name (lower case, digits, '.', '_', '-')")
        return value

    @field_validator("spacy_model", "french_spacy_model", "news_ner_model")
    @classmethod
    def _model(cls, value: str) -> str:
        if not value.strip() or (re.search(r"\s", value) and not Path(value).exists()):
            raise ValueError("neither a package name nor a path")
        return value

    @field_validator("allow_private_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the environment or .env: "a,b" or a JSON list
            import json

            text = value.strip()
            try:
                value = json.loads(text) if text.startswith("[") else _items(text)
            except ValueError as exc:
                raise ValueError("not a JSON list") from exc
        for host in value if isinstance(value, list) else []:
            if not isinstance(host, str) or not _is_host_or_network(host):
                raise ValueError(f"{host!r} is not a host name, IP address or network")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"not one of {', '.join(_LOG_LEVELS)}")
        return value.upper()

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


_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_INDEX = re.compile(r"[a-z0-9][a-z0-9._+-]{0,200}")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_HOST = re.compile(r"(?=.{1,253}\.?$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _is_port(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= 65535


def _is_http_url(url: str, *, port_required: bool) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and (port is not None or not port_required)


def _is_host_or_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return bool(_HOST.fullmatch(text))


# An example of a good value, for the message about a wrong one, where the default is not a good example.
EXAMPLES: dict[str, str] = {
    "data_dir": "/var/lib/pipeline",
    "kafka_bootstrap": "broker:9092",
    "elasticsearch_url": "http://localhost:9200",
    "kibana_url": "http://localhost:5601",
    "elasticsearch_api_key": "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
    "elasticsearch_ca_certs": "/etc/ssl/certs/es-ca.pem",
    "kibana_ca_certs": "/etc/ssl/certs/kibana-ca.pem",
    "kafka_ssl_cafile": "/etc/ssl/certs/kafka-ca.pem",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "pipeline",
    "devstack_es_dir": "/var/tmp/pipeline-devstack",
    "allow_private_hosts": "localhost,10.0.0.0/8",
    "metrics_port": "9464",
    "log_json": "true",
}


def example_value(name: str) -> str:
    """A good value of setting ``name``, as it would be written in the environment."""
    if name in EXAMPLES:
        return EXAMPLES[name]
    field = Settings.model_fields[name]
    default = field.get_default(call_default_factory=False)
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


class SettingsInvalid(Exception):
    """Settings that cannot be loaded: one line per wrong value, naming its variable and a good value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _value_text(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _problem_text(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    message = str(error.get("msg", "not valid"))
    readable = {
        "int_parsing": "not a whole number",
        "int_from_float": "not a whole number",
        "float_parsing": "not a number",
        "bool_parsing": "not true or false",
    }.get(kind)
    if readable:
        return readable
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    return message.replace("Input should be", "should be", 1).replace("Value should be", "should be", 1)


def describe_invalid(exc: ValidationError | SettingsError, environ: dict[str, str] | None = None) -> SettingsInvalid:
    """One line per wrong setting: ``PIPELINE_X='value' is not ...; e.g. PIPELINE_X=good (from .env)``."""
    environ = dict(os.environ) if environ is None else environ
    problems: list[str] = []
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            name = str(error["loc"][0]) if error.get("loc") else ""
            if name not in Settings.model_fields:
                problems.append(f"settings: {_problem_text(dict(error))}")
                continue
            problems.append(_line(name, _problem_text(dict(error)), error.get("input"), environ))
    else:
        found = re.search(r'field "([a-z_]+)"', str(exc))
        name = found.group(1) if found else ""
        if name in Settings.model_fields:
            variable = f"PIPELINE_{name.upper()}"
            problems.append(_line(name, "cannot be read", environ.get(variable), environ))
        else:
            problems.append(f"settings: {exc}")
    return SettingsInvalid(problems)


def _line(name: str, problem: str, value: Any, environ: dict[str, str]) -> str:
    variable = f"PIPELINE_{name.upper()}"
    where = "the environment" if variable in environ else ENV_FILE
    shown = f"={_value_text(value)}" if isinstance(value, str | int | float) else ""
    if any(word in name for word in ("secret", "password", "api_key")):
        shown = ""  # a secret is never echoed, even a wrong one
    return f"{variable}{shown}: {problem}; e.g. {variable}={example_value(name)} (set in {where})"


def load_settings() -> Settings:
    """``Settings()``, with a wrong value told as ``SettingsInvalid`` instead of pydantic's report."""
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:
        raise describe_invalid(exc) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
