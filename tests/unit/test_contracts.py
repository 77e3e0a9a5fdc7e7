"""The code's records against the contracts in schemas/: JSON Schemas and Elasticsearch index templates."""

from __future__ import annotations

import json
import os
from typing import Any

import jsonschema
import pytest

from pipeline.contracts import MESSAGE_MODELS, export_json_schema, index_template, json_schema
from pipeline.deadletter import dead_letter
from pipeline.index.documents import article_document, event_document
from pipeline.records import SCHEMA_VERSION
from tests.factories import sample_enriched, sample_event, sample_raw


@pytest.mark.parametrize("name", list(MESSAGE_MODELS))
def test_committed_schema_matches_the_code(name: str) -> None:
    assert json_schema(name) == json.loads(json.dumps(export_json_schema(name))), (
        f"schemas/{name}.schema.json drifted from pipeline.records; run `pipeline schemas --write` "
        "and bump SCHEMA_VERSION if the change is incompatible"
    )


@pytest.mark.parametrize(
    ("name", "record"),
    [
        ("raw-article", sample_raw()),
        ("enriched-article", sample_enriched()),
        ("event", sample_event()),
        ("dead-letter", dead_letter("enrich", "boom", error=ValueError("x"), key="k", payload=b"\xff" * 10)),
    ],
)
def test_records_validate_against_their_schema(name: str, record: Any) -> None:
    jsonschema.validate(json.loads(record.to_json_bytes()), json_schema(name))
    assert json_schema(name)["x-schema-version"] == SCHEMA_VERSION


def test_schema_rejects_undeclared_fields() -> None:
    payload = json.loads(sample_raw().to_json_bytes())
    payload["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, json_schema("raw-article"))


def _mapped_paths(properties: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, spec in properties.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if "properties" in spec:
            paths |= _mapped_paths(spec["properties"], path + ".")
    return paths


def _document_paths(doc: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    items = doc if isinstance(doc, list) else [doc]
    for item in items:
        if isinstance(item, dict):
            for key, value in item.items():
                path = f"{prefix}{key}"
                paths.add(path)
                if path.endswith("mentions") or path.endswith("point"):
                    continue  # stored, not indexed (mentions) / a geo_point value
                paths |= _document_paths(value, path + ".")
    return paths


@pytest.mark.parametrize(
    ("kind", "document"),
    [("articles", article_document(sample_enriched())), ("events", event_document(sample_event()))],
)
def test_index_template_maps_every_document_field_strictly(kind: str, document: dict[str, Any]) -> None:
    template = index_template(kind)
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    missing = _document_paths(document) - _mapped_paths(mappings["properties"])
    assert not missing, f"fields without a mapping in the {kind} template: {sorted(missing)}"


def test_dead_letter_keeps_the_whole_payload_compressed() -> None:
    article = ("x" * 150_000 + "é\n").encode("utf-8")  # far beyond the old 20,000-character cut
    record = dead_letter("enrich", "boom", payload=article)
    assert record.payload_encoding == "gzip+base64" and record.payload_bytes == len(article)
    assert len(record.to_json_bytes()) < len(article) // 10
    assert record.original_payload() == article
    undecodable = b"\x00\xff\xfe"
    assert dead_letter("index", "binary", payload=undecodable).original_payload() == undecodable


def test_a_payload_beyond_the_broker_limit_leaves_only_its_source_coordinates() -> None:
    incompressible = bytes(range(256)) * 2_000 + os.urandom(600_000)
    record = dead_letter(
        "index", "too big", payload=incompressible, source_topic="t", partition=3, offset=41, max_message_bytes=500_000
    )
    assert record.payload is None and record.payload_bytes == len(incompressible)
    assert (record.source_topic, record.partition, record.offset) == ("t", 3, 41)
    assert "left out" in record.reason and len(record.to_json_bytes()) < 500_000
