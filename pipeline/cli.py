"""The ``pipeline`` command. Each stage registers its own commands; this module only assembles them.

It is also where the command line's conventions are kept, once for every command:

- expected failures become messages (see ``pipeline.errors``): ``main`` catches them, prints what failed,
  where and what to do, and exits with a code of the sysexits scheme (``pipeline.errors.EXIT_*``; a wrong
  option or value is 64, not click's 2);
- commands are grouped in the help (``PANELS``), flags show no value placeholder, and a default that is a
  path of this checkout is shown relative to it, not as this machine's absolute path.

``tests/unit/test_cli_conventions.py`` walks every command and checks these.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer
import typer.main
from typer import _click as click
from typer._click import exceptions as click_errors  # typer bundles its own click (pinned in pyproject)
from typer.core import TyperGroup

from pipeline.cli_conventions import apply_conventions


class _SysexitsGroup(TyperGroup):
    """Usage errors exit 64 (EX_USAGE) rather than click's 2, however the app is run (``main``, CliRunner)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click_errors.UsageError as exc:
            exc.exit_code = _exit_usage()
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click_errors.UsageError as exc:
            exc.exit_code = _exit_usage()
            raise


def _exit_usage() -> int:
    from pipeline.errors import EXIT_USAGE

    return EXIT_USAGE


app = typer.Typer(
    name="pipeline",
    cls=_SysexitsGroup,
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
    "pipeline.train.events_cli",
    "pipeline.index.cli",
    "pipeline.ops.cli",
    "pipeline.deadletters.cli",
    "pipeline.publish.cli",
    "pipeline.publish.subscriptions_cli",
    "pipeline.demo",
)

COLLECT = "Collect, enrich, index"
QUERY = "Query"
SUBSCRIBE = "Subscriptions"
OPERATE = "Operate"
EVALUATE = "Evaluate and train"
LOCAL = "Local stack"
# Where each top-level command shows in `pipeline --help` (a new command needs a line here; a test says so).
PANELS: dict[str, str] = {
    "collect": COLLECT,
    "feeds-survey": COLLECT,
    "enrich": COLLECT,
    "annotate": COLLECT,
    "index": COLLECT,
    "search": QUERY,
    "subscribe": SUBSCRIBE,
    "subscriptions": SUBSCRIBE,
    "setup": OPERATE,
    "status": OPERATE,
    "config": OPERATE,
    "reindex": OPERATE,
    "deadletters": OPERATE,
    "schemas": OPERATE,
    "evaluate": EVALUATE,
    "train": EVALUATE,
    "demo": LOCAL,
    "devstack": LOCAL,
}


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        command.rich_help_panel = command.rich_help_panel or PANELS.get(name)
    for group in app.registered_groups:
        group.rich_help_panel = group.rich_help_panel or PANELS.get(str(group.name))


_register_all()

_debug = False


def _print_versions(value: bool) -> None:
    if not value:
        return
    from pipeline.errors import _settings_or_defaults
    from pipeline.versions import version_lines

    for line in version_lines(_settings_or_defaults()):
        print(line)
    raise typer.Exit()


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
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_versions,
        help="Print the package, model and taxonomy versions and exit",
    ),
) -> None:
    from pipeline.logconfig import configure_logging
    from pipeline.settings import get_settings

    global _debug
    _debug = debug  # before loading the settings, so a wrong setting shows its traceback under --debug
    settings = get_settings()
    if debug:
        settings.log_level = "DEBUG"
    if timeout is not None:
        settings.elasticsearch_timeout_seconds = settings.kafka_timeout_seconds = timeout
    _debug = settings.log_level.upper() == "DEBUG"
    configure_logging(settings)


def build_command() -> click.Command:
    """The click command tree of ``app``, with the conventions above applied."""
    root = typer.main.get_command(app)
    if isinstance(root, TyperGroup):  # panels in the order of PANELS, not of registration
        order = list(dict.fromkeys(PANELS.values()))
        root.commands = dict(
            sorted(root.commands.items(), key=lambda item: order.index(PANELS.get(item[0], order[-1])))
        )
    return apply_conventions(root)


def _quiet_client_logs() -> None:
    """The message says it once; client libraries would repeat each refused connection while shutting down."""
    for name in ("kafka", "aiokafka", "elastic_transport", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def exit_code_of_click(exc: click_errors.ClickException) -> int:
    from pipeline.errors import EXIT_NOT_FOUND

    return EXIT_NOT_FOUND if isinstance(exc, click_errors.FileError) else _exit_usage()


def main(argv: Sequence[str] | None = None) -> None:
    from typer import rich_utils

    from pipeline.errors import EXIT_INTERRUPTED, explain

    try:
        result = build_command().main(args=argv, prog_name="pipeline", standalone_mode=False)
    except click_errors.ClickException as exc:  # a wrong option or value: click's message, our exit code
        rich_utils.rich_format_error(exc)
        sys.exit(exit_code_of_click(exc))
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        failure = explain(exc)
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
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
