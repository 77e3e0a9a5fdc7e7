"""The filter and format options, defined once for every command that selects events.

``@with_event_filter`` gives a typer command the filter options (``--type``, ``--country``, ``--since`` …)
and hands it one validated ``EventFilter`` as its ``event_filter`` argument; a bad value ends the command
with a usage error naming the option and what would work, never with a traceback.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from pipeline.query.filters import DEFAULT_RADIUS_KM, QUAD_CLASSES, EventFilter, FilterError
from pipeline.query.formats import OutputFormat
from pipeline.query.times import TIME_HELP

_FILTERS = "Filters (repeat an option or separate values with commas for alternatives)"


def _option(*names: str, help: str, metavar: str | None = None) -> Any:
    return typer.Option(None, *names, help=help, metavar=metavar, show_default=False, rich_help_panel=_FILTERS)


# Parameter name -> (annotation, option). The names are EventFilter.parse's keywords.
FILTER_OPTIONS: dict[str, tuple[Any, Any]] = {
    "types": (list[str] | None, _option("--type", "-t", help="PLOVER event type, e.g. CONSULT", metavar="TYPE")),
    "modes": (list[str] | None, _option("--mode", help="PLOVER mode of the type, e.g. visit", metavar="MODE")),
    "quad_classes": (
        list[str] | None,
        _option("--quad-class", help=f"{' | '.join(QUAD_CLASSES)} (or 1-4)", metavar="QUAD"),
    ),
    "countries": (
        list[str] | None,
        _option(
            "--country",
            "-c",
            help="Source, target or place country: a name or ISO code, resolved as enrichment does (Turkey, KOR)",
            metavar="COUNTRY",
        ),
    ),
    "entities": (
        list[str] | None,
        _option(
            "--entity",
            "-e",
            help="Actor or place whose canonical name contains these words, any case ('blinken')",
            metavar="NAME",
        ),
    ),
    "min_confidence": (float | None, _option("--min-confidence", help="Only events at least this confident (0-1)")),
    "near": (
        str | None,
        _option("--near", help="Events placed near 'lat,lon' or a place name (Seoul)", metavar="POINT"),
    ),
    "radius_km": (
        float | None,
        _option("--radius-km", help=f"Radius around --near in km (default {DEFAULT_RADIUS_KM:g})", metavar="KM"),
    ),
    "since": (str | None, _option("--since", help=f"From: {TIME_HELP}", metavar="TIME")),
    "until": (str | None, _option("--until", help="To (a date includes its whole day)", metavar="TIME")),
}

Command = TypeVar("Command", bound=Callable[..., Any])


def parse_filter_options(raw: dict[str, Any]) -> EventFilter:
    """The filter of the options' values, or a typer usage error naming the option that is wrong."""
    try:
        return EventFilter.parse(**raw)
    except FilterError as exc:
        raise typer.BadParameter(exc.detail, param_hint=f"'{exc.option}'") from None


def with_event_filter(command: Command) -> Command:
    """Replace the command's ``event_filter`` parameter with the filter options; pass it the parsed filter."""
    signature = inspect.signature(command)
    if "event_filter" not in signature.parameters:
        raise TypeError(f"{command.__name__} needs an 'event_filter' parameter")
    kept = [p for p in signature.parameters.values() if p.name != "event_filter"]
    clashes = {p.name for p in kept} & set(FILTER_OPTIONS)
    if clashes:
        raise TypeError(f"{command.__name__} has parameters named like filter options: {sorted(clashes)}")
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)
        for name, (annotation, option) in FILTER_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = {name: kwargs.pop(name, None) for name in FILTER_OPTIONS}
        return command(*args, event_filter=parse_filter_options(raw), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def format_option(default: OutputFormat = OutputFormat.table) -> Any:
    return typer.Option(
        default,
        "--format",
        "-f",
        case_sensitive=False,
        help="table for people; jsonl, json, csv for programs; geojson for events with coordinates",
    )
