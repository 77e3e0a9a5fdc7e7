"""The hand-coded gold standard of events (``tests/gold/events.yaml``) and how the coder is scored on it.

Documents are the bundled sample articles (extracted from their HTML the way the collector does), the seed
article (read from ``../shared``) and non-political texts that must yield no event (``tests/gold/quiet``).
They go through ``enrich_articles``, the pipeline's own path. A coded event is right when its type, source
and target match a gold event of its document (see the file's header for what matches); optional gold
events are neither required nor errors. Reported: precision and recall of those tuples, the share of gold
sources and targets whose country the coder got right (in an event of that type in that sentence), place
and date agreement of matched events, and a reliability table (confidence bins against the share right).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

import pipeline
from pipeline.records import Actor, Event, RawArticle

if TYPE_CHECKING:  # spaCy costs ~0.6 s to import: the CLI loads this module for every command
    from spacy.language import Language

REPO = Path(pipeline.__file__).resolve().parents[1]
DEFAULT_GOLD = REPO / "tests" / "gold" / "events.yaml"
SAMPLES = REPO / "pipeline" / "samples" / "articles"
SHARED = REPO.parent / "shared"
CONFIDENCE_BINS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def normalize_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold().replace("’", "'")
    text = re.sub(r"^(the)\s+", "", text.strip())
    text = re.sub(r"'s\b", "", text)
    return " ".join(re.sub(r"[^\w\s-]", " ", text).split())


@dataclass(frozen=True)
class GoldActor:
    name: str
    names: frozenset[str]
    countries: tuple[str, ...]
    state: bool
    unstated: bool

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> GoldActor:
        country = raw.get("country")
        countries = tuple(country) if isinstance(country, list) else ((country,) if country else ())
        names = frozenset(normalize_name(n) for n in [raw["name"], *raw.get("also", [])])
        return cls(raw["name"], names, countries, bool(raw.get("state")), bool(raw.get("unstated")))

    def matches(self, actor: Actor | None) -> bool:
        if actor is None:
            return self.unstated
        if normalize_name(actor.name) in self.names:
            return True
        return self.state and actor.country_code in self.countries and actor.label != "PERSON"


Role = tuple[GoldActor, ...] | None  # None: the event has no such role


def _parse_role(raw: Any) -> Role:
    if raw is None:
        return None
    return tuple(GoldActor.parse(r) for r in (raw if isinstance(raw, list) else [raw]))


def _role_index(role: Role, actor: Actor | None) -> int | None:
    """Which of the role's acceptable actors ``actor`` is (-1: the role is empty and so is the actor)."""
    if role is None:
        return -1 if actor is None else None
    return next((i for i, spec in enumerate(role) if spec.matches(actor)), None)


@dataclass(frozen=True)
class GoldEvent:
    sentence: str
    types: tuple[str, ...]
    mode: str | None
    source: Role
    target: Role
    mutual: bool
    optional: bool
    place: str | None
    date: str | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> GoldEvent:
        kinds = raw["type"]
        date = raw.get("date")
        return cls(
            sentence=raw["sentence"],
            types=tuple(kinds) if isinstance(kinds, list) else (kinds,),
            mode=raw.get("mode"),
            source=_parse_role(raw.get("source")),
            target=_parse_role(raw.get("target")),
            mutual=bool(raw.get("mutual")),
            optional=bool(raw.get("optional")),
            place=raw.get("place"),
            date=None if date is None else str(date),
        )

    def matches(self, event: Event) -> bool:
        if event.event_type not in self.types:
            return False
        orders = [(event.source, event.target)]
        if self.mutual:
            orders.append((event.target, event.source))
        for source, target in orders:
            i, j = _role_index(self.source, source), _role_index(self.target, target)
            # Among several parties (a summit), source and target must be two different ones.
            if i is not None and j is not None and (self.source != self.target or i != j):
                return True
        return False

    def in_sentence(self, event: Event) -> bool:
        return _squash(self.sentence) in _squash(event.evidence.sentence)


def _squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).replace("’", "'").split())


@dataclass(frozen=True)
class GoldDocument:
    doc_id: str
    article: RawArticle
    events: tuple[GoldEvent, ...]
    quiet: bool


def load_gold(path: Path = DEFAULT_GOLD) -> tuple[list[GoldDocument], list[str]]:
    """The gold documents with their texts, and notes on documents that could not be read (missing data)."""
    from pipeline.collect.extract import Extracted, extract_article

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    documents: list[GoldDocument] = []
    notes: list[str] = []
    for entry in raw["documents"]:
        doc_id = entry["id"]
        url = f"https://gold.example/{doc_id}"
        if "sample" in entry:
            extracted = extract_article((SAMPLES / entry["sample"]).read_text(encoding="utf-8"), url=url)
            if not isinstance(extracted, Extracted):
                raise ValueError(f"{doc_id}: sample could not be extracted ({extracted})")
            text, title, published = extracted.text, extracted.title, extracted.published
        else:
            file = SHARED / entry["shared"] if "shared" in entry else path.parent / entry["quiet"]
            if not file.exists():
                notes.append(f"{doc_id}: {file} not found, left out")
                continue
            lines = file.read_text(encoding="utf-8").splitlines()
            text = "\n".join(line for line in lines if not line.startswith("#")).strip()
            title, published = "", _as_datetime(entry.get("published"))
        article = RawArticle(
            article_id=f"gold_{doc_id}", url=url, canonical_url=url, title=title, text=text, published_at=published
        )
        events = tuple(GoldEvent.parse(e) for e in entry.get("events") or [])
        documents.append(GoldDocument(doc_id, article, events, quiet="quiet" in entry))
    return documents, notes


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class Judged:
    """A coded event of a gold document: right (matches a required gold event), wrong, or neither."""

    doc_id: str
    event: Event
    right: bool | None  # None: matches only optional gold events


def judge(documents: Sequence[GoldDocument], coded: Sequence[Sequence[Event]]) -> list[Judged]:
    out: list[Judged] = []
    for doc, events in zip(documents, coded, strict=True):
        for event in events:
            hits = [g for g in doc.events if g.matches(event)]
            right: bool | None = any(not g.optional for g in hits) or (None if hits else False)
            out.append(Judged(doc.doc_id, event, right))
    return out


def score_gold(documents: Sequence[GoldDocument], coded: Sequence[Sequence[Event]]) -> dict[str, Any]:
    judged = judge(documents, coded)
    scored = [j for j in judged if j.right is not None]
    right = sum(1 for j in scored if j.right)
    required = [(doc, g) for doc in documents for g in doc.events if not g.optional]
    by_doc = {doc.doc_id: events for doc, events in zip(documents, coded, strict=True)}
    found = [(doc, g) for doc, g in required if any(g.matches(e) for e in by_doc[doc.doc_id])]
    countries = {role: _country_share(required, by_doc, role) for role in ("source", "target")}
    placed = _agreement(found, by_doc, "place")
    dated = _agreement(found, by_doc, "date")
    errors = [{"document": j.doc_id, "event": _describe(j.event)} for j in judged if j.right is False]
    missed = [{"document": doc.doc_id, "gold": _describe_gold(g)} for doc, g in required if (doc, g) not in found]
    quiet_docs = [doc for doc in documents if doc.quiet]
    return {
        "documents": len(documents),
        "gold_events": len(required),
        "optional_gold_events": sum(1 for doc in documents for g in doc.events if g.optional),
        "coded_events": len(judged),
        "coded_events_scored": len(scored),
        "precision": right / len(scored) if scored else 0.0,
        "recall": len(found) / len(required) if required else 0.0,
        "source_country": countries["source"],
        "target_country": countries["target"],
        "place_agreement": placed,
        "date_agreement": dated,
        "quiet_documents": len(quiet_docs),
        "events_on_quiet_documents": sum(len(by_doc[doc.doc_id]) for doc in quiet_docs),
        "reliability": reliability(scored),
        "by_threshold": by_threshold(judged, len(required), documents, coded),
        "wrong": errors,
        "missed": missed,
    }


def _country_share(
    required: Sequence[tuple[GoldDocument, GoldEvent]], by_doc: dict[str, Sequence[Event]], role: str
) -> dict[str, Any]:
    """Of the gold events whose ``role`` is a named actor with a country: how many the coder gave the right
    country, in an event of the gold type in the same sentence (a missed event counts as wrong)."""
    total = right = 0
    for doc, gold in required:
        specs = getattr(gold, role)
        if specs is None or all(s.unstated or not s.countries for s in specs):
            continue
        countries = {c for s in specs for c in s.countries}
        total += 1
        candidates = [e for e in by_doc[doc.doc_id] if e.event_type in gold.types and gold.in_sentence(e)]
        other = "target" if role == "source" else "source"
        for event in candidates:
            actors = [getattr(event, role)] + ([getattr(event, other)] if gold.mutual else [])
            if any(a is not None and a.country_code in countries for a in actors):
                right += 1
                break
    return {"right": right, "of": total, "share": right / total if total else 0.0}


def _agreement(
    found: Sequence[tuple[GoldDocument, GoldEvent]], by_doc: dict[str, Sequence[Event]], what: str
) -> dict[str, Any]:
    total = right = 0
    for doc, gold in found:
        if what == "place" and gold.place is None:
            continue
        total += 1
        for event in by_doc[doc.doc_id]:
            if not gold.matches(event):
                continue
            if what == "date" and event.date == gold.date:
                right += 1
                break
            place = event.location
            if (
                what == "place"
                and place is not None
                and normalize_name(place.place or "") == normalize_name(gold.place or "")
            ):
                right += 1
                break
    return {"right": right, "of": total, "share": right / total if total else 0.0}


def reliability(scored: Sequence[Judged]) -> list[dict[str, Any]]:
    return reliability_of([(j.event.confidence, bool(j.right)) for j in scored])


def reliability_of(scored: Sequence[tuple[float, bool]]) -> list[dict[str, Any]]:
    """(confidence, right) pairs in confidence bins: how many, their mean confidence and the share right."""
    rows = []
    for low, high in itertools.pairwise(CONFIDENCE_BINS):
        in_bin = [(confidence, right) for confidence, right in scored if low <= confidence < high]
        rows.append({
            "bin": f"{low:.1f}-{min(high, 1.0):.1f}",
            "events": len(in_bin),
            "mean_confidence": sum(c for c, _ in in_bin) / len(in_bin) if in_bin else None,
            "share_right": sum(1 for _, right in in_bin if right) / len(in_bin) if in_bin else None,
        })  # fmt: skip
    return rows


def by_threshold(
    judged: Sequence[Judged], required: int, documents: Sequence[GoldDocument], coded: Sequence[Sequence[Event]]
) -> list[dict[str, Any]]:
    rows = []
    for threshold in THRESHOLDS:
        kept = [j for j in judged if j.event.confidence >= threshold and j.right is not None]
        found = sum(
            1
            for doc, events in zip(documents, coded, strict=True)
            for g in doc.events
            if not g.optional and any(g.matches(e) and e.confidence >= threshold for e in events)
        )
        rows.append({
            "threshold": threshold,
            "events": len(kept),
            "precision": sum(1 for j in kept if j.right) / len(kept) if kept else 0.0,
            "recall": found / required if required else 0.0,
        })  # fmt: skip
    return rows


def _actor_text(actor: Actor | None) -> str:
    return "-" if actor is None else f"{actor.name} ({actor.country_code or '?'})"


def _describe(event: Event) -> str:
    kind = f"{event.event_type}/{event.mode}" if event.mode else event.event_type
    return (
        f"{kind} {_actor_text(event.source)} -> {_actor_text(event.target)} [{event.confidence:.2f}] "
        f"\u00ab{event.evidence.sentence[:90]}\u00bb"
    )


def _describe_gold(gold: GoldEvent) -> str:
    def role(specs: Role) -> str:
        return "-" if specs is None else " | ".join(s.name for s in specs)

    return f"{'/'.join(gold.types)} {role(gold.source)} -> {role(gold.target)} \u00ab{gold.sentence[:80]}\u00bb"


def code_gold(documents: Sequence[GoldDocument], nlp: Language | None = None) -> list[list[Event]]:
    from pipeline.enrich.core import EnrichmentFailure, enrich_articles
    from pipeline.enrich.nlp import load_nlp
    from pipeline.settings import Settings

    results = enrich_articles([doc.article for doc in documents], nlp or load_nlp(Settings()))
    return [[] if isinstance(r, EnrichmentFailure) else r.events for r in results]


def evaluate_gold(path: Path = DEFAULT_GOLD, nlp: Language | None = None) -> dict[str, Any]:
    """Code the gold documents through ``enrich_articles`` and score them; the reliability table and the
    thresholds are also given with confidences calibrated without the document they are reported on."""
    from pipeline.enrich.events.confidence import calibration_disabled

    documents, notes = load_gold(path)
    coded = code_gold(documents, nlp)
    report = score_gold(documents, coded)
    with calibration_disabled():
        raw = code_gold(documents, nlp)
    held_out = calibrated_without_own_document(documents, raw)
    judged = judge(documents, held_out)
    report["reliability_held_out"] = reliability([j for j in judged if j.right is not None])
    report["by_threshold_held_out"] = by_threshold(judged, report["gold_events"], documents, held_out)
    report["gold_file"] = str(path)
    report["notes"] = notes
    return report


def calibrated_without_own_document(
    documents: Sequence[GoldDocument], raw: Sequence[Sequence[Event]]
) -> list[list[Event]]:
    """Leave-one-document-out calibration: each document's raw scores mapped through the logistic curve
    fitted (as ``calibrate`` does) on the other documents' coded events only, so the reliability of a
    confidence is measured on events its calibration never saw."""
    from pipeline.enrich.events.confidence import apply_calibration, fit_calibration

    judged = judge(documents, raw)
    out: list[list[Event]] = []
    for doc, events in zip(documents, raw, strict=True):
        others = [j for j in judged if j.right is not None and j.doc_id != doc.doc_id]
        a, b = fit_calibration([j.event.confidence for j in others], [bool(j.right) for j in others])
        out.append([
            e.model_copy(update={"confidence": round(apply_calibration(e.confidence, a, b), 3)}) for e in events
        ])  # fmt: skip
    return out


def render_gold(report: dict[str, Any], console: Any, show_errors: bool = False) -> None:
    from rich.table import Table

    summary = Table(title=f"Gold events ({report['gold_file']}): {report['documents']} documents")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("gold events (required / optional)", f"{report['gold_events']} / {report['optional_gold_events']}")
    summary.add_row("coded events (scored)", f"{report['coded_events']} ({report['coded_events_scored']})")
    summary.add_row("precision of (type, source, target)", f"{report['precision']:.3f}")
    summary.add_row("recall of (type, source, target)", f"{report['recall']:.3f}")
    for key, label in (
        ("source_country", "source country right"),
        ("target_country", "target country right"),
        ("place_agreement", "place right (found events)"),
        ("date_agreement", "date right (found events)"),
    ):
        row = report[key]
        summary.add_row(label, f"{row['share']:.3f} ({row['right']}/{row['of']})")
    summary.add_row(
        "events claimed on non-political texts",
        f"{report['events_on_quiet_documents']} (of {report['quiet_documents']} texts)",
    )
    console.print(summary)
    console.print(
        _reliability_table(
            "Reliability: confidence against the share of coded events that are right", report["reliability"]
        )
    )
    console.print(_threshold_table("Keeping events at or above a confidence", report["by_threshold"]))
    if "reliability_held_out" in report:
        console.print(
            _reliability_table(
                "Reliability, calibrated without the document reported on (leave one gold document out)",
                report["reliability_held_out"],
            )
        )
        console.print(
            _threshold_table(
                "Keeping events at or above a confidence (leave-one-document-out calibration)",
                report["by_threshold_held_out"],
            )
        )
    for note in report["notes"]:
        console.print(f"[yellow]{note}[/yellow]")
    if show_errors:
        for row in report["wrong"]:
            console.print(f"wrong  {row['document']}: {row['event']}")
        for row in report["missed"]:
            console.print(f"missed {row['document']}: {row['gold']}")


def _reliability_table(title: str, rows: Sequence[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for column in ("confidence", "events", "mean confidence", "share right"):
        table.add_column(column, justify="right")
    for row in rows:
        mean, share = row["mean_confidence"], row["share_right"]
        table.add_row(
            row["bin"],
            str(row["events"]),
            "-" if mean is None else f"{mean:.2f}",
            "-" if share is None else f"{share:.2f}",
        )
    return table


def _threshold_table(title: str, rows: Sequence[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for column in ("min confidence", "events", "precision", "recall"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(f"{row['threshold']:.1f}", str(row["events"]), f"{row['precision']:.3f}", f"{row['recall']:.3f}")
    return table


def calibrate(path: Path = DEFAULT_GOLD) -> dict[str, Any]:
    """Fit ``events.confidence``'s logistic map on the gold documents' coded events (raw scores against
    right / wrong) and write it; report the reliability before and after."""
    from pipeline.enrich.events.confidence import calibration_disabled, fit_calibration, save_calibration

    documents, notes = load_gold(path)
    with calibration_disabled():
        coded = code_gold(documents)
    scored = [j for j in judge(documents, coded) if j.right is not None]
    a, b = fit_calibration([j.event.confidence for j in scored], [bool(j.right) for j in scored])
    meta = {
        "fitted_on": f"{path.name}: {len(scored)} coded events of {len(documents)} hand-coded documents",
        "right": sum(1 for j in scored if j.right),
        "command": "pipeline evaluate calibrate-events",
    }
    save_calibration(a, b, meta)
    return {"a": a, "b": b, "meta": meta, "notes": notes, "raw_reliability": reliability(scored)}
