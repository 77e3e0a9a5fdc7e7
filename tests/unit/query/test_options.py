"""The filter options, defined once: a command gets them all and receives one parsed EventFilter."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from pipeline.query.filters import EventFilter
from pipeline.query.options import with_event_filter

app = typer.Typer()
received: list[EventFilter] = []


@app.command()
@with_event_filter
def probe(
    loud: bool = typer.Option(False, "--loud"),
    *,
    event_filter: EventFilter,
) -> None:
    received.append(event_filter)


def test_a_command_gets_every_filter_option_and_one_filter() -> None:
    received.clear()
    result = CliRunner().invoke(
        app,
        ["--type", "consult", "-t", "AGREE", "--country", "Turkey", "--entity", "blinken", "--since", "2025-01-01",
         "--near", "37.5,127", "--radius-km", "20", "--min-confidence", "0.6", "--quad-class", "1", "--loud"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (parsed,) = received
    assert parsed.types == ["CONSULT", "AGREE"] and parsed.countries == ["TUR"] and parsed.entities == ["blinken"]
    assert parsed.near == (37.5, 127.0, 20.0) and parsed.min_confidence == 0.6


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--type", "missile"], "Invalid value for '--type': unknown event type 'missile'; valid: ACCUSE"),
        (["--since", "2025/01/01"], "Invalid value for '--since'"),
        (["--country", "EU"], "Invalid value for '--country'"),
    ],
)
def test_bad_values_end_with_a_usage_message_not_a_traceback(arguments: list[str], says: str) -> None:
    result = CliRunner().invoke(app, arguments, env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_help_lists_the_filters() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    for option in ("--type", "--mode", "--quad-class", "--country", "--entity", "--min-confidence", "--near",
                   "--radius-km", "--since", "--until"):  # fmt: skip
        assert option in result.output


def test_a_parameter_named_like_a_filter_option_is_refused() -> None:
    def clash(types: str, *, event_filter: EventFilter) -> None: ...

    with pytest.raises(TypeError, match="types"):
        with_event_filter(clash)
