"""Elasticsearch client, readiness and index set-up (templates from ``schemas/elasticsearch``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
import structlog
from elasticsearch import AuthenticationException, AuthorizationException, BadRequestError, Elasticsearch
from elasticsearch.serializer import JsonSerializer, OrjsonSerializer

from pipeline.contracts import index_template
from pipeline.errors import MappingConflict
from pipeline.settings import Settings

log = structlog.get_logger(__name__)


class FastJsonSerializer(OrjsonSerializer):
    """The client's JSON by orjson: the bulk lines, queries and responses. On our documents it writes the bytes
    of the client's default serializer (compact, non-ASCII as is) several times faster. What orjson refuses and
    the standard library takes (a lone surrogate, an integer beyond 64 bits, NaN in a response) goes through the
    standard library as before, so nothing fails here that did not before."""

    def json_dumps(self, data: Any) -> bytes:
        try:
            return super().json_dumps(data)
        except TypeError:
            return JsonSerializer.json_dumps(self, data)

    def json_loads(self, data: bytes) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return JsonSerializer.json_loads(self, data)


JSON = FastJsonSerializer()

# Bulk writes of a full batch on a busy node take longer than an interactive query may.
BULK_REQUEST_TIMEOUT_SECONDS = 60.0


def make_client(settings: Settings, request_timeout: float | None = None) -> Elasticsearch:
    """A client for the configured node; credentials from the URL, or PIPELINE_ELASTICSEARCH_API_KEY.

    Requests time out after PIPELINE_ELASTICSEARCH_TIMEOUT_SECONDS (unless ``request_timeout`` says otherwise)
    and are not repeated on a timeout, so an address that accepts but never answers fails in seconds.
    Several comma-separated URLs make the client spread requests and retry on another node when one is down.
    """
    security: dict[str, Any] = {}
    if settings.elasticsearch_api_key:
        security["api_key"] = settings.elasticsearch_api_key.get_secret_value()
    if settings.elasticsearch_ca_certs:
        security["ca_certs"] = settings.elasticsearch_ca_certs
    hosts = [url.strip() for url in settings.elasticsearch.split(",") if url.strip()]
    return Elasticsearch(
        hosts,
        request_timeout=request_timeout or settings.elasticsearch_timeout_seconds,
        retry_on_timeout=False,
        max_retries=1,
        serializer=JSON,
        **security,
    )


def wait_until_ready(client: Elasticsearch, timeout_seconds: float | None = None) -> None:
    """Readiness by cluster health (the local test distribution has no ``GET /``, so no ping()).

    A node that is still starting is waited for (PIPELINE_SERVICE_WAIT_SECONDS), and the wait is announced.
    """
    from pipeline.errors import START_HINT_ES, ServiceUnavailable, redact_url
    from pipeline.settings import get_settings

    wait = get_settings().service_wait_seconds if timeout_seconds is None else timeout_seconds
    url = redact_url(str(client.transport.node_pool.all()[0].base_url))
    deadline = time.monotonic() + wait
    last_error: Exception | None = None
    announced = False
    while True:
        try:
            health = client.cluster.health(wait_for_status="yellow", timeout="1s")
            if health["status"] in ("yellow", "green"):
                if announced:
                    log.info("Elasticsearch is ready", url=url)
                return
        except (AuthenticationException, AuthorizationException):
            raise  # refused credentials do not pass by waiting; the CLI says what to set
        except Exception as exc:  # connection refused while the node starts
            last_error = exc
        if time.monotonic() >= deadline:
            break
        if not announced:
            log.warning(f"waiting up to {wait:g}s for Elasticsearch at {url} to become ready", error=str(last_error))
            announced = True
        time.sleep(1.0)
    raise ServiceUnavailable(
        f"Elasticsearch not ready after {wait:g}s: {last_error}".splitlines()[0][:300],
        where=url,
        hint=START_HINT_ES + " (PIPELINE_SERVICE_WAIT_SECONDS sets how long to wait)",
    )


def index_names(settings: Settings) -> dict[str, str]:
    return {"articles": settings.index_articles, "events": settings.index_events}


def versioned_name(alias: str, version: int) -> str:
    return f"{alias}-v{version}"


def missing_fields(
    index_properties: dict[str, Any], template_properties: dict[str, Any], prefix: str = ""
) -> list[str]:
    """Dotted names of the template's fields that an index's mapping lacks (into objects, not past a missing
    one): what a newer contract added since the index was created."""
    missing: list[str] = []
    for name, field in template_properties.items():
        if name not in index_properties:
            missing.append(prefix + name)
        elif "properties" in field:
            inner = index_properties[name].get("properties", {})
            missing += missing_fields(inner, field["properties"], f"{prefix}{name}.")
    return missing


def mapping_drift(mappings: Mapping[str, Any], properties: dict[str, Any]) -> dict[str, list[str]]:
    """Each index of ``mappings`` (index name -> its body with ``mappings``, as get_mapping or get answer) whose
    mapping lacks fields of ``properties`` (its template's), with them."""
    drift: dict[str, list[str]] = {}
    for index, body in mappings.items():
        missing = missing_fields(body.get("mappings", {}).get("properties", {}), properties)
        if missing:
            drift[index] = missing
    return drift


def template_properties(kind: str) -> dict[str, Any]:
    properties: dict[str, Any] = index_template(kind)["template"]["mappings"]["properties"]
    return properties


def ensure_indices(client: Elasticsearch, settings: Settings, *, upgrade_mappings: bool = False) -> None:
    """Install the index templates and create each index as version 1 behind its alias (idempotent;
    templates are overwritten). Readers and writers use the alias; ``pipeline reindex`` moves it.

    An existing index keeps its mapping, which is strict: fields a newer contract added are refused until they
    are added. That is said (a warning naming them and the two ways out), and done only when asked
    (``upgrade_mappings``, ``pipeline setup --upgrade-mappings``): an index made strict on purpose stays so."""
    for kind, alias in index_names(settings).items():
        template = index_template(kind)
        client.indices.put_index_template(
            name=f"pipeline-{alias}",  # per index, so parallel deployments (and tests) do not clash
            index_patterns=[f"{alias}*"],
            priority=template["priority"],
            template=template["template"],
            meta=template["_meta"],
        )
        if client.indices.exists(index=alias):  # the alias, or an index from before versioning
            _check_mapping(client, alias, template["template"]["mappings"]["properties"], upgrade_mappings)
            continue
        first = versioned_name(alias, 1)
        # The alias is part of the create request: no moment where the index exists without it.
        try:
            # Replicas are a property of the cluster, not of the contract: set here, not in the template.
            client.indices.create(
                index=first, aliases={alias: {}}, settings={"number_of_replicas": settings.index_replicas}
            )
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
            continue  # a parallel set-up won the race: the index exists, which is all we need
        log.info("index created", index=first, alias=alias)


def _check_mapping(client: Elasticsearch, alias: str, properties: dict[str, Any], upgrade: bool) -> None:
    for index, missing in mapping_drift(client.indices.get_mapping(index=alias).body, properties).items():
        if not upgrade:
            log.warning(
                f"index {index} ({alias}) lacks {len(missing)} field(s) of its template: documents that carry them "
                "are refused as mapping errors (dead letters). Add them in place with `pipeline setup "
                "--upgrade-mappings`, or build a new version with `pipeline reindex`",
                fields=missing,
            )
            continue
        try:
            # Elasticsearch merges new fields into a mapping; a changed field is refused, with nothing applied.
            client.indices.put_mapping(index=index, properties=properties)
        except BadRequestError as exc:
            error = exc.body.get("error") if isinstance(exc.body, dict) else None
            reason = error.get("reason") if isinstance(error, dict) else None
            raise MappingConflict(
                f"index {index} cannot take its template's mapping in place: {reason or exc.message}",
                where=alias,
                hint="run `pipeline reindex` to build a new version of the index from the template",
            ) from exc
        log.info("index mapping upgraded in place", index=index, alias=alias, added=missing)


def delete_indices(client: Elasticsearch, settings: Settings) -> None:
    """Remove the indices (every version) and templates of these settings: for tests and benchmarks.
    Deleting by alias name is refused (silently, with ignore_unavailable), hence the concrete names."""
    for alias in index_names(settings).values():
        client.indices.delete(index=f"{alias},{alias}-v*", ignore_unavailable=True, allow_no_indices=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"pipeline-{alias}")
