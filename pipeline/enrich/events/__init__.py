"""PLOVER event coding: one parsed article and its entities -> ``Event`` records.

The coder follows the data's path; each step is its own module, so one sentence can be followed through:

1. triggers (``lexicon``, ``triggers``): trigger words and phrases of the lexicon (``pipeline/data/plover.yaml``,
   read by ``taxonomy``), and where it finds nothing in a sentence the compiled CAMEO verb patterns, become frames
   with their modality (negated, refused, future, hedged, reported) and codebook recoding (intentions, speech
   acts, cessations, curtailed exchanges);
2. roles (``roles``, with ``actors``): source and target actors from the parse, the entities and the
   dictionaries' agents and named actors;
3. place and time (``place_time``): where and when, normalised against the publication date; the dateline is
   the default of its own story only;
4. identity (``identity``, ``confidence``): confidence, stable event ids, merging of one action's repetitions;
   the story classifier and the headline (``classifier``, ``headline``) nudge the confidence and pick the
   article's main type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from spacy.tokens import Doc

from pipeline.enrich.events.actors import EntityIndex
from pipeline.enrich.events.classifier import MIN_STORY_SENTENCES, story_prior, with_headline
from pipeline.enrich.events.identity import events_from_frames
from pipeline.enrich.events.lexicon import lexicon_index
from pipeline.enrich.events.place_time import place_and_time, read_dateline
from pipeline.enrich.events.roles import assign_roles
from pipeline.enrich.events.taxonomy import get_taxonomy
from pipeline.enrich.events.triggers import frames_from_matches
from pipeline.records import Entity, Event, Lineage, RawArticle


def sentence_count(doc: Doc, enough: int = MIN_STORY_SENTENCES) -> int:
    """The doc's sentences, counted up to ``enough`` (all that the story prior asks)."""
    count = 0
    for _ in doc.sents:
        count += 1
        if count >= enough:
            break
    return count


def code_events(
    doc: Doc,
    entities: Sequence[Entity],
    article: RawArticle,
    lineage: Lineage,
    *,
    type_prior: Mapping[str, float] | None = None,
    headline_types: Mapping[str, float] | None = None,
    text: str | None = None,
) -> list[Event]:
    """Events found in one parsed article. ``entities`` are the article's canonical entities (with mentions
    carrying character offsets into ``doc.text``), so actors and places are resolved by offset lookup.

    ``type_prior`` is a document-level distribution over event types; by default the story classifier's
    (``events.classifier``), when a trained model is present, mixed with ``headline_types`` (the title's trigger
    types, ``events.headline``) by the headline weight chosen for the main type. It nudges confidences, never
    creates types.

    ``text`` is ``doc.text`` when the caller has it at hand (the string it parsed): ``Doc.text`` joins every
    token again on each call.
    """
    taxonomy = get_taxonomy()
    matches = lexicon_index().find(doc)
    if not matches:
        return []
    if type_prior is None:
        sentences = sentence_count(doc)
        type_prior = with_headline(
            story_prior(doc.text if text is None else text, article.title, sentences), headline_types
        )
    index = EntityIndex.build(doc, entities, article.published_at)
    dateline = read_dateline(doc, index)
    frames = frames_from_matches(matches, taxonomy)
    assign_roles(frames, index, matches)
    place_and_time(frames, index, dateline, article.published_at)
    return events_from_frames(frames, article, lineage, taxonomy, type_prior)
