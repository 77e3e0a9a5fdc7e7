"""``pipeline evaluate events --real``: the event coder on real news sentences.

Data (``../shared/data/events/cameo-sentences/``, from eventdata/ConfliBERT @ 0b63001, the dataset of Hu et
al. 2022): real news sentences of 2017-18, each holding one political event.

- ``cameo_class_train.tsv``: ``sentence<TAB>label``, the CAMEO PentaClass of the sentence's event (0: roots
  01-02 statements and appeals, 1: 03-05 intent to cooperate, consult, diplomatic cooperation, 2: 06-08
  material cooperation, aid, yield, 3: 09-13 investigate, demand, disapprove, reject, threaten, 4: 14-20
  protest, force posture, reduce relations, coerce, assault, fight, mass violence).
- ``cameo_ner_train.txt``: tokens with the event's source (``S``), target (``T``) or reciprocal (``R``, either
  side of a meeting and the like) spans in IOB tags.

Every sentence goes through ``enrich_articles`` as ``pipeline annotate`` sends it: its text alone, no title,
no date. Scoring rules (written out in docs/enrichment.md):

- *with an event*: the sentence yields at least one event (every sentence holds one, so none is a miss);
- *main event*: of the sentence's events, the highest-confidence one of the article's ``main_event_type``
  (the highest-confidence event when that is null); its PentaClass comes from its ``cameo_root``; a sentence
  without events has no class and counts as wrong;
- *span agreement*: an actor agrees with a gold span when its name shares a content word (letters or digits,
  not a stop word, compared case-folded, with a possessive 's dropped) with the span's words; the source is
  scored on sentences with a gold ``S`` or ``R`` span, the target on those with a ``T`` or ``R`` span; an
  ``R`` span counts for either side; a missing actor disagrees. A country the coder names by its canonical
  name agrees with a span naming it another way ("United Kingdom" with "Britain", "United States" with "The
  US"; both looked up in the gazetteer).

Nothing is fitted to these labels: the rules and dictionaries come from the codebook and the PETRARCH
dictionaries. But rules were revised after reading errors, so each sentence has a fixed fold (``fold_of``: a
hash of its text, 5 folds) and only folds 0-2 were ever read while writing rules; folds 3-4 never were. The
report gives the figures on all sentences and on the unread folds 3-4 apart, so any gap between the two shows
how much reading the errors bought.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.evaluate.event_gold import SHARED, reliability_of

REAL_DIR = SHARED / "data" / "events" / "cameo-sentences"
CLASS_FILE = "cameo_class_train.tsv"
ROLES_FILE = "cameo_ner_train.txt"
DATA_SOURCE = (
    "real news sentences, 2017-18, hand-coded CAMEO PentaClass and source/target spans "
    "(eventdata/ConfliBERT @ 0b63001, data/cameo_class and data/cameo_ner; Hu et al. 2022)"
)
PENTA_CLASSES = ("0", "1", "2", "3", "4")
PENTA_NAMES = {
    "0": "statement/appeal (01-02)",
    "1": "verbal cooperation (03-05)",
    "2": "material cooperation (06-08)",
    "3": "verbal conflict (09-13)",
    "4": "material conflict (14-20)",
}
FOLDS = 5
BATCH = 32
_STOP = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "its", "his", "her",
    "their", "our", "your", "my", "this", "that", "these", "those", "who", "whom", "which", "whose", "as", "is",
    "are", "was", "were", "be", "been", "s", "'s",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClassSentence:
    text: str
    penta: str


@dataclass(frozen=True, slots=True)
class RoleSentence:
    text: str
    sources: tuple[str, ...]  # gold spans' text
    targets: tuple[str, ...]
    reciprocal: tuple[str, ...]


def penta_of_root(root: str | None) -> str | None:
    """The PentaClass of a two-digit CAMEO root, None for none."""
    if not root or not root[:2].isdigit():
        return None
    code = int(root[:2])
    for label, last in zip(PENTA_CLASSES, (2, 5, 8, 13, 20), strict=True):
        if code <= last:
            return label
    return None


def fold_of(text: str, folds: int = FOLDS) -> int:
    """A fixed fold for a sentence, from its text, for any k-fold figure on this split."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % folds


def read_class_sentences(path: Path) -> list[ClassSentence]:
    sentences = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, sep, label = line.rpartition("\t")
        if sep and text.strip() and label.strip() in PENTA_CLASSES:
            sentences.append(ClassSentence(text.strip(), label.strip()))
    return sentences


def read_role_sentences(path: Path) -> list[RoleSentence]:
    """Sentences of the token/tag file, the tokens joined by spaces (as they were tokenised)."""
    sentences: list[RoleSentence] = []
    tokens: list[tuple[str, str]] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        parts = line.split()
        if len(parts) >= 2:
            tokens.append((parts[0], parts[-1]))
            continue
        if tokens:
            sentences.append(_role_sentence(tokens))
            tokens = []
    return sentences


def _role_sentence(tokens: Sequence[tuple[str, str]]) -> RoleSentence:
    spans: dict[str, list[str]] = {"S": [], "T": [], "R": []}
    current: list[str] = []
    role = ""
    for word, tag in [*tokens, ("", "O")]:
        prefix, _, kind = tag.partition("-")
        if current and (prefix != "I" or kind != role):
            spans[role].append(" ".join(current))
            current, role = [], ""
        if prefix in {"B", "I"} and kind in spans:
            if not current:
                role = kind
            current.append(word)
    text = " ".join(word for word, _ in tokens)
    return RoleSentence(text, tuple(spans["S"]), tuple(spans["T"]), tuple(spans["R"]))


def content_words(text: str) -> set[str]:
    words = re.findall(r"\w+", text.casefold().replace("’s", "").replace("'s", ""))
    return {w for w in words if w not in _STOP}


def agrees(name: str | None, spans: Sequence[str], country_code: str | None = None) -> bool:
    """Whether an actor named ``name`` (of ``country_code``) is one of the gold spans: they share a content word,
    or the actor is a country and a span names that same country another way ("United Kingdom" for "Britain",
    "United States" for "The US"): the coder names a state by its canonical name, the reporter by any of its."""
    if not name:
        return False
    mine = content_words(name)
    if any(mine & content_words(span) for span in spans):
        return True
    return (
        country_code is not None
        and _country_named(name) == country_code
        and any(_country_named(span) == country_code for span in spans)
    )


def _country_named(text: str) -> str | None:
    from pipeline.enrich.entities.gazetteer import get_gazetteer

    words = text.split()
    if words and words[0].casefold() == "the":
        words = words[1:]
    country = get_gazetteer().country(" ".join(words))
    return country.iso3 if country is not None else None


def main_event(events: Sequence[Any], main_type: str | None) -> Any | None:
    if not events:
        return None
    of_type = [e for e in events if e.event_type == main_type] or list(events)
    return max(of_type, key=lambda e: e.confidence)


def code_texts(texts: Sequence[str], batch: int = BATCH) -> tuple[list[list[Any]], list[str | None], float]:
    """Every text through ``enrich_articles`` as ``pipeline annotate`` sends one: (events, main type, seconds)."""
    from pipeline.evaluate.events import code_articles
    from pipeline.records import RawArticle

    articles = [
        RawArticle(article_id=f"real_{i}", revision=1, url=f"urn:real:{i}", canonical_url=f"urn:real:{i}", text=text)
        for i, text in enumerate(texts)
    ]
    return code_articles(articles, batch)


READ_FOLDS = frozenset({0, 1, 2})  # the folds whose errors were read while writing rules


def evaluate_real(data_dir: Path = REAL_DIR, limit: int | None = None) -> dict[str, Any]:
    """The figures on every sentence (``all``) and on the folds never read (``unread``)."""
    classed = read_class_sentences(data_dir / CLASS_FILE)[:limit]
    roles = read_role_sentences(data_dir / ROLES_FILE)[:limit]
    # Both files in one pass: one model load.
    every, every_type, seconds = code_texts([s.text for s in classed] + [s.text for s in roles])
    coded, role_coded = every[: len(classed)], every[len(classed) :]
    main_types, role_types = every_type[: len(classed)], every_type[len(classed) :]
    unread_c = [i for i, s in enumerate(classed) if fold_of(s.text) not in READ_FOLDS]
    unread_r = [i for i, s in enumerate(roles) if fold_of(s.text) not in READ_FOLDS]
    report = {
        "data": str(data_dir),
        "data_source": DATA_SOURCE,
        "folds": f"{FOLDS} by sha256(sentence); folds {sorted(READ_FOLDS)} read while writing rules",
        "all": _scores(classed, coded, main_types, roles, role_coded, role_types),
        "unread": _scores(
            [classed[i] for i in unread_c],
            [coded[i] for i in unread_c],
            [main_types[i] for i in unread_c],
            [roles[i] for i in unread_r],
            [role_coded[i] for i in unread_r],
            [role_types[i] for i in unread_r],
        ),
        "throughput_docs_per_s": len(every) / seconds if seconds else 0.0,
    }
    return report


def _scores(
    classed: Sequence[ClassSentence],
    coded: Sequence[Sequence[Any]],
    main_types: Sequence[str | None],
    roles: Sequence[RoleSentence],
    role_coded: Sequence[Sequence[Any]],
    role_types: Sequence[str | None],
) -> dict[str, Any]:
    from pipeline.evaluate.events import classification_scores

    mains = [main_event(ev, t) for ev, t in zip(coded, main_types, strict=True)]
    predicted = [penta_of_root(m.cameo_root) if m is not None else None for m in mains]
    gold = [s.penta for s in classed]
    penta = classification_scores(gold, predicted, PENTA_CLASSES)
    role_mains = [main_event(ev, t) for ev, t in zip(role_coded, role_types, strict=True)]
    source_hits = source_total = target_hits = target_total = 0
    for sentence, event in zip(roles, role_mains, strict=True):
        source_gold = (*sentence.sources, *sentence.reciprocal)
        target_gold = (*sentence.targets, *sentence.reciprocal)
        source = event.source if event is not None else None
        target = event.target if event is not None else None
        if source_gold:
            source_total += 1
            source_hits += source is not None and agrees(source.name, source_gold, source.country_code)
        if target_gold:
            target_total += 1
            target_hits += target is not None and agrees(target.name, target_gold, target.country_code)
    # Reliability: is the main event's PentaClass right, by its confidence.
    confidences = [(m.confidence, p == g) for m, p, g in zip(mains, predicted, gold, strict=True) if m is not None]
    with_event = sum(1 for ev in coded if ev) + sum(1 for ev in role_coded if ev)
    total = len(coded) + len(role_coded)
    by_class = {
        label: (
            sum(1 for s, ev in zip(classed, coded, strict=True) if s.penta == label and ev)
            / max(1, sum(1 for s in classed if s.penta == label))
        )
        for label in PENTA_CLASSES
    }
    return {
        "with_event_by_class": by_class,
        "class_sentences": len(classed),
        "role_sentences": len(roles),
        "with_event": with_event / total if total else 0.0,
        "with_event_class_file": sum(1 for ev in coded if ev) / len(coded) if coded else 0.0,
        "with_event_role_file": sum(1 for ev in role_coded if ev) / len(role_coded) if role_coded else 0.0,
        "penta": penta,
        "source_span": source_hits / source_total if source_total else 0.0,
        "target_span": target_hits / target_total if target_total else 0.0,
        "source_scored": source_total,
        "target_scored": target_total,
        "reliability": reliability_of(confidences),
    }


def render_real(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title="Events on real news sentences (CAMEO PentaClass and role spans)")
    table.add_column("measure")
    table.add_column("all sentences", justify="right")
    table.add_column("unread folds 3-4", justify="right")
    every, unread = report["all"], report["unread"]
    rows = [
        ("sentences (class file / role file)", "{class_sentences} / {role_sentences}", False),
        ("sentences with an event", "with_event", True),
        ("main event's PentaClass accuracy", "penta.accuracy", True),
        ("main event's PentaClass macro-F1", "penta.macro_f1", True),
        ("source span agreement", "source_span", True),
        ("target span agreement", "target_span", True),
    ]
    for label, key, number in rows:
        if not number:
            table.add_row(label, key.format(**every), key.format(**unread))
            continue
        table.add_row(label, f"{_get(every, key):.3f}", f"{_get(unread, key):.3f}")
    for label in PENTA_CLASSES:
        table.add_row(
            f"  with an event, class {label} ({PENTA_NAMES[label]})",
            f"{every['with_event_by_class'][label]:.3f}",
            f"{unread['with_event_by_class'][label]:.3f}",
        )
    console.print(table)
    per_class = Table(title="PentaClass of the main event, all sentences")
    for column in ("class", "precision", "recall", "F1", "support"):
        per_class.add_column(column, justify="left" if column == "class" else "right")
    for label, row in every["penta"]["per_type"].items():
        per_class.add_row(
            f"{label} {PENTA_NAMES[label]}",
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    console.print(per_class)
    reliability_table = Table(title="Reliability: the main event's confidence against its PentaClass being right")
    for column in ("confidence", "events", "mean confidence", "share right"):
        reliability_table.add_column(column, justify="right")
    for row in every["reliability"]:
        mean = "-" if row["mean_confidence"] is None else f"{row['mean_confidence']:.2f}"
        right = "-" if row["share_right"] is None else f"{row['share_right']:.2f}"
        reliability_table.add_row(row["bin"], str(row["events"]), mean, right)
    console.print(reliability_table)
    console.print(f"Data: {report['data_source']}. Folds: {report['folds']}.")


def _get(report: dict[str, Any], dotted: str) -> float:
    value: Any = report
    for part in dotted.split("."):
        value = value[part]
    return float(value)
