"""Output formats shared by ``search`` and ``subscribe``: one writer per format, fed one record at a time.

Every writer streams (a subscriber never ends), and ``close`` completes the document: ``json`` is one array
and ``geojson`` one FeatureCollection once closed, ``jsonl`` and ``csv`` are valid after every line. ``table``
is for people (rich markup, a few lines per record); the others are for programs and carry no decoration.
Machine formats write the records as published or indexed; ``csv`` and ``geojson`` flatten them into rows.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TextIO

from rich.console import Console
from rich.markup import escape

RecordKind = Literal["event", "article"]


class FormatError(ValueError):
    """A format that cannot show these records."""


class OutputFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    geojson = "geojson"


@dataclass
class Hit:
    """A record to write, with what a search adds: the matched passages (``<em>`` marks the match) and the
    reporting articles' URLs when the record itself does not carry them."""

    record: dict[str, Any]
    highlight: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def event_urls(hit: Hit) -> list[str]:
    carried = [a["url"] for a in hit.record.get("articles") or [] if a.get("url")]
    return carried or hit.urls


def event_quad_class(record: dict[str, Any]) -> str | None:
    from pipeline.query.filters import quad_class_of

    return record.get("quad_class") or quad_class_of(str(record.get("event_type")))


def event_row(hit: Hit) -> dict[str, Any]:
    """An event flattened to one row (CSV columns, GeoJSON properties)."""
    event = hit.record
    source, target = event.get("source") or {}, event.get("target") or {}
    location = event.get("location") or {}
    return {
        "event_id": event.get("event_id"),
        "event_type": event.get("event_type"),
        "mode": event.get("mode"),
        "quad_class": event_quad_class(event),
        "intensity": event.get("intensity"),
        "date": event.get("date"),
        "source": source.get("name"),
        "source_country": source.get("country_code"),
        "target": target.get("name"),
        "target_country": target.get("country_code"),
        "place": location.get("place"),
        "place_country": location.get("country_code"),
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "confidence": event.get("confidence"),
        "article_count": len(event.get("article_ids") or []) or 1,
        "first_reported": event.get("article_published_at"),
        "urls": " ".join(event_urls(hit)),
        "sentence": " ".join(str((event.get("evidence") or {}).get("sentence", "")).split()),
    }


def article_row(hit: Hit) -> dict[str, Any]:
    """An article flattened to one row: what it is, where it is, what it mentions."""
    article = hit.record
    return {
        "article_id": article.get("article_id"),
        "published_at": article.get("published_at"),
        "title": article.get("title"),
        "url": article.get("url"),
        "site_name": article.get("site_name"),
        "countries": " ".join(article.get("countries") or []),
        "event_types": " ".join(sorted(set(article.get("event_types") or []))),
        "entities": "; ".join(e.get("name", "") for e in article.get("entities") or []),
        "highlight": " … ".join(_plain(f) for f in hit.highlight),
    }


def _plain(fragment: str) -> str:
    return " ".join(fragment.replace("<em>", "").replace("</em>", "").split())


def _marked(fragment: str) -> str:
    # escape() leaves the <em> marks alone: it only protects square brackets.
    text = escape(" ".join(fragment.split()))
    return text.replace("<em>", "[bold yellow]").replace("</em>", "[/bold yellow]")


class RecordWriter:
    """Writes records one by one in a format; ``close`` finishes the document."""

    def __init__(self, kind: RecordKind, stream: TextIO | None = None) -> None:
        self.kind = kind
        self._stream = stream
        self.written = 0
        self.skipped = 0  # records the format cannot show (an event without coordinates in GeoJSON)

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def write(self, hit: Hit) -> None:
        if self._write(hit):
            self.written += 1
        else:
            self.skipped += 1
        self.stream.flush()

    def _write(self, hit: Hit) -> bool:
        """Write one record; False when the format cannot show it."""
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()


class JsonLinesWriter(RecordWriter):
    def _write(self, hit: Hit) -> bool:
        self.stream.write(json.dumps(hit.record, ensure_ascii=False) + "\n")
        return True


class _BracketedWriter(RecordWriter):
    """Items between an opening and a closing text, so the output is one JSON document once closed."""

    opening = "["
    closing = "]"

    def __init__(self, kind: RecordKind, stream: TextIO | None = None) -> None:
        super().__init__(kind, stream)
        self._items = 0
        self._opened = False

    def _item(self, hit: Hit) -> dict[str, Any] | None:
        return hit.record

    def _open(self) -> None:
        if not self._opened:
            self.stream.write(self.opening)
            self._opened = True

    def _write(self, hit: Hit) -> bool:
        self._open()
        item = self._item(hit)
        if item is None:
            return False
        self.stream.write(("\n" if self._items == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
        self._items += 1
        return True

    def close(self) -> None:
        self._open()
        self.stream.write(("\n" if self._items else "") + self.closing + "\n")
        super().close()


class JsonArrayWriter(_BracketedWriter):
    pass


class GeoJsonWriter(_BracketedWriter):
    """A FeatureCollection of events at their location's point; events without coordinates are left out."""

    opening = '{"type": "FeatureCollection", "features": ['
    closing = "]}"

    def _item(self, hit: Hit) -> dict[str, Any] | None:
        location = hit.record.get("location") or {}
        if location.get("lat") is None or location.get("lon") is None:
            return None
        return {
            "type": "Feature",
            "id": hit.record.get("event_id"),
            "geometry": {"type": "Point", "coordinates": [location["lon"], location["lat"]]},
            "properties": event_row(hit),
        }


class CsvWriter(RecordWriter):
    """A header, then one flat row per record; with no records, the header alone."""

    def __init__(self, kind: RecordKind, stream: TextIO | None = None) -> None:
        super().__init__(kind, stream)
        self._row = event_row if kind == "event" else article_row
        self._writer: csv.DictWriter[str] | None = None

    def _started(self) -> csv.DictWriter[str]:
        if self._writer is None:
            self._writer = csv.DictWriter(self.stream, fieldnames=list(self._row(Hit({}))), lineterminator="\n")
            self._writer.writeheader()
        return self._writer

    def _write(self, hit: Hit) -> bool:
        self._started().writerow(self._row(hit))
        return True

    def close(self) -> None:
        self._started()
        super().close()


class TableWriter(RecordWriter):
    """For people: each record in a few numbered lines (what, who, where; the evidence; URL and id)."""

    def __init__(self, kind: RecordKind, stream: TextIO | None = None, first_number: int = 1) -> None:
        super().__init__(kind, stream)
        self.console = Console(file=stream, highlight=False, soft_wrap=False)
        self.number = first_number

    def _write(self, hit: Hit) -> bool:
        lines = event_lines(hit) if self.kind == "event" else article_lines(hit)
        self.console.print(f"{self.number:>2}. " + "\n".join(lines))
        self.number += 1
        return True


def _actor(actor: dict[str, Any] | None) -> str:
    if not actor:
        return "?"
    code = actor.get("country_code")
    name = escape(str(actor["name"]))
    return f"{name} ({code})" if code and code != actor["name"] else name


def counted(number: int, noun: str) -> str:
    """ "1 event", "2 events"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def event_lines(hit: Hit) -> list[str]:
    """An event in three readable lines (rich markup): what happened, the evidence, where it was reported."""
    event = hit.record
    kind = event["event_type"] + (f"/{event['mode']}" if event.get("mode") else "")
    location = event.get("location") or {}
    place = location.get("place") or location.get("country_code")
    sources = len(event.get("article_ids") or []) or 1
    head = (
        f"[bold]{event.get('date') or '????-??-??'}[/bold]  [cyan]{kind}[/cyan]  "
        f"{_actor(event.get('source'))} → {_actor(event.get('target'))}"
        f"{f'  @ {escape(place)}' if place else ''}  [dim]({counted(sources, 'article')}, "
        f"confidence {float(event.get('confidence') or 0):.2f})[/dim]"
    )
    evidence = " … ".join(_marked(f) for f in hit.highlight) or escape(
        " ".join(str(event["evidence"]["sentence"]).split())[:240]
    )
    urls = event_urls(hit)
    where = (urls[0] + (f" (+{len(urls) - 1} more)" if len(urls) > 1 else "")) if urls else "no URL known"
    return [head, f"    “{evidence}”", f"    [dim]{escape(where)} · {event.get('event_id')}[/dim]"]


def article_lines(hit: Hit) -> list[str]:
    """An article: date and title, the matching passage, its entities and event types, URL and id."""
    article = hit.record
    fragment = " … ".join(_marked(f) for f in hit.highlight) or escape(" ".join(str(article["text"]).split())[:200])
    entities = ", ".join(e["name"] for e in article.get("entities", [])[:8])
    kinds = ", ".join(sorted(set(article.get("event_types") or []))) or "none"
    return [
        f"[bold]{(article.get('published_at') or '')[:10]}[/bold]  {escape(article.get('title') or article['url'])}",
        f"    …{fragment}…",
        f"    [dim]entities: {escape(entities)} · events: {kinds}[/dim]",
        f"    [dim]{escape(article['url'])} · {article.get('article_id')}[/dim]",
    ]


def open_writer(
    output: OutputFormat, kind: RecordKind, stream: TextIO | None = None, *, first_number: int = 1
) -> RecordWriter:
    """The writer of a format. GeoJSON needs coordinates, which only events have."""
    if output is OutputFormat.geojson and kind != "event":
        raise FormatError("geojson is for events (they carry coordinates); use --events, or another format")
    if output is OutputFormat.table:
        return TableWriter(kind, stream, first_number)
    writers: dict[OutputFormat, type[RecordWriter]] = {
        OutputFormat.jsonl: JsonLinesWriter,
        OutputFormat.json: JsonArrayWriter,
        OutputFormat.csv: CsvWriter,
        OutputFormat.geojson: GeoJsonWriter,
    }
    return writers[output](kind, stream)
