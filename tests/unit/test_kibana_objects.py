"""Kibana saved objects (deploy/kibana/saved_objects.ndjson) and their importer (pipeline.index.kibana).

Structural checks only (no Kibana here): every line parses, ids are unique, every reference resolves to an
object in the file, data views match the index names in settings and the fields the visualisations use
exist, with a suitable type, in the index templates under schemas/elasticsearch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.index.kibana import KibanaError, import_saved_objects, read_saved_objects
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
OBJECTS = ROOT / "deploy" / "kibana" / "saved_objects.ndjson"
TEMPLATES = ROOT / "schemas" / "elasticsearch"
DASHBOARD_ID = "news-pipeline-overview"

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def objects() -> list[Obj]:
    return read_saved_objects(OBJECTS)


@pytest.fixture(scope="module")
def by_key(objects: list[Obj]) -> dict[tuple[str, str], Obj]:
    return {(o["type"], o["id"]): o for o in objects}


def _flatten(properties: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            yield from _flatten(spec["properties"], f"{path}.")
        else:
            yield path, spec
        for sub, sub_spec in (spec.get("fields") or {}).items():
            yield f"{path}.{sub}", sub_spec


def _mapping(template_file: str) -> dict[str, dict[str, Any]]:
    template = json.loads((TEMPLATES / template_file).read_text(encoding="utf-8"))
    return dict(_flatten(template["template"]["mappings"]["properties"]))


@pytest.fixture(scope="module")
def mappings(objects: list[Obj]) -> dict[str, dict[str, dict[str, Any]]]:
    """Data view id -> flattened field mapping of the index template its title matches."""
    templates = {
        json.loads(p.read_text(encoding="utf-8"))["index_patterns"][0]: p.name for p in TEMPLATES.glob("*.json")
    }
    result = {}
    for obj in objects:
        if obj["type"] == "index-pattern":
            title = obj["attributes"]["title"]
            pattern = f"{title}*"  # the data view names the alias; the template covers its versions
            assert pattern in templates, f"data view {title!r} matches no index template in {TEMPLATES}"
            result[obj["id"]] = _mapping(templates[pattern])
    return result


def _defaults() -> Settings:
    # Defaults only: the committed objects must match the shipped names, whatever this shell exports.
    return Settings.model_construct()


def test_every_line_is_a_saved_object() -> None:
    lines = OBJECTS.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.strip() for line in lines), "no blank lines"
    for number, line in enumerate(lines, start=1):
        obj = json.loads(line)
        assert {"id", "type", "attributes", "references"} <= obj.keys(), f"line {number}"
        assert obj.get("coreMigrationVersion") and obj.get("typeMigrationVersion"), (
            f"line {number}: without migration versions Kibana would run every migration since 7.0 on it"
        )


def test_ids_are_unique(objects: list[Obj]) -> None:
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_references_resolve_within_the_file(objects: list[Obj], by_key: dict[tuple[str, str], Obj]) -> None:
    for obj in objects:
        names = [ref["name"] for ref in obj["references"]]
        assert len(names) == len(set(names)), f"{obj['id']}: duplicate reference names"
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in by_key, f"{obj['type']}/{obj['id']} -> missing {ref}"


def test_data_views_match_settings(objects: list[Obj]) -> None:
    settings = _defaults()
    views = {o["attributes"]["title"]: o["attributes"] for o in objects if o["type"] == "index-pattern"}
    # The aliases, not a wildcard: after `pipeline reindex` the old version stays and would count twice.
    assert set(views) == {settings.index_articles, settings.index_events}
    assert views[settings.index_articles]["timeFieldName"] == "published_at"
    assert views[settings.index_events]["timeFieldName"] == "date"


def test_data_views_name_the_aliases_setup_creates(objects: list[Obj]) -> None:
    """`pipeline setup` creates each index as `<alias>-v1` behind its alias; a data view must name that alias
    (./run compose-test lists the aliases of a real node in its report)."""
    from pipeline.index.es import index_names, versioned_name

    aliases = set(index_names(_defaults()).values())
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert titles == aliases
    for alias in aliases:
        assert versioned_name(alias, 1).startswith(alias), "the template pattern `<alias>*` covers every version"


def test_time_fields_are_dates(objects: list[Obj], mappings: dict[str, dict[str, dict[str, Any]]]) -> None:
    for obj in objects:
        if obj["type"] == "index-pattern":
            field = obj["attributes"]["timeFieldName"]
            assert mappings[obj["id"]][field]["type"] == "date", f"{obj['id']}: {field}"


def test_field_labels_name_real_fields(objects: list[Obj], mappings: dict[str, dict[str, dict[str, Any]]]) -> None:
    for obj in objects:
        if obj["type"] == "index-pattern":
            for field in json.loads(obj["attributes"]["fieldAttrs"]):
                assert field in mappings[obj["id"]], f"{obj['id']}: label for unknown field {field}"


def _data_view_of_layer(obj: Obj, layer: str) -> str:
    name = f"indexpattern-datasource-layer-{layer}"
    refs = [r for r in obj["references"] if r["name"] == name and r["type"] == "index-pattern"]
    assert len(refs) == 1, f"lens {obj['id']}: layer {layer} has no data view reference {name}"
    return str(refs[0]["id"])


AGGREGATABLE = {"keyword", "date", "integer", "long", "float", "double", "boolean", "ip"}


def test_lens_fields_exist_and_aggregate(objects: list[Obj], mappings: dict[str, dict[str, dict[str, Any]]]) -> None:
    lenses = [o for o in objects if o["type"] == "lens"]
    assert lenses
    for obj in lenses:
        state = obj["attributes"]["state"]
        layers = state["datasourceStates"]["formBased"]["layers"]
        assert layers, obj["id"]
        for layer_id, layer in layers.items():
            mapping = mappings[_data_view_of_layer(obj, layer_id)]
            assert set(layer["columnOrder"]) == set(layer["columns"]), f"{obj['id']}: columnOrder"
            for column_id, column in layer["columns"].items():
                field = column.get("sourceField")
                if column["operationType"] == "count":
                    assert field == "___records___"
                    continue
                assert field in mapping, f"lens {obj['id']} column {column_id}: no field {field!r}"
                assert mapping[field]["type"] in AGGREGATABLE, f"lens {obj['id']}: {field} is not aggregatable"
                if column["operationType"] == "date_histogram":
                    assert mapping[field]["type"] == "date"
                order = column.get("params", {}).get("orderBy", {})
                if order.get("type") == "column":
                    assert order["columnId"] in layer["columns"], f"{obj['id']}: orders by unknown column"
        _check_accessors(obj, layers)


def _check_accessors(obj: Obj, layers: dict[str, Any]) -> None:
    vis = obj["attributes"]["state"]["visualization"]
    columns = {c for layer in layers.values() for c in layer["columns"]}
    kind = obj["attributes"]["visualizationType"]
    if kind == "lnsXY":
        for layer in vis["layers"]:
            assert layer["layerId"] in layers
            used = [*layer["accessors"], layer.get("xAccessor"), layer.get("splitAccessor")]
            assert {u for u in used if u} <= columns, f"{obj['id']}: accessor without a column"
    elif kind == "lnsDatatable":
        assert vis["layerId"] in layers
        assert {c["columnId"] for c in vis["columns"]} == columns
    elif kind == "lnsMetric":
        assert vis["layerId"] in layers and vis["metricAccessor"] in columns
    else:
        pytest.fail(f"{obj['id']}: visualisation type {kind} is not checked here")


def test_saved_searches_use_real_fields(objects: list[Obj], mappings: dict[str, dict[str, dict[str, Any]]]) -> None:
    searches = [o for o in objects if o["type"] == "search"]
    assert {o["id"] for o in searches} >= {"news-pipeline-latest-events"}
    for obj in searches:
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        ref_name = source["indexRefName"]
        refs = [r for r in obj["references"] if r["name"] == ref_name]
        assert len(refs) == 1 and refs[0]["type"] == "index-pattern", obj["id"]
        mapping = mappings[refs[0]["id"]]
        for field in obj["attributes"]["columns"]:
            assert field in mapping, f"search {obj['id']}: no field {field!r}"
        for field, direction in obj["attributes"]["sort"]:
            assert field in mapping and direction in ("asc", "desc")


def test_dashboard_panels(by_key: dict[tuple[str, str], Obj]) -> None:
    dashboard = by_key[("dashboard", DASHBOARD_ID)]
    attributes = dashboard["attributes"]
    panels = json.loads(attributes["panelsJSON"])
    json.loads(attributes["optionsJSON"])
    json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    cells: set[tuple[int, int]] = set()
    shown = set()
    for panel in panels:
        index = panel["panelIndex"]
        assert panel["gridData"]["i"] == index
        ref = refs.get(f"{index}:{panel['panelRefName']}")
        assert ref, f"panel {index}: no reference {index}:{panel['panelRefName']}"
        assert ref["type"] == panel["type"], f"panel {index}: type {panel['type']} but reference to {ref['type']}"
        shown.add((ref["type"], ref["id"]))
        grid = panel["gridData"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 48, f"panel {index} off the grid"
        xs, ys = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        area = {(x, y) for x in xs for y in ys}
        assert not area & cells, f"panel {index} overlaps another"
        cells |= area
    assert len(refs) == len(panels), "every dashboard reference belongs to a panel"
    # What the dashboard promises: events over time, actors, countries, entities, the latest events.
    for wanted in (
        "news-pipeline-events-over-time",
        "news-pipeline-top-actors",
        "news-pipeline-events-by-country",
        "news-pipeline-top-entities",
    ):
        assert ("lens", wanted) in shown
    assert ("search", "news-pipeline-latest-events") in shown
    assert attributes["timeRestore"] is True and attributes["timeFrom"].startswith("now-")


def test_every_visualisation_is_on_the_dashboard(objects: list[Obj], by_key: dict[tuple[str, str], Obj]) -> None:
    shown = {(r["type"], r["id"]) for r in by_key[("dashboard", DASHBOARD_ID)]["references"]}
    for obj in objects:
        if obj["type"] in ("lens", "visualization", "search"):
            assert (obj["type"], obj["id"]) in shown, f"{obj['type']}/{obj['id']} is on no dashboard"


# ---------------------------------------------------------------------------------------------------------
# The importer, against a stand-in for Kibana's HTTP API.


class FakeKibana:
    def __init__(self, responder: Any) -> None:
        self.requests: list[httpx.Request] = []
        self._responder = responder

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        result: httpx.Response = self._responder(request)
        return result


def _ok(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/status":
        return httpx.Response(200, json={"status": {"overall": {"level": "available"}}})
    count = request.content.count(b'"attributes"')
    return httpx.Response(200, json={"success": True, "successCount": count, "errors": []})


def test_import_posts_multipart_with_xsrf_header(objects: list[Obj]) -> None:
    kibana = FakeKibana(_ok)
    count = import_saved_objects("http://kibana:5601/", OBJECTS, transport=httpx.MockTransport(kibana))
    assert count == len(objects)
    (request,) = kibana.requests
    assert request.method == "POST"
    assert request.url.path == "/api/saved_objects/_import"
    assert request.url.params["overwrite"] == "true"
    assert request.headers["kbn-xsrf"]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'filename="saved_objects.ndjson"' in request.content
    assert b'"id":"news-pipeline-overview"' in request.content


def test_import_waits_for_kibana_then_uses_url_credentials() -> None:
    kibana = FakeKibana(_ok)
    import_saved_objects(
        "http://elastic:secret@kibana:5601", OBJECTS, wait_seconds=5, transport=httpx.MockTransport(kibana)
    )
    assert [r.url.path for r in kibana.requests] == ["/api/status", "/api/saved_objects/_import"]
    assert all(r.headers["authorization"].startswith("Basic ") for r in kibana.requests)


def test_import_reports_rejected_objects() -> None:
    def partial(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "success": False,
                "successCount": 11,
                "errors": [
                    {
                        "id": "news-pipeline-top-actors",
                        "type": "lens",
                        "meta": {"title": "Top source actors"},
                        "error": {
                            "type": "missing_references",
                            "references": [{"type": "index-pattern", "id": "news-events"}],
                        },
                    }
                ],
            },
        )

    with pytest.raises(KibanaError, match=r"rejected 1 of .*lens/news-pipeline-top-actors.*index-pattern/news-events"):
        import_saved_objects("http://kibana:5601", OBJECTS, transport=httpx.MockTransport(FakeKibana(partial)))


@pytest.mark.parametrize(("status", "expected"), [(401, "refused the import"), (500, "HTTP 500")])
def test_import_http_errors_are_clear(status: int, expected: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text="boom"))
    with pytest.raises(KibanaError, match=expected) as info:
        import_saved_objects("http://elastic:pa55-w0rd@kibana:5601", OBJECTS, transport=transport)
    # (not "secret": the message names the objects file, whose path may hold that word, e.g. a worktree's)
    assert "pa55-w0rd" not in str(info.value), "passwords never appear in messages"


def test_import_unreachable_kibana() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(KibanaError, match="cannot reach Kibana at http://kibana:5601"):
        import_saved_objects("http://kibana:5601", OBJECTS, transport=httpx.MockTransport(refuse))


def test_bad_files_fail_before_any_request(tmp_path: Path) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    transport = httpx.MockTransport(never)
    with pytest.raises(KibanaError, match="cannot read"):
        import_saved_objects("http://kibana:5601", tmp_path / "missing.ndjson", transport=transport)
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"id": "a", "type": "lens", "attributes": {}}\n{not json\n', encoding="utf-8")
    with pytest.raises(KibanaError, match=r"broken.ndjson:2: not JSON"):
        import_saved_objects("http://kibana:5601", broken, transport=transport)
    with pytest.raises(KibanaError, match="must start with http"):
        import_saved_objects("kibana:5601", OBJECTS, transport=transport)
