"""Registers ``pipeline evaluate ...``; each evaluation module adds its own sub-command to ``evaluate_app``."""

from __future__ import annotations

import importlib

import typer

from pipeline.evaluate import evaluate_app


def register(app: typer.Typer) -> None:
    for name in ("pipeline.evaluate.ner", "pipeline.evaluate.events"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    app.add_typer(evaluate_app, name="evaluate")
