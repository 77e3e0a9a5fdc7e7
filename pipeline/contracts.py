"""The contracts in ``schemas/``: JSON Schemas of the messages and Elasticsearch index templates.

The JSON Schemas are exported from the records in ``pipeline.records`` (``pipeline schemas --write``) and
committed; the contract tests fail when code and committed schema drift apart, so a contract change is
always a deliberate, reviewed act (regenerate, bump ``SCHEMA_VERSION`` if incompatible).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel

from pipeline.records import (
    SCHEMA_VERSION,
    DeadLetter,
    EnrichedArticle,
    Event,
    EventChange,
    RawArticle,
    Subscription,
)

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"

MESSAGE_MODELS: dict[str, type[BaseModel]] = {
    "raw-article": RawArticle,
    "enriched-article": EnrichedArticle,
    "event": Event,
    "dead-letter": DeadLetter,
    "subscription": Subscription,
    "event-change": EventChange,
}

INDEX_TEMPLATES = {"articles": "articles.index-template.json", "events": "events.index-template.json"}


def schemas_dir() -> Path:
    """``schemas/`` of a source checkout, else the copy installed with the package (see deploy/Dockerfile)."""
    installed = Path(__file__).resolve().parent / "schemas"
    return SCHEMAS_DIR if SCHEMAS_DIR.is_dir() else installed


def export_json_schema(name: str) -> dict[str, Any]:
    model = MESSAGE_MODELS[name]
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://news-event-pipeline.example/schemas/{name}.schema.json",
        "x-schema-version": SCHEMA_VERSION,
        **schema,
    }


@cache
def json_schema(name: str) -> dict[str, Any]:
    path = schemas_dir() / f"{name}.schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@cache
def index_template(kind: str) -> dict[str, Any]:
    path = schemas_dir() / "elasticsearch" / INDEX_TEMPLATES[kind]
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def write_schemas(directory: Path = SCHEMAS_DIR) -> list[Path]:
    written = []
    for name in MESSAGE_MODELS:
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(export_json_schema(name), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def register(app: typer.Typer) -> None:
    @app.command("schemas")
    def schemas_command(
        write: bool = typer.Option(False, "--write", help="Re-export the JSON Schemas into schemas/"),
    ) -> None:
        """Show (or re-export with --write) the message contracts in schemas/."""
        if write:
            for path in write_schemas():
                typer.echo(f"wrote {path}")
            return
        for name in MESSAGE_MODELS:
            typer.echo(f"{name}: {schemas_dir() / f'{name}.schema.json'}")
        for kind, file in INDEX_TEMPLATES.items():
            typer.echo(f"index template {kind}: {schemas_dir() / 'elasticsearch' / file}")
