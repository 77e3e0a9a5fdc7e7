"""Evaluation commands: measured quality and speed on the development data in ../shared/data."""

import typer

evaluate_app = typer.Typer(help="Measure NER and event coding on the development data.", no_args_is_help=True)
