"""Extraction measured on the SAMPLE pages in ./samples, served by a local HTTP server and fetched for real.

Only localhost is reachable where this project is built, so this is a measurement on our own small, hand-
written pages (expected values in samples/expected.json), not on the open web. Run:

    .venv/bin/python -m tests.unit.collect.extraction_quality
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.collect.dedup import words
from pipeline.collect.extract import Extracted, decode_html, extract_article
from pipeline.collect.fetch import Fetched, Fetcher
from pipeline.settings import Settings
from tests.httpserver import Route, SampleServer

SAMPLES = Path(__file__).resolve().parent / "samples"
FIELDS = ("title", "authors", "published", "updated", "language", "site_name", "canonical")


@dataclass
class PageScore:
    page: str
    precision: float
    recall: float
    boilerplate_leaks: list[str]
    fields: dict[str, bool]
    error: str | None = None


def _overlap(extracted: list[str], reference: list[str]) -> tuple[float, float]:
    common = sum((Counter(extracted) & Counter(reference)).values())
    return common / max(1, len(extracted)), common / max(1, len(reference))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def score(page: str, expected: dict[str, Any], result: Extracted | Any, page_url: str) -> PageScore:
    if not isinstance(result, Extracted):
        return PageScore(page, 0.0, 0.0, [], dict.fromkeys(FIELDS, False), error=str(result))
    reference = words(" ".join(expected["body"]))  # the headline is the title field, not body text
    precision, recall = _overlap(words(result.text), reference)
    leaks = [b for b in expected["boilerplate"] if b.casefold() in result.text.casefold()]
    canonical_path = expected.get("canonical_path") or urlsplit(page_url).path
    fields = {
        "title": result.title == expected["title"],
        "authors": list(result.authors) == expected["authors"],
        "published": _iso(result.published) == expected["published"],
        "updated": _iso(result.updated) == expected["updated"],
        "language": result.language == expected["language"],
        "site_name": result.site_name == expected["site_name"],
        "canonical": urlsplit(result.canonical_url).path == canonical_path,
    }
    return PageScore(page, precision, recall, leaks, fields)


async def _fetch_all(server: SampleServer, settings: Settings, pages: dict[str, Any]) -> dict[str, Fetched | Any]:
    async with Fetcher(settings) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url(f"/news/{p}"), "page") for p in pages))
    return dict(zip(pages, results, strict=True))


def measure() -> list[PageScore]:
    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))["pages"]
    server = SampleServer().start()
    try:
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        for page, spec in expected.items():
            content_type = spec.get("served_content_type", "text/html")
            server.routes[f"/news/{page}"] = Route((SAMPLES / page).read_bytes(), content_type=content_type)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                state_path=Path(tmp) / "s.sqlite3", allow_private_hosts=["127.0.0.1"], per_host_min_interval_seconds=0
            )
            fetched = asyncio.run(_fetch_all(server, settings, expected))
        scores = []
        for page, spec in expected.items():
            response = fetched[page]
            if not isinstance(response, Fetched):
                scores.append(score(page, spec, response, ""))
                continue
            html = decode_html(response.body, response.headers.get("content-type"))
            result = extract_article(html, url=response.final_url, min_chars=100)
            scores.append(score(page, spec, result, response.final_url))
        return scores
    finally:
        server.stop()


def summary(scores: list[PageScore]) -> dict[str, float]:
    n = len(scores)
    totals = {
        "pages": float(n),
        "mean_precision": sum(s.precision for s in scores) / n,
        "mean_recall": sum(s.recall for s in scores) / n,
        "pages_with_boilerplate": float(sum(bool(s.boilerplate_leaks) for s in scores)),
    }
    for name in FIELDS:
        totals[f"{name}_correct"] = float(sum(s.fields[name] for s in scores))
    return totals


def main() -> None:
    scores = measure()
    print(f"{'page':22} {'prec':>5} {'rec':>5}  wrong fields / boilerplate")
    for s in scores:
        wrong = [k for k, ok in s.fields.items() if not ok]
        print(f"{s.page:22} {s.precision:5.2f} {s.recall:5.2f}  {wrong} {s.boilerplate_leaks} {s.error or ''}")
    totals = summary(scores)
    n = int(totals["pages"])
    print(f"\nmean token precision {totals['mean_precision']:.3f}, mean token recall {totals['mean_recall']:.3f}")
    print(f"pages with boilerplate in the text: {int(totals['pages_with_boilerplate'])}/{n}")
    print("fields correct: " + ", ".join(f"{k} {int(totals[f'{k}_correct'])}/{n}" for k in FIELDS))


if __name__ == "__main__":
    main()
