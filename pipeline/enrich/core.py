"""The enrichment function: raw articles in, enriched articles and their events out.

Plain code on plain records, called by the Faust worker (``pipeline.enrich.worker``) and ``pipeline annotate``.

Offsets: spaCy parses ``article.text`` only (the title stays a separate field), so every character offset in
the output (entity mentions, event evidence) indexes the ``text`` field of the published article. Text longer
than ``max_text_chars`` is cut at a space for parsing; offsets into the parsed prefix are offsets into the full
text too, and the published ``text`` is the full text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from spacy.language import Language
from spacy.tokens import Doc

import pipeline
from pipeline.enrich import events as event_coding
from pipeline.enrich.entities.actors import with_known_actors
from pipeline.enrich.entities.resolution import resolve_entities
from pipeline.enrich.events import taxonomy
from pipeline.enrich.events.classifier import emitted_main_type, story_prior
from pipeline.enrich.events.headline import headlines_types
from pipeline.enrich.language import ArticleLanguage, article_language, not_extracted, not_extracted_reason
from pipeline.enrich.nlp import entity_nlp_for, model_lineage
from pipeline.records import ArticleFields, EnrichedArticle, Entity, Event, Lineage, RawArticle
from pipeline.settings import get_settings

log = structlog.get_logger(__name__)

# Fields an enriched article copies unchanged from the raw one.
_COPIED_FIELDS = tuple(name for name in ArticleFields.model_fields if name != "schema_version")


@dataclass(slots=True)
class EnrichmentResult:
    article: EnrichedArticle
    events: list[Event] = field(default_factory=list)


@dataclass(slots=True)
class EnrichmentFailure:
    """An article that could not be enriched; the caller dead-letters it and the batch carries on."""

    article_id: str
    reason: str
    error_type: str = "Exception"


@dataclass(slots=True)
class ParseRequest:
    """What the enrichment pipeline reads of a batch: the texts of the articles in its own language and their
    titles. Plain and picklable, so that the parse can run in another process (``pipeline.enrich.parse_process``)."""

    texts: list[str]
    titles: list[str]


@dataclass(slots=True)
class ParsedBatch:
    """The pipeline's reading of a ``ParseRequest``: one doc (or failure) per text, the trigger types of each
    title (None where the headline parse failed), and the pipeline's (name, version) for lineage records."""

    docs: list[Doc | EnrichmentFailure]
    headlines: list[dict[str, float] | None]
    model: tuple[str, str]


@dataclass(slots=True)
class PreparedBatch:
    """A batch before its parse: each article's language and the text it is parsed from, and which articles
    (``own``: their texts; ``titled``: their titles) the enrichment pipeline of language ``lang`` reads."""

    articles: Sequence[RawArticle]
    languages: list[ArticleLanguage]
    texts: list[str]  # what each article is parsed from ("" until a pipeline is chosen for it)
    lang: str
    own: list[int]
    titled: list[int]
    limit: int

    @property
    def request(self) -> ParseRequest:
        return ParseRequest([self.texts[i] for i in self.own], [self.articles[i].title for i in self.titled])


def enrich_articles(
    articles: Sequence[RawArticle], nlp: Language, *, max_text_chars: int | None = None
) -> list[EnrichmentResult | EnrichmentFailure]:
    """Enrich a batch, one ``pipe`` pass per language; one result or failure per article, in input order.

    ``nlp`` reads the articles in its own language (English); French articles go to the French pipeline, and
    articles in other languages pass through no model (``pipeline.enrich.language``). The three steps are
    public so that a worker can run the middle one, the parse, in another process.
    """
    if not articles:
        return []
    prepared = prepare_batch(articles, str(nlp.lang), max_text_chars=max_text_chars)
    return finish_batch(prepared, parse_request(nlp, prepared.request))


def prepare_batch(articles: Sequence[RawArticle], lang: str, *, max_text_chars: int | None = None) -> PreparedBatch:
    """Identify each article's language and cut its text for parsing (``max_text_chars``, else the setting)."""
    limit = max_text_chars if max_text_chars is not None else get_settings().max_text_chars
    languages = [article_language(article) for article in articles]
    own = [i for i, language in enumerate(languages) if language.code == lang]
    texts = [""] * len(articles)
    for i in own:
        texts[i] = _text_for_parsing(articles[i], limit)
    titled = [i for i in own if articles[i].title]
    return PreparedBatch(articles, languages, texts, lang, own, titled, limit)


def parse_request(nlp: Language, request: ParseRequest) -> ParsedBatch:
    """Parse the texts in one ``nlp.pipe`` pass and read the titles' trigger types (``events.headline``)."""
    return ParsedBatch(parse_texts(nlp, request.texts), headline_types_of(nlp, request.titles), model_lineage(nlp))


def parse_texts(nlp: Language, texts: list[str]) -> list[Doc | EnrichmentFailure]:
    """All texts in one ``nlp.pipe`` pass. If the batch fails, parse one by one to isolate the article at
    fault rather than failing every article with it."""
    return _apply(nlp.pipe, nlp, texts) if texts else []


def complete_parse(
    nlp: Language, docs: list[Doc | EnrichmentFailure], done: Sequence[str]
) -> list[Doc | EnrichmentFailure]:
    """Run the components of ``nlp`` not in ``done`` on docs that another process parsed with those (a parse
    process runs all but the news NER, which the worker runs: ``pipeline.enrich.parse_process``)."""
    rest = [(name, component) for name, component in nlp.pipeline if name not in done]
    if not rest:
        return docs

    def run_rest(docs: Iterable[Doc]) -> Iterator[Doc]:
        for _, component in rest:
            docs = component.pipe(docs) if hasattr(component, "pipe") else map(component, docs)
        yield from docs

    parsed = [doc for doc in docs if isinstance(doc, Doc)]
    completed = iter(_apply(run_rest, lambda doc: next(run_rest([doc])), parsed))
    return [next(completed) if isinstance(doc, Doc) else doc for doc in docs]


def _apply(
    on_batch: Callable[[Any], Iterable[Doc]], on_one: Callable[[Any], Doc], inputs: Sequence[Any]
) -> list[Doc | EnrichmentFailure]:
    """``on_batch`` over all inputs; if that fails, ``on_one`` over each, a failure standing for each that fails."""
    try:
        return list(on_batch(inputs))
    except Exception as exc:
        log.warning("batch parse failed, parsing articles one by one", error=repr(exc), articles=len(inputs))
    parsed: list[Doc | EnrichmentFailure] = []
    for one in inputs:
        try:
            parsed.append(on_one(one))
        except Exception as exc:
            parsed.append(_failure("", "parsing failed", exc))
    return parsed


def finish_batch(prepared: PreparedBatch, parsed: ParsedBatch) -> list[EnrichmentResult | EnrichmentFailure]:
    """Entities, events and records of every article of ``prepared`` from its parse; articles in languages with
    another entity pipeline (French) are parsed here."""
    articles, languages = prepared.articles, prepared.languages
    if not articles:
        return []
    settings = get_settings()
    docs: list[Doc | EnrichmentFailure | None] = [None] * len(articles)
    headlines: list[dict[str, float] | None] = [None] * len(articles)
    lineages: dict[str, Lineage] = {}
    entity_languages = {prepared.lang}
    for i, parsed_doc in zip(prepared.own, parsed.docs, strict=True):
        docs[i] = parsed_doc
    for i, types in zip(prepared.titled, parsed.headlines, strict=True):
        headlines[i] = types
    if prepared.own:
        lineages[prepared.lang] = _lineage(*parsed.model)
    for code in dict.fromkeys(language.code for language in languages):
        language_nlp = None if code == prepared.lang else entity_nlp_for(code, settings)
        if language_nlp is None:
            continue
        entity_languages.add(code)
        lineages[code] = _lineage(*model_lineage(language_nlp))
        chosen = [i for i, language in enumerate(languages) if language.code == code]
        for i in chosen:
            prepared.texts[i] = _text_for_parsing(articles[i], prepared.limit)
        for i, parsed_doc in zip(chosen, parse_texts(language_nlp, [prepared.texts[i] for i in chosen]), strict=True):
            docs[i] = parsed_doc
    results: list[EnrichmentResult | EnrichmentFailure] = []
    for article, language, doc, text, headline in zip(
        articles, languages, docs, prepared.texts, headlines, strict=True
    ):
        if isinstance(doc, EnrichmentFailure):
            results.append(EnrichmentFailure(article.article_id, doc.reason, doc.error_type))
            continue
        try:
            lineage = lineages.get(language.code) or _lineage("none", "")
            results.append(_enrich_one(article, doc, text, lineage, language, frozenset(entity_languages), headline))
        except Exception as exc:  # one bad article must not lose the batch: the caller dead-letters it
            log.warning("article enrichment failed", article_id=article.article_id, error=repr(exc))
            results.append(_failure(article.article_id, "enrichment failed", exc))
    return results


def headline_types_of(nlp: Language, titles: list[str]) -> list[dict[str, float] | None]:
    """The trigger types of the titles (``events.headline``), for the coder's story prior. A failure here only
    loses the headlines' say, never the batch."""
    if not titles:
        return []
    try:
        return list(headlines_types(nlp, titles))
    except Exception as exc:
        log.warning("headline parse failed, coding events without it", error=repr(exc), articles=len(titles))
    return [None] * len(titles)


def _lineage(model_name: str, model_version: str) -> Lineage:
    return Lineage(
        pipeline_version=pipeline.__version__,
        model_name=model_name,
        model_version=model_version,
        taxonomy_version=taxonomy.TAXONOMY_VERSION,
    )


def _text_for_parsing(article: RawArticle, limit: int) -> str:
    text = article.text
    if len(text) <= limit:
        return text
    # Cut at a space so no token is split; the prefix keeps offsets valid against the full text.
    cut = text.rfind(" ", 0, limit)
    log.warning("article text truncated for NLP", article_id=article.article_id, chars=len(text), limit=limit)
    return text[: cut if cut > 0 else limit]


def _enrich_one(
    article: RawArticle,
    doc: Doc | None,
    text: str,
    lineage: Lineage,
    language: ArticleLanguage,
    entity_languages: frozenset[str],
    headline: dict[str, float] | None = None,
) -> EnrichmentResult:
    skipped = not_extracted(language.code, entity_languages)
    entities = with_known_actors(resolve_entities(doc), article.published_at) if doc is not None else []
    coded: list[Event] = []
    main_type = None
    if doc is not None and "events" not in skipped:
        coded = event_coding.code_events(doc, entities, article, lineage, headline_types=headline, text=text)
        # Only for articles with events, whose prior the coder has just asked for (story_prior keeps the last).
        prior = story_prior(text, article.title, event_coding.sentence_count(doc)) if coded else None
        main_type = emitted_main_type(coded, prior, headline)
    enriched = EnrichedArticle(
        **{name: getattr(article, name) for name in _COPIED_FIELDS if name != "language"},
        language=language.code,
        language_source=language.source,
        not_extracted=skipped,
        not_extracted_reason=not_extracted_reason(language.code, skipped),
        entities=entities,
        countries=_countries(entities, coded),
        event_ids=list(dict.fromkeys(event.event_id for event in coded)),
        event_types=sorted({event.event_type for event in coded}),
        main_event_type=main_type,
        lineage=lineage,
    )
    return EnrichmentResult(article=enriched, events=coded)


def _countries(entities: Sequence[Entity], coded: Sequence[Event]) -> list[str]:
    """Countries involved: those of geopolitical entities (countries, their cities), of demonyms, of national
    organisations ("the Kremlin") and of event actors."""
    codes = {e.country_code for e in entities if e.label in {"GPE", "NORP", "ORG"} and e.country_code}
    for event in coded:
        for actor in (event.source, event.target):
            if actor is not None and actor.country_code:
                codes.add(actor.country_code)
    return sorted(codes)


def _failure(article_id: str, what: str, exc: BaseException) -> EnrichmentFailure:
    return EnrichmentFailure(article_id, f"{what}: {type(exc).__name__}: {exc}"[:500], type(exc).__name__)
