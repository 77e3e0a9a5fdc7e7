"""schemas/asyncapi.yaml against the code: its topics are the settings' topics, its payloads the committed
JSON Schemas of the records, and every reference in it resolves."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from pipeline.contracts import MESSAGE_MODELS, json_schema, schemas_dir
from pipeline.publish.changes import apply_report
from pipeline.records import Subscription
from pipeline.settings import Settings
from tests.factories import sample_event


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((schemas_dir() / "asyncapi.yaml").read_text(encoding="utf-8"))
    return loaded


def _default(field: str) -> str:
    return str(Settings.model_fields[field].default)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_it_is_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"].startswith("3.")


def test_channels_are_the_topics_in_settings(document: dict[str, Any]) -> None:
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {
        _default("topic_raw"),
        _default("topic_enriched"),
        _default("topic_events"),
        _default("topic_dead_letter"),
        _default("topic_subscriptions"),
        _default("topic_subscription_prefix") + "{name}",
    }
    for channel in document["channels"].values():
        for parameter in re.findall(r"{(\w+)}", channel["address"]):
            assert parameter in channel.get("parameters", {})


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    for channel in document["channels"].values():
        for message in channel["messages"].values():
            assert "name" in _resolve(document, message["$ref"])
    for operation in document["operations"].values():
        assert operation["action"] in {"send", "receive"}
        assert "address" in _resolve(document, operation["channel"]["$ref"])


def test_payloads_are_the_committed_json_schemas_of_every_record(document: dict[str, Any]) -> None:
    referenced = set()
    for message in document["components"]["messages"].values():
        payload = message["payload"]
        if "schema" not in payload:
            assert payload == {"type": "null"}  # the subscription tombstone
            continue
        assert payload["schemaFormat"].startswith("application/schema+json")
        ref = payload["schema"]["$ref"]
        name = ref.removeprefix("./").removesuffix(".schema.json")
        assert (schemas_dir() / ref).is_file(), ref
        assert name in MESSAGE_MODELS, f"{ref} is not a record's schema"
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        referenced.add(name)
    assert referenced == set(MESSAGE_MODELS), "every record travels on some topic"


def test_the_subscription_records_validate_against_the_schemas_the_document_names() -> None:
    _, change = apply_report(None, sample_event().model_dump(mode="json"), 0, 5)
    assert change is not None
    jsonschema.validate(json.loads(change.to_json_bytes()), json_schema("event-change"))
    subscription = Subscription(name="korea", filter={"countries": ["KOR"], "min_confidence": 0.6})
    jsonschema.validate(json.loads(subscription.to_json_bytes()), json_schema("subscription"))
