"""``pipeline annotate``: enrich text given on the command line, printing what the enricher would publish."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

from pipeline.ids import article_id
from pipeline.records import RawArticle


def register(app: typer.Typer) -> None:
    @app.command("annotate")
    def annotate_command(
        source: str = typer.Argument("-", metavar="[FILE|-]", help="Text file to read, or - for stdin"),
        jsonl: bool = typer.Option(
            False, "--jsonl", help="Input is JSON lines: text, and optionally title, published_at, url, id, language"
        ),
        title: str = typer.Option("", "--title", help="Title of the (plain text) article"),
        published: str | None = typer.Option(
            None, "--published", help="Publication date or time of the (plain text) article, ISO 8601"
        ),
    ) -> None:
        """Enrich one article (or JSON lines of them) and print, per article, {"article": ..., "events": [...]}:
        the enriched article and events exactly as the enricher publishes them."""
        from pipeline.enrich.core import EnrichmentFailure, enrich_articles
        from pipeline.enrich.nlp import load_nlp
        from pipeline.settings import get_settings

        text = _read(source)
        if jsonl:
            articles = list(_articles_from_jsonl(text))
        else:
            articles = [plain_article(text, title=title, published_at=_parse_time(published, "--published"))]
        if not articles:
            return
        results = enrich_articles(articles, load_nlp(get_settings()))
        failed = 0
        for result in results:
            if isinstance(result, EnrichmentFailure):
                failed += 1
                typer.echo(json.dumps({"article_id": result.article_id, "error": result.reason}), err=True)
                continue
            payload = {
                "article": json.loads(result.article.model_dump_json()),
                "events": [json.loads(event.model_dump_json()) for event in result.events],
            }
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=None if jsonl else 2))
        if failed:
            raise typer.Exit(1)


def plain_article(
    text: str,
    *,
    title: str = "",
    published_at: datetime | None = None,
    url: str | None = None,
    language: str | None = None,
) -> RawArticle:
    """A raw article for text that was not collected: its URL is a content-derived URN, so the same text always
    gets the same article id."""
    url = url or "urn:annotate:" + hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()[:32]
    return RawArticle(
        article_id=article_id(url),
        revision=1,
        url=url,
        canonical_url=url,
        title=title,
        text=text,
        published_at=published_at,
        language=language,
    )


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"{source} is not a file", param_hint="FILE")
    return path.read_text(encoding="utf-8")


def _articles_from_jsonl(content: str) -> Iterator[RawArticle]:
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"line {number}: not JSON ({exc})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise typer.BadParameter(f'line {number}: expected an object with a string "text"')
        article = plain_article(
            row["text"],
            title=str(row.get("title") or ""),
            published_at=_parse_time(row.get("published_at"), f"line {number}: published_at"),
            url=row.get("url") or None,
            language=str(row.get("language") or "") or None,
        )
        if row.get("id"):
            article = article.model_copy(update={"article_id": str(row["id"])})
        yield article


def _parse_time(value: Any, what: str) -> datetime | None:
    """An ISO date ("2025-01-06", taken as midnight UTC) or date-time (UTC when no offset is given)."""
    if value in (None, ""):
        return None
    try:
        text = str(value)
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{what}: {value!r} is not an ISO 8601 date or time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
