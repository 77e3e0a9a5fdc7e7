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


# --- what comes in: bytes, decoded as the collector decodes pages ---------------------------------------------

LATIN1 = "Café talks: the French foreign minister met Antony Blinken in Paris on Monday.".encode("latin-1")


def test_the_collectors_decoding_says_what_it_did() -> None:
    from pipeline.collect.extract import decode_bytes

    plain = decode_bytes("Crème brûlée".encode())
    assert (plain.text, plain.warning()) == ("Crème brûlée", None)
    guessed = decode_bytes(LATIN1)
    assert "Café" in guessed.text and guessed.how == "guessed"
    assert guessed.warning() is not None and "not UTF-8" in str(guessed.warning())


def test_one_invalid_utf8_byte_is_decoded_with_a_warning(run) -> None:  # type: ignore[no-untyped-def]
    """A file with one invalid UTF-8 byte ended in UnicodeDecodeError (stdin: UnicodeEncodeError)."""
    result = run(["-"], LATIN1)
    assert result.exit_code == 0, result.output
    assert "warning: stdin is not UTF-8" in result.stderr
    article = EnrichedArticle.model_validate(json.loads(result.stdout)["article"])
    assert "Blinken" in article.text and "\udce9" not in article.text


def test_an_empty_file_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An empty file gave an empty article and exit 0 without a word."""
    from pipeline.errors import EXIT_NOT_FOUND
    from tests.cli_runs import run_pipeline

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"\n  \n")
    result = run_pipeline("annotate", str(empty))
    assert result.returncode == EXIT_NOT_FOUND, result.stderr
    assert "error: nothing to annotate: the input is empty" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_binary_file_is_refused_with_a_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.errors import EXIT_DATA_ERROR
    from tests.cli_runs import run_pipeline

    binary = tmp_path / "image.png"
    binary.write_bytes(bytes(range(256)) * 20)
    result = run_pipeline("annotate", str(binary))
    assert result.returncode == EXIT_DATA_ERROR, result.stderr
    assert "does not look like text" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_file_is_no_input() -> None:
    from pipeline.errors import EXIT_NOT_FOUND
    from tests.cli_runs import run_pipeline

    result = run_pipeline("annotate", "/nonexistent/article.txt")
    assert result.returncode == EXIT_NOT_FOUND and "no such file: /nonexistent/article.txt" in result.stderr


def test_on_a_terminal_it_says_it_is_waiting_for_the_text() -> None:
    """With no file on a terminal, annotate waited on stdin without saying so."""
    import os
    import subprocess
    import sys

    from tests.cli_runs import REPO

    main_side, terminal = os.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "annotate"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=REPO,
    )
    os.close(terminal)
    try:
        os.write(main_side, b"Beijing warned Tokyo on Monday.\n\x04")  # a line, then Ctrl-D on a line of its own
        out, err = process.communicate(timeout=180)
    finally:
        os.close(main_side)
    assert process.returncode == 0, err.decode()
    assert annotate_cli.TERMINAL_PROMPT in err.decode()
    assert "re-packaged copy" not in err.decode()  # said by `pipeline config`, not as a warning on every run
    assert "Beijing warned Tokyo" in json.loads(out)["article"]["text"]
