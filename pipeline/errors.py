"""Expected failures, told as messages: what failed, where, what to do.

Commands raise the typed errors below (or let a known client-library error escape); ``pipeline.cli.main``
turns either into a few lines on stderr and a non-zero exit. Anything else is a bug and keeps its traceback,
as does every failure under ``--debug`` (or ``PIPELINE_LOG_LEVEL=DEBUG``).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.redact import redact_url as redact_url  # re-exported: callers import it from here
from pipeline.settings import Settings, SettingsInvalid, get_settings

# Exit codes from sysexits.h, so scripts can tell "try again later" from "fix your configuration". Every
# command uses these and no others (the README's table lists them; tests/unit/test_cli_conventions.py checks).
EXIT_OK = 0
EXIT_USAGE = 64  # a wrong option, argument or value on the command line
EXIT_DATA_ERROR = 65  # input that cannot be used (an article that fails, a mapping that cannot change in place)
EXIT_NOT_FOUND = 66  # an input, index, topic or subscription that does not exist
EXIT_UNAVAILABLE = 69  # a service does not answer, or refuses a delivery
EXIT_SOFTWARE = 70  # a stage that cannot go on: a supervisor restarts it
EXIT_TIMEOUT = 75  # a service accepted the connection and did not answer in time: try again, or allow more time
EXIT_NO_PERMISSION = 77  # credentials refused
EXIT_CONFIG = 78  # a PIPELINE_* setting with a wrong value
EXIT_INTERRUPTED = 130  # Ctrl-C

START_HINT_ES = "start the local stack with `./run up`, or set PIPELINE_ELASTICSEARCH_URL to a running node"
START_HINT_KAFKA = "start the local stack with `./run up`, or set PIPELINE_KAFKA_BOOTSTRAP to a running broker"


class PipelineError(Exception):
    """A failure the user can act on. ``where`` is a URL or address; ``hint`` says what to do."""

    exit_code = EXIT_DATA_ERROR  # subclasses say better

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.hint = hint

    def lines(self) -> list[str]:
        head = f"error: {self.what}" + (f" ({self.where})" if self.where else "")
        return [head] + ([f"  → {self.hint}"] if self.hint else [])


class ServiceUnavailable(PipelineError):
    exit_code = EXIT_UNAVAILABLE


class ServiceTimeout(PipelineError):
    exit_code = EXIT_TIMEOUT


class AuthFailed(PipelineError):
    exit_code = EXIT_NO_PERMISSION


class MissingResource(PipelineError):
    """An index, topic or file that should exist does not."""

    exit_code = EXIT_NOT_FOUND


class BadOptionValue(PipelineError):
    exit_code = EXIT_USAGE


class BadSetting(PipelineError):
    exit_code = EXIT_CONFIG

    def lines(self) -> list[str]:
        return [f"error: {line}" for line in self.what.split("\n")] + ([f"  → {self.hint}"] if self.hint else [])


def bad_settings(problems: list[str]) -> BadSetting:
    return BadSetting(
        "\n".join(problems),
        hint="correct it, or unset it for the default (pipeline/settings.py lists every setting)",
    )


class DataError(PipelineError):
    """Input that cannot be used as given."""

    exit_code = EXIT_DATA_ERROR


class MappingConflict(PipelineError):
    """An index differs from its template in a way Elasticsearch cannot change in place."""

    exit_code = EXIT_DATA_ERROR


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _elasticsearch_error(exc: BaseException, settings: Settings) -> PipelineError | None:
    import elastic_transport
    import elasticsearch

    url = redact_url(settings.elasticsearch)
    if isinstance(exc, elastic_transport.ConnectionTimeout):
        return ServiceTimeout(
            f"Elasticsearch did not answer within {settings.elasticsearch_timeout_seconds:g}s",
            where=url,
            hint="check the node, or allow more time with --timeout / PIPELINE_ELASTICSEARCH_TIMEOUT_SECONDS",
        )
    if isinstance(exc, elastic_transport.ConnectionError | elastic_transport.SerializationError):
        return ServiceUnavailable("cannot reach Elasticsearch", where=url, hint=START_HINT_ES)
    if isinstance(exc, elasticsearch.AuthenticationException | elasticsearch.AuthorizationException):
        return AuthFailed(
            f"Elasticsearch refused the credentials ({exc.meta.status})",
            where=url,
            hint="set PIPELINE_ELASTICSEARCH_API_KEY, or put user:password in PIPELINE_ELASTICSEARCH_URL",
        )
    if isinstance(exc, elasticsearch.NotFoundError):
        index = _index_in(exc)
        return MissingResource(
            f"Elasticsearch index {index!r} does not exist" if index else f"not found in Elasticsearch: {exc.message}",
            where=url,
            hint="run `pipeline setup` to create the indices, then `pipeline index` to fill them",
        )
    if isinstance(exc, elasticsearch.ApiError):
        return PipelineError(f"Elasticsearch refused the request ({exc.meta.status}): {_reason(exc)}", where=url)
    return None


def _index_in(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("type") == "index_not_found_exception":
            return str(error.get("index") or error.get("resource.id") or "") or None
    return None


def _reason(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"[:300]
    return str(exc)[:300]


def _kafka_error(exc: BaseException, settings: Settings) -> PipelineError | None:
    from kafka import errors

    where = settings.kafka
    if isinstance(exc, errors.NoBrokersAvailable):
        return ServiceUnavailable("cannot reach Kafka", where=where, hint=START_HINT_KAFKA)
    if isinstance(exc, errors.KafkaTimeoutError | errors.KafkaConnectionError | errors.RequestTimedOutError):
        return ServiceTimeout(
            "Kafka did not answer in time",
            where=where,
            hint="check the broker, or allow more time with --timeout / PIPELINE_KAFKA_TIMEOUT_SECONDS",
        )
    if isinstance(exc, errors.SaslAuthenticationFailedError | errors.AuthorizationError):
        return AuthFailed(
            f"Kafka refused the client: {type(exc).__name__}",
            where=where,
            hint="check PIPELINE_KAFKA_SECURITY_PROTOCOL and PIPELINE_KAFKA_SASL_USERNAME / _PASSWORD",
        )
    if isinstance(exc, errors.UnknownTopicOrPartitionError):
        return MissingResource("a Kafka topic does not exist", where=where, hint="run `pipeline setup`")
    return None


def _http_error(exc: BaseException) -> PipelineError | None:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return ServiceTimeout("no answer in time", where=redact_url(str(exc.request.url)))
    if isinstance(exc, httpx.TransportError):
        return ServiceUnavailable(f"cannot connect: {exc}", where=redact_url(str(exc.request.url)))
    return None


def explain(exc: BaseException, settings: Settings | None = None) -> PipelineError | None:
    """The message for an expected failure (this one or any it was raised from), None for a bug. ``settings``
    name the services in the message (the loaded ones when not given; the defaults if they cannot load)."""
    for link in _chain(exc):
        if isinstance(link, PipelineError):
            return link
        if isinstance(link, SettingsInvalid):
            return bad_settings(link.problems)
        known = settings or _settings_or_defaults()
        for translate in (_elasticsearch_error, _kafka_error, lambda e, _settings: _http_error(e)):
            try:
                found = translate(link, known)
            except (ImportError, AttributeError, RuntimeError):  # library absent, or error lacks its usual fields
                found = None
            if found is not None:
                return found
    return None


def _settings_or_defaults() -> Settings:
    try:
        return get_settings()
    except SettingsInvalid:
        return Settings.model_construct()
