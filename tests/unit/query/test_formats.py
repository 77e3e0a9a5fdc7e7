"""Output formats: each is a valid document for programs, or readable lines for people."""

from __future__ import annotations

import csv
import io
import json

import pytest

from pipeline.query.formats import FormatError, Hit, OutputFormat, event_lines, open_writer
from tests.event_samples import varied_events
from tests.factories import sample_enriched


def _events() -> list[Hit]:
    return [Hit(e.model_dump(mode="json")) for e in varied_events()]


def _written(output: OutputFormat, hits: list[Hit], kind: str = "event") -> str:
    stream = io.StringIO()
    writer = open_writer(output, kind, stream)  # type: ignore[arg-type]
    for hit in hits:
        writer.write(hit)
    writer.close()
    return stream.getvalue()


def test_jsonl_is_one_record_per_line() -> None:
    lines = _written(OutputFormat.jsonl, _events()).splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == [e.event_id for e in varied_events()]


@pytest.mark.parametrize("count", [0, 1, 9])
def test_json_is_one_array_whatever_the_count(count: int) -> None:
    assert len(json.loads(_written(OutputFormat.json, _events()[:count]))) == count


def test_csv_flattens_events_with_a_header() -> None:
    rows = list(csv.DictReader(io.StringIO(_written(OutputFormat.csv, _events()))))
    assert len(rows) == 9
    consult = rows[1]
    assert consult["event_type"] == "CONSULT" and consult["mode"] == "visit"
    assert consult["quad_class"] == "verbal-cooperation"  # derived from the taxonomy when the record lacks it
    assert consult["source"] == "Antony Blinken" and consult["target_country"] == "KOR"
    assert consult["place"] == "Seoul" and float(consult["lat"]) == pytest.approx(37.566)


@pytest.mark.parametrize("kind", ["event", "article"])
def test_csv_without_records_is_its_header(kind: str) -> None:
    header = _written(OutputFormat.csv, [], kind).splitlines()
    assert len(header) == 1 and header[0].startswith(f"{kind}_id,")


def test_csv_of_articles_lists_url_and_id() -> None:
    article = sample_enriched().model_dump(mode="json")
    rows = list(
        csv.DictReader(io.StringIO(_written(OutputFormat.csv, [Hit(article, ["a <em>launch</em>"])], "article")))
    )
    assert rows[0]["url"] == article["url"] and rows[0]["article_id"] == article["article_id"]
    assert rows[0]["highlight"] == "a launch"


def test_geojson_is_a_feature_collection_of_placed_events() -> None:
    document = json.loads(_written(OutputFormat.geojson, _events()))
    assert document["type"] == "FeatureCollection"
    placed = [e for e in varied_events() if e.location and e.location.lat is not None]
    assert [f["id"] for f in document["features"]] == [e.event_id for e in placed]
    seoul = document["features"][0]
    assert seoul["geometry"] == {"type": "Point", "coordinates": [126.978, 37.566]}


def test_geojson_with_only_unplaced_events_is_still_valid() -> None:
    unplaced = [h for h in _events() if not (h.record.get("location") or {}).get("lat")]
    stream = io.StringIO()
    writer = open_writer(OutputFormat.geojson, "event", stream)
    for hit in unplaced:
        writer.write(hit)
    writer.close()
    assert json.loads(stream.getvalue())["features"] == []
    assert writer.skipped == len(unplaced) and writer.written == 0


def test_geojson_refuses_articles() -> None:
    with pytest.raises(FormatError, match="events"):
        open_writer(OutputFormat.geojson, "article")


def test_table_shows_what_who_where_the_evidence_url_and_id() -> None:
    record = varied_events()[1].model_dump(mode="json")
    record["articles"] = [{"article_id": "art_0002", "url": "https://news.example/a"}]
    head, evidence, where = event_lines(Hit(record, ["number 2 about <em>consult</em>."]))
    assert "CONSULT/visit" in head and "Antony Blinken (USA) → South Korea (KOR)" in head and "@ Seoul" in head
    assert "(1 article," in head
    assert "[bold yellow]consult[/bold yellow]" in evidence
    assert "https://news.example/a" in where and record["event_id"] in where


def test_table_numbers_records_from_the_page_start() -> None:
    stream = io.StringIO()
    writer = open_writer(OutputFormat.table, "event", stream, first_number=11)
    writer.write(_events()[0])
    writer.close()
    assert stream.getvalue().lstrip().startswith("11. ")


def test_table_escapes_markup_in_names() -> None:
    record = varied_events()[0].model_dump(mode="json")
    record["source"]["name"] = "[bold]Not markup"
    head, _, _ = event_lines(Hit(record))
    assert "\\[bold]Not markup" in head
