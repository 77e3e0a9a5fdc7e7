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

from pipeline.errors import EXIT_DATA_ERROR, DataError, MissingResource
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
        if not text.strip():
            raise MissingResource(
                "nothing to annotate: the input is empty",
                where="stdin" if source == "-" else source,
                hint="give a text file, or pipe the text in (pipeline annotate - < article.txt)",
            )
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
        if failed:  # each failure was said above, with its article
            raise typer.Exit(EXIT_DATA_ERROR)


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


TERMINAL_PROMPT = "Type or paste the article, then press Ctrl-D on a line of its own (Ctrl-C cancels)."


def _read(source: str) -> str:
    """The text of a file or of stdin, decoded as the collector decodes pages (UTF-8, else a guess, with bytes
    that do not decode replaced) and said on stderr when it was not plain UTF-8."""
    from pipeline.collect.extract import decode_bytes

    if source == "-":
        if sys.stdin.isatty():
            typer.echo(TERMINAL_PROMPT, err=True)
        body = sys.stdin.buffer.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise MissingResource(f"no such file: {source}", hint="give a text file, or - for stdin")
        body = path.read_bytes()
    decoded = decode_bytes(body)
    if _looks_binary(decoded.text):
        raise DataError(
            "the input does not look like text", where="stdin" if source == "-" else source, hint="give a text file"
        )
    warning = decoded.warning()
    if warning:
        typer.echo(f"warning: {'stdin' if source == '-' else source} is {warning}", err=True)
    return decoded.text


def _looks_binary(text: str) -> bool:
    """Mostly control characters or replacements: an image or archive, not an article in some encoding."""
    sample = text[:20_000]
    odd = sum(1 for c in sample if c == "\ufffd" or (ord(c) < 32 and c not in "\n\r\t\f"))
    return bool(sample) and odd / len(sample) > 0.1


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
