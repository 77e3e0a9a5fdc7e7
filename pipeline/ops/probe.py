"""Does a service answer at all? One short request each, so ``pipeline status`` can tell in a few seconds a
port where nothing listens ("connection refused") from one that accepts and stays silent ("did not answer in
time"), before any client library spends its own, longer, timeouts and retries on either.

Kafka gets an ApiVersions request (any broker answers it, before authentication); Elasticsearch an HTTP GET of
``/`` (any HTTP answer counts, 401 included: the node is there).
"""

from __future__ import annotations

import socket
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipeline.settings import Settings

ANSWERED = "answered"
REFUSED = "refused"  # nothing listens, or the name does not resolve
SILENT = "silent"  # the connection was made (or hung) and no answer came in time

# The longest a probe waits, whatever the request timeout: a status with everything down answers in seconds.
PROBE_SECONDS = 2.5


@dataclass(frozen=True)
class Probe:
    service: str
    address: str
    outcome: str
    detail: str = ""

    @property
    def answered(self) -> bool:
        return self.outcome == ANSWERED

    def describe(self) -> str:
        if self.outcome == SILENT:
            return f"did not answer in time ({self.detail})"
        if self.outcome == REFUSED:
            return f"unreachable ({self.detail})"
        return "answered"


def _api_versions_request(correlation_id: int = 1) -> bytes:
    """A Kafka ApiVersions v0 request: api key 18, version 0, a correlation id and a client id."""
    client = b"pipeline-status"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client)) + client
    return struct.pack(">i", len(body)) + body


def _split_host_port(server: str, default_port: int) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    if not host:
        return server.strip(), default_port
    return host.strip("[]"), int(port)


def probe_kafka_server(server: str, timeout: float, *, speak: bool = True) -> Probe:
    """One broker: connect, then (unless the protocol is TLS, which a raw request cannot speak) ask its API
    versions and wait for the first bytes of an answer."""
    host, port = _split_host_port(server, 9092)
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            if not speak:
                return Probe("Kafka", server, ANSWERED)
            connection.settimeout(timeout)
            connection.sendall(_api_versions_request())
            if not connection.recv(4):
                return Probe("Kafka", server, REFUSED, "the connection was closed")
            return Probe("Kafka", server, ANSWERED)
    except TimeoutError:
        return Probe("Kafka", server, SILENT, f"{timeout:g}s")
    except OSError as exc:
        return Probe("Kafka", server, REFUSED, exc.strerror or type(exc).__name__)


def probe_kafka(settings: Settings, timeout: float) -> Probe:
    """The first bootstrap server that answers, else the first server's failure."""
    speak = not settings.kafka_security_protocol.endswith("SSL")
    servers = [server for server in settings.kafka.split(",") if server.strip()]
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        probes = list(pool.map(lambda server: probe_kafka_server(server, timeout, speak=speak), servers))
    answered = [probe for probe in probes if probe.answered]
    return answered[0] if answered else probes[0]


def probe_elasticsearch_url(url: str, timeout: float) -> Probe:
    import httpx

    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname}:{parts.port}"  # never the credentials of the URL
    try:
        # verify=False: this only asks whether anything answers; the client proper checks the certificate.
        httpx.get(f"{shown}/", timeout=timeout, verify=False)
    except httpx.TimeoutException:
        return Probe("Elasticsearch", shown, SILENT, f"{timeout:g}s")
    except httpx.TransportError as exc:
        return Probe("Elasticsearch", shown, REFUSED, _reason(exc))
    return Probe("Elasticsearch", shown, ANSWERED)


def _reason(exc: Exception) -> str:
    cause = exc.__cause__ or exc.__context__
    while cause is not None and (cause.__cause__ or cause.__context__) is not None:
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(exc) or type(exc).__name__


def probe_elasticsearch(settings: Settings, timeout: float) -> Probe:
    urls = [url.strip() for url in settings.elasticsearch.split(",") if url.strip()]
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        probes = list(pool.map(lambda url: probe_elasticsearch_url(url, timeout), urls))
    answered = [probe for probe in probes if probe.answered]
    return answered[0] if answered else probes[0]


def probe_both(settings: Settings) -> tuple[Probe, Probe]:
    """Kafka and Elasticsearch at once, each given at most ``PROBE_SECONDS`` (or the request timeout if less)."""
    kafka_wait = min(PROBE_SECONDS, settings.kafka_timeout_seconds)
    es_wait = min(PROBE_SECONDS, settings.elasticsearch_timeout_seconds)
    with ThreadPoolExecutor(max_workers=2) as pool:
        kafka = pool.submit(probe_kafka, settings, kafka_wait)
        elasticsearch = pool.submit(probe_elasticsearch, settings, es_wait)
        return kafka.result(), elasticsearch.result()
