"""``pipeline annotate``: text or JSON lines in, the records the enricher would publish out."""

from __future__ import annotations

import json

import pytest
import typer
from spacy.language import Language
from typer.testing import CliRunner

from pipeline.enrich import cli as annotate_cli
from pipeline.records import EnrichedArticle, Event


@pytest.fixture()
def run(nlp: Language, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("pipeline.enrich.nlp.load_nlp", lambda settings: nlp)
    app = typer.Typer()
    annotate_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "annotate" a sub-command

    def invoke(args: list[str], stdin: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["annotate", *args], input=stdin)

    return invoke


def test_plain_text_from_stdin(run) -> None:  # type: ignore[no-untyped-def]
    text = "Beijing warned Tokyo on Monday after Chinese ships entered Japanese waters."
    result = run(["-", "--title", "Warning", "--published", "2025-01-06"], text)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    article = EnrichedArticle.model_validate(payload["article"])
    [Event.model_validate(event) for event in payload["events"]]
    assert article.text == text and article.title == "Warning"
    assert article.url.startswith("urn:annotate:") and article.article_id.startswith("art_")
    assert article.published_at is not None and article.published_at.isoformat() == "2025-01-06T00:00:00+00:00"
    assert {"CHN", "JPN"} <= set(article.countries)
    for entity in article.entities:
        for mention in entity.mentions:
            assert text[mention.start : mention.end] == mention.text
    # the same text always gets the same id
    assert json.loads(run(["-", "--title", "Warning"], text).stdout)["article"]["article_id"] == article.article_id


def test_json_lines(run) -> None:  # type: ignore[no-untyped-def]
    lines = [
        {"text": "Moscow said Russia would respond.", "id": "doc-1", "published_at": "2025-01-06T10:00:00Z"},
        {"text": "Officials in Nairobi met Ethiopian envoys.", "url": "https://news.example/x", "title": "T"},
    ]
    result = run(["--jsonl"], "\n".join(json.dumps(line) for line in lines) + "\n\n")
    assert result.exit_code == 0, result.output
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outputs) == 2 and outputs[0]["article"]["article_id"] == "doc-1"
    assert outputs[1]["article"]["url"] == "https://news.example/x" and outputs[1]["article"]["title"] == "T"
    assert "RUS" in outputs[0]["article"]["countries"] and "ETH" in outputs[1]["article"]["countries"]


def test_bad_json_line_is_reported(run) -> None:  # type: ignore[no-untyped-def]
    result = run(["--jsonl"], "not json\n")
    assert result.exit_code != 0
    assert "line 1" in result.output
