"""Event coding, step 4: identity and output. Frames become ``Event`` records with a confidence and a
stable id; events of one article with one id merge, and an untargeted duplicate of a targeted action goes.

Event ids come from (type/mode, source, target, place, day) keyed on country codes where known, so two
articles reporting the same event agree on its id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from spacy.tokens import Span

from pipeline.enrich.events.confidence import calibrated
from pipeline.enrich.events.taxonomy import Taxonomy
from pipeline.enrich.events.triggers import Frame
from pipeline.ids import event_id
from pipeline.records import Actor, ArticleRef, Event, Evidence, Lineage, Location, RawArticle

MIN_CONFIDENCE = 0.3


# -- output ------------------------------------------------------------------------------------------------


def _confidence(frame: Frame, type_prior: Mapping[str, float] | None) -> float:
    """Heuristic score, published through ``events.confidence.calibrated`` as a probability: lexicon weight
    of the trigger (0.4-0.75: specific phrases above bare lemmas),
    +0.1 for a source actor, +0.05 if it is tied to a country, +0.05 for a target; then x0.5 conditional,
    x0.75 hedged (modal, "considering"), x0.85 reported inside a that-clause or converted by tense,
    x0.85 when the source is only the sentence's leading actor, x0.8 told as background (a relative clause,
    the past perfect), x0.85 without a named source; a
    document-level prior p(type), when given, scales by (0.8 + 0.4 p)."""
    score = frame.match.trigger.weight
    if frame.source is not None:
        score += 0.1
        if frame.source.country_code:
            score += 0.05
    if frame.targets:
        score += 0.05
    if frame.conditional:
        score *= 0.5
    if frame.hedged:
        score *= 0.75
    if frame.reported or frame.converted:
        score *= 0.85
    if frame.fallback_source:
        score *= 0.85
    if frame.background:
        score *= 0.8  # the sentence's news is elsewhere: its main event should win the main type
    if frame.source is None:
        score *= 0.85  # an unnamed protester or authority
    if type_prior is not None:
        score *= 0.8 + 0.4 * type_prior.get(frame.event_type, 0.0)
    return max(0.0, min(1.0, score))


def actor_key(actor: Actor | None) -> str | None:
    """Identity of an actor within an event id. A person is themself (Blinken meeting Choi and Blinken
    meeting Cho are two events); a country, or a body acting for one, is its country code, so differently
    worded reports ("Seoul", "South Korea", "the South Korean government") agree."""
    if actor is None:
        return None
    if actor.label == "PERSON":
        return f"{actor.country_code or ''}:{actor.name}"
    return actor.country_code or actor.name


# Evidence is one sentence; bounded so an event stays small whatever the article looks like.
MAX_EVIDENCE_CHARS = 1_000


def place_key(location: Location | None) -> str | None:
    if location is None:
        return None
    return location.country_code or location.place


def _evidence(sent: Span) -> Evidence:
    # The sentence's first and last words, read from its ends: whitespace tokens are rare and stand at the ends.
    first = next((t for t in sent if not t.is_space), None)
    last = next((t for t in reversed(sent) if not t.is_space), None)
    start = first.idx if first is not None else sent.start_char
    end = last.idx + len(last.text) if last is not None else sent.end_char
    if end - start > MAX_EVIDENCE_CHARS:  # a "sentence" without punctuation can run to the whole text
        tokens = [t for t in sent if not t.is_space]
        end = max((t.idx + len(t.text) for t in tokens if t.idx + len(t.text) - start <= MAX_EVIDENCE_CHARS), default=0)
        end = end if end > start else start + MAX_EVIDENCE_CHARS
    # From the sentence's own text: Doc.text joins every token of the article anew on each call.
    return Evidence(sentence=sent.text[start - sent.start_char : end - sent.start_char], start=start, end=end)


# Types whose agent is a public authority even when the text leaves it out ("Yoon faces impeachment", "46
# people were arrested"): an event with a named target but no named source is still a political event.
_IMPLICIT_AUTHORITY = frozenset({"ACCUSE", "SANCTION", "COERCE"})


# Natural hazards: in a sentence about one, a country's help to its own people is disaster response, not
# a political event ("authorities evacuated 5,000 residents as the cyclone approached", "the government
# deployed soldiers to search for survivors"); help across a border stays an event ("Japan sent rescue
# teams to Turkey after the earthquake").
_HAZARD_LEMMAS = frozenset({
    "cyclone", "typhoon", "hurricane", "storm", "flood", "flooding", "earthquake", "quake", "tremor",
    "landslide", "mudslide", "wildfire", "bushfire", "tsunami", "volcano", "eruption", "drought", "avalanche",
    "heatwave", "monsoon", "tornado", "blizzard",
})  # fmt: skip
_RESPONSE_TYPES = frozenset({"AID", "MOBILIZE", "REQUEST", "COOPERATE"})


def disaster_response(frame: Frame) -> bool:
    """A relief, deployment or appeal frame in a sentence about a natural hazard with no party from another
    country: the state's response to a disaster at home."""
    if frame.event_type not in _RESPONSE_TYPES:
        return False
    if not any(tok.lemma_.lower() in _HAZARD_LEMMAS or tok.lower_ in _HAZARD_LEMMAS for tok in frame.sent):
        return False
    home = frame.source.country_code if frame.source is not None else None
    return not any(t.country_code and t.country_code != home for t in frame.targets)


def claimable(frame: Frame) -> bool:
    """Whether a frame is a reported action by a political actor: not a mention of an event told elsewhere,
    not the act of a storm, a train or a football club, not a state's response to a disaster at home, and
    with someone acting (protests are their protesters' act; an arrest or impeachment is an authority's
    even unnamed)."""
    if frame.reference or frame.nonpolitical or disaster_response(frame):
        return False
    if frame.source is not None or frame.event_type == "PROTEST":
        return True
    return frame.event_type in _IMPLICIT_AUTHORITY and bool(frame.targets)


def _cameo_root(frame: Frame, taxonomy: Taxonomy) -> str:
    """The one the frame's reading gave (an intent to yield is 03, a denial 01, a call for sanctions 10); else the
    trigger's own CAMEO root when it has one and the frame still has the trigger's type (an appeal is 02, a
    demand 10, whatever the mode its content gives); else the type's (or mode's) root."""
    if frame.cameo:
        return frame.cameo[:2]
    trigger = frame.match.trigger
    if trigger.cameo and trigger.event_type == frame.event_type:
        return trigger.cameo[:2]
    return taxonomy.cameo_root(frame.event_type, frame.mode)


def events_from(
    frame: Frame,
    article: RawArticle,
    lineage: Lineage,
    taxonomy: Taxonomy,
    type_prior: Mapping[str, float] | None,
) -> list[Event]:
    if not claimable(frame):
        return []
    score = _confidence(frame, type_prior)
    if score < MIN_CONFIDENCE:
        return []
    confidence = round(calibrated(score), 3)
    evidence = _evidence(frame.sent)
    cameo = _cameo_root(frame, taxonomy)
    out: list[Event] = []
    targets: list[Actor | None] = list(frame.targets) or [None]
    source = frame.source
    if source is None and frame.event_type == "PROTEST":
        place_country = frame.location.country_code if frame.location is not None else None
        source = Actor(name="protesters", country_code=place_country, label=None)
    for actor, target in [(a, t) for a in [source, *frame.co_sources] for t in targets]:
        kind = f"{frame.event_type}/{frame.mode}" if frame.mode else frame.event_type  # a visit is not a meeting
        eid = event_id(kind, actor_key(actor), actor_key(target), place_key(frame.location), frame.date)
        out.append(
            Event(
                event_id=eid,
                event_type=frame.event_type,
                mode=frame.mode,
                cameo_root=cameo,
                quad_class=taxonomy.quad_class(frame.event_type),
                intensity=taxonomy.intensity(frame.event_type, frame.mode),
                source=actor,
                target=target,
                location=frame.location,
                date=frame.date,
                date_text=frame.date_text,
                evidence=evidence,
                confidence=confidence,
                article_id=article.article_id,
                article_ids=[article.article_id],
                articles=[ArticleRef.of(article)],
                article_published_at=article.published_at,
                lineage=lineage,
            )
        )
    return out


def fold_untargeted(events: Iterable[Event]) -> list[Event]:
    """Drop an event without a target when the article reports the same action (type, mode, source,
    place, day) with one: "Blinken's visit" and "during his visit" are one visit to South Korea."""
    events = list(events)

    def action(event: Event) -> tuple[object, ...]:
        return (event.event_type, event.mode, actor_key(event.source), place_key(event.location), event.date)

    targeted = {action(e) for e in events if e.target is not None and e.source is not None}
    return [e for e in events if e.target is not None or e.source is None or action(e) not in targeted]


def one_per_action(events: Iterable[Event]) -> list[Event]:
    """One sentence, one event per action: several triggers of one type by one source in a sentence
    ("marched ... to protest", "used water cannon and tear gas to disperse") are one event. Of them, those
    with a target stand (one per target); without any, the most confident one."""
    groups: dict[tuple[object, ...], list[Event]] = {}
    for event in events:
        groups.setdefault((event.evidence.start, event.event_type, actor_key(event.source)), []).append(event)
    kept: list[Event] = []
    for group in groups.values():
        targeted = [e for e in group if e.target is not None]
        if targeted:
            best: dict[str | None, Event] = {}
            for event in targeted:
                key = actor_key(event.target)
                if key not in best or _rank(event) > _rank(best[key]):
                    best[key] = event
            kept.extend(best.values())
        else:
            kept.append(max(group, key=_rank))
    return kept


def _rank(event: Event) -> tuple[float, bool]:
    return (event.confidence, event.mode is not None)


def events_from_frames(
    frames: Sequence[Frame],
    article: RawArticle,
    lineage: Lineage,
    taxonomy: Taxonomy,
    type_prior: Mapping[str, float] | None,
) -> list[Event]:
    events: dict[str, Event] = {}
    for frame in frames:
        for event in events_from(frame, article, lineage, taxonomy, type_prior):
            kept = events.get(event.event_id)
            if kept is None or event.confidence > kept.confidence:
                events[event.event_id] = event
    distinct = one_per_action(events.values())
    return sorted(fold_untargeted(distinct), key=lambda e: (e.evidence.start, -e.confidence))
