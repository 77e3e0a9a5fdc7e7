"""enrich_articles: one pass over a batch, results in order, one bad article isolated, exact offsets."""

from __future__ import annotations

import pytest
from spacy.language import Language

import pipeline
from pipeline.enrich import core
from pipeline.enrich.core import EnrichmentFailure, EnrichmentResult, enrich_articles
from pipeline.enrich.events import taxonomy
from pipeline.enrich.events.classifier import emitted_main_type, story_prior
from pipeline.enrich.nlp import model_lineage
from pipeline.records import EnrichedArticle

from .conftest import raw_article

TEXTS = [
    "Chancellor Olaf Scholz met President Emmanuel Macron in Berlin. Scholz said Germany would help Ukraine.",
    "Japanese Prime Minister Fumio Kishida flew to Canberra, where Kishida met Australian officials.",
    "",
    "Officials in Nairobi said Kenya and Ethiopia had agreed to reopen the border on Friday.",
]


def _articles() -> list:
    return [raw_article(text, url=f"https://news.example/{i}", title=f"Title {i}") for i, text in enumerate(TEXTS)]


def test_batch_results_in_input_order_with_lineage(nlp: Language) -> None:
    articles = _articles()
    results = enrich_articles(articles, nlp)
    assert [r.article.article_id for r in results if isinstance(r, EnrichmentResult)] == [
        a.article_id for a in articles
    ]
    first = results[0]
    assert isinstance(first, EnrichmentResult)
    assert first.article.text == TEXTS[0] and first.article.title == "Title 0"
    name, version = model_lineage(nlp)
    assert first.article.lineage.model_name == name and first.article.lineage.model_version == version
    assert first.article.lineage.pipeline_version == pipeline.__version__
    assert first.article.lineage.taxonomy_version == taxonomy.TAXONOMY_VERSION
    assert {"DEU", "UKR"} <= set(first.article.countries)
    assert first.article.countries == sorted(set(first.article.countries))
    # what the enricher publishes is a valid record
    EnrichedArticle.model_validate_json(first.article.model_dump_json())


def test_offsets_index_the_published_text_exactly(nlp: Language) -> None:
    for result in enrich_articles(_articles(), nlp):
        assert isinstance(result, EnrichmentResult)
        text = result.article.text
        for entity in result.article.entities:
            assert entity.mention_count == len(entity.mentions)
            for mention in entity.mentions:
                assert text[mention.start : mention.end] == mention.text
        for event in result.events:
            assert text[event.evidence.start : event.evidence.end] == event.evidence.sentence


def test_a_failing_article_does_not_fail_the_batch(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    real = core.resolve_entities

    def flaky(doc):  # type: ignore[no-untyped-def]
        if "Canberra" in doc.text:
            raise ValueError("boom")
        return real(doc)

    monkeypatch.setattr(core, "resolve_entities", flaky)
    articles = _articles()
    results = enrich_articles(articles, nlp)
    assert len(results) == len(articles)
    failure = results[1]
    assert isinstance(failure, EnrichmentFailure)
    assert failure.article_id == articles[1].article_id
    assert "boom" in failure.reason and failure.error_type == "ValueError"
    assert all(isinstance(r, EnrichmentResult) for i, r in enumerate(results) if i != 1)


def test_parse_failure_is_isolated_to_its_article(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding:
        """Stands in for the pipeline: the batch pass fails, and so does parsing the poisoned text alone."""

        meta = nlp.meta
        lang = nlp.lang

        def pipe(self, texts):  # type: ignore[no-untyped-def]
            raise RuntimeError("batch failed")

        def __call__(self, text: str):  # type: ignore[no-untyped-def]
            if "Nairobi" in text:
                raise RuntimeError("poisoned")
            return nlp(text)

    results = enrich_articles(_articles(), Exploding())  # type: ignore[arg-type]
    assert [type(r).__name__ for r in results] == [
        "EnrichmentResult",
        "EnrichmentResult",
        "EnrichmentResult",
        "EnrichmentFailure",
    ]


def test_long_text_is_truncated_for_parsing_only(nlp: Language) -> None:
    text = "Seoul said North Korea fired a missile. " + "The weather was mild. " * 50 + "Moscow said Russia agreed."
    (result,) = enrich_articles([raw_article(text)], nlp, max_text_chars=120)
    assert isinstance(result, EnrichmentResult)
    assert result.article.text == text  # published in full
    assert "PRK" in result.article.countries
    assert "RUS" not in result.article.countries  # past the limit, not parsed
    for entity in result.article.entities:
        assert all(m.end <= 120 for m in entity.mentions)


def test_empty_batch() -> None:
    assert enrich_articles([], nlp=None) == []  # type: ignore[arg-type]


def test_main_event_type_is_emitted_from_the_events_and_null_without_them(nlp: Language) -> None:
    quiet = "A storm brought heavy rain to the coast on Monday, and the river rose by two metres."
    political = "Thousands of protesters marched in Nairobi on Friday against the new tax, police said."
    results = enrich_articles(
        [raw_article(quiet, title="Storm"), raw_article(political, url="https://news.example/p")], nlp
    )
    storm, protest = (r for r in results if isinstance(r, EnrichmentResult))
    assert storm.events == [] and storm.article.main_event_type is None  # no events: no type claimed
    assert protest.events and protest.article.main_event_type in {e.event_type for e in protest.events}
    assert protest.article.main_event_type == emitted_main_type(
        protest.events, story_prior(political, ""), None
    )  # the same function and weights `pipeline evaluate events` scores
