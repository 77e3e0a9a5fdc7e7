"""The ``pipeline`` command. Each stage registers its own commands; this module only assembles them.

It is also where expected failures become messages (see ``pipeline.errors``): ``main`` catches them once,
for every command, prints what failed, where and what to do, and exits non-zero.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback

import typer

app = typer.Typer(
    name="pipeline",
    help="News-event pipeline: collect feeds, enrich with entities and PLOVER events, index, search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a bug prints the plain traceback; expected failures print a message
)

# Modules defining ``register(app: typer.Typer) -> None``; a missing one is skipped (stages land apart).
_COMMAND_MODULES = (
    "pipeline.contracts",
    "pipeline.devstack.cli",
    "pipeline.collect.cli",
    "pipeline.enrich.cli",
    "pipeline.enrich.worker_cli",
    "pipeline.evaluate.cli",
    "pipeline.train.ner",
    "pipeline.index.cli",
    "pipeline.ops.cli",
    "pipeline.deadletters.cli",
    "pipeline.publish.cli",
    "pipeline.publish.subscriptions_cli",
    "pipeline.demo",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)


_register_all()

_debug = False


@app.callback()
def _configure(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks and debug logs (same as PIPELINE_LOG_LEVEL=DEBUG)"
    ),
    timeout: float = typer.Option(
        None,
        "--timeout",
        min=0.1,
        help="Seconds to wait for Kafka or Elasticsearch to answer a request "
        "(default: PIPELINE_KAFKA_TIMEOUT_SECONDS / PIPELINE_ELASTICSEARCH_TIMEOUT_SECONDS, 5)",
        show_default=False,
    ),
) -> None:
    from pipeline.logconfig import configure_logging
    from pipeline.settings import get_settings

    global _debug
    settings = get_settings()
    if debug:
        settings.log_level = "DEBUG"
    if timeout is not None:
        settings.elasticsearch_timeout_seconds = settings.kafka_timeout_seconds = timeout
    _debug = settings.log_level.upper() == "DEBUG"
    configure_logging(settings)


def _quiet_client_logs() -> None:
    """The message says it once; client libraries would repeat each refused connection while shutting down."""
    for name in ("kafka", "aiokafka", "elastic_transport", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main() -> None:
    from pipeline.errors import explain
    from pipeline.settings import get_settings

    try:
        app()
    except Exception as exc:
        failure = explain(exc, get_settings())
        if failure is None:
            raise  # a bug: the traceback is what helps
        _quiet_client_logs()
        if _debug:
            traceback.print_exc()
        for line in failure.lines():
            print(line, file=sys.stderr)
        if not _debug:
            print("  (run with --debug for the traceback)", file=sys.stderr)
        sys.exit(failure.exit_code)


if __name__ == "__main__":
    main()
