"""Language first: every article gets a language before NER; English and French get entities, other
languages pass through no model, and events are English-only; the enriched record says so."""

from __future__ import annotations

import json

import pytest
import typer
from spacy.language import Language
from typer.testing import CliRunner

from pipeline.enrich import cli as annotate_cli
from pipeline.enrich.core import EnrichmentResult, enrich_articles
from pipeline.enrich.language import article_language, detect_language, not_extracted
from pipeline.index.search import CountBy, SearchError, SearchRequest
from pipeline.records import EnrichedArticle
from tests.unit.enrich.conftest import raw_article

GERMAN = (
    "Bundeskanzler Olaf Scholz hat am Montag in Berlin den französischen Präsidenten Emmanuel Macron empfangen. "
    "Die beiden Politiker sprachen über die Unterstützung der Ukraine und die Zukunft der Europäischen Union."
)
FRENCH = (
    "Le président Emmanuel Macron a reçu lundi à Paris le chancelier allemand Olaf Scholz. Les deux dirigeants "
    "ont évoqué le soutien à l'Ukraine. L'Allemagne et la Corée du Sud ont salué l'accord."
)
ENGLISH = "Chancellor Olaf Scholz met French President Emmanuel Macron in Berlin on Monday to discuss Ukraine."


def test_declared_language_wins_and_is_reduced_to_its_primary_subtag() -> None:
    article = raw_article(GERMAN).model_copy(update={"language": "fr-CA"})
    assert (article_language(article).code, article_language(article).source) == ("fr", "declared")
    assert article_language(raw_article(GERMAN)).code == "de"
    assert article_language(raw_article(GERMAN)).source == "detected"
    assert article_language(raw_article("Obama met Putin.")).code == "en"
    assert article_language(raw_article("Obama met Putin.")).source == "default"


@pytest.mark.parametrize(
    ("text", "code"), [(GERMAN, "de"), (FRENCH, "fr"), (ENGLISH, "en"), ("12 34 !", None), ("Obama met Putin.", None)]
)
def test_detection(text: str, code: str | None) -> None:
    assert detect_language(text) == code


def test_what_is_not_extracted() -> None:
    entity_languages = frozenset({"en", "fr"})
    assert not_extracted("en", entity_languages) == []
    assert not_extracted("fr", entity_languages) == ["events"]
    assert not_extracted("de", entity_languages) == ["entities", "events"]


def _enriched(nlp: Language, text: str) -> EnrichedArticle:
    [result] = enrich_articles([raw_article(text, url=f"https://news.example/{hash(text)}")], nlp)
    assert isinstance(result, EnrichmentResult)
    return result.article


def test_german_passes_through_no_model(nlp: Language) -> None:
    article = _enriched(nlp, GERMAN)
    assert (article.language, article.language_source) == ("de", "detected")
    assert article.entities == [] and article.event_ids == [] and article.countries == []
    assert article.not_extracted == ["entities", "events"]
    assert article.not_extracted_reason is not None and "'de'" in article.not_extracted_reason
    assert article.lineage.model_name == "none"


def test_french_gets_french_entities_canonicalised_and_no_events(nlp: Language) -> None:
    article = _enriched(nlp, FRENCH)
    assert article.language == "fr" and article.not_extracted == ["events"]
    assert article.lineage.model_name == "fr_core_news_sm"
    names = {(e.name, e.label, e.country_code) for e in article.entities}
    # Known to the actor dictionaries, whatever the language: their countries come with them.
    assert {("Emmanuel Macron", "PERSON", "FRA"), ("Olaf Scholz", "PERSON", "DEU")} <= names
    assert {("Germany", "GPE", "DEU"), ("South Korea", "GPE", "KOR"), ("Paris", "GPE", "FRA")} <= names
    assert article.event_ids == []


def test_a_reload_gives_back_the_french_pipeline_too() -> None:
    from pipeline.enrich.nlp import entity_nlp_for, forget_other_language_pipelines
    from pipeline.settings import get_settings

    before = entity_nlp_for("fr", get_settings())
    assert before is not None and entity_nlp_for("fr", get_settings()) is before  # loaded once, then kept
    forget_other_language_pipelines()  # what the worker's reload does
    after = entity_nlp_for("fr", get_settings())
    assert after is not None and after is not before and after.vocab is not before.vocab


def test_english_is_untouched(nlp: Language) -> None:
    article = _enriched(nlp, ENGLISH)
    assert article.language == "en" and article.not_extracted == [] and article.not_extracted_reason is None
    assert "Olaf Scholz" in {e.name for e in article.entities}


def test_annotate_a_german_and_a_french_article(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.enrich.nlp.load_nlp", lambda settings: nlp)
    app = typer.Typer()
    annotate_cli.register(app)
    app.command("noop")(lambda: None)
    lines = "\n".join(json.dumps({"text": text, "id": f"art_{n}"}) for n, text in enumerate((GERMAN, FRENCH)))
    result = CliRunner().invoke(app, ["annotate", "--jsonl", "-"], input=lines)
    assert result.exit_code == 0, result.output
    german, french = (json.loads(line)["article"] for line in result.stdout.splitlines())
    assert (german["language"], german["entities"], german["not_extracted"]) == ("de", [], ["entities", "events"])
    assert french["language"] == "fr" and french["entities"] and french["not_extracted"] == ["events"]


def test_search_counts_articles_by_language_and_by_what_was_not_extracted() -> None:
    body = SearchRequest().count_body(CountBy.language)
    assert body["aggs"]["counts_0"]["terms"]["field"] == "language"
    assert SearchRequest().count_fields(CountBy.not_extracted) == ["not_extracted"]
    with pytest.raises(SearchError):
        SearchRequest(events=True).count_fields(CountBy.language)
