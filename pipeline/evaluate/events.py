"""``pipeline evaluate events`` and ``pipeline evaluate train-events``: PLOVER event coding on stories.

Data: ``../shared/data/events/polecat_synthetic_stories.csv`` - 4,500 machine-generated news-style stories,
each labelled with one PLOVER type and mode, from ahalterman/NGEC (``setup/train_classifiers/``). The stories
are synthetic (their events are not real); the labels are the type the story was generated to describe.

Split: the stories come in groups generated from one title template (332 templates, ~14 stories each). A
story is in the test split when ``sha256(title template) mod 100 < 30`` - the whole group at once, so no test
story shares a template with a training story, and nothing (lexicon, weights, classifier, its prior weight)
is tuned on the test split. 1,488 of the 4,500 stories (33%) are test.

Main type of a story: the ``main_event_type`` field of the enriched article the pipeline emits
(``events.classifier.emitted_main_type``: the type with the largest share of coded-event confidence, mixed
with the story classifier's probability and the headline's trigger types, weights chosen on the training
split; null, so wrong, for a story without events). Reported alongside: the rules alone (events only), the
classifier alone, the highest-confidence emitted event (``top_confidence_type``), and how often the
labelled type is among the story's coded event types. Throughput is of ``pipeline.enrich.core.enrich_articles``
(parse + entities + events, the pipeline's own code path), in batches like the worker's.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

import pipeline
from pipeline.evaluate import evaluate_app
from pipeline.evaluate.event_gold import DEFAULT_GOLD, evaluate_gold, render_gold

DEFAULT_DATA = (
    Path(pipeline.__file__).resolve().parents[1].parent / "shared" / "data" / "events" / "polecat_synthetic_stories.csv"
)
DATA_SOURCE = "POLECAT synthetic stories (ahalterman/NGEC @ 787a06ba8df0, setup/train_classifiers/), machine-generated"
TEST_PERCENT = 30
BATCH = 32


@dataclass(frozen=True, slots=True)
class Story:
    index: int
    text: str
    title: str  # the title template ("... {country_1} ..."): what the split is by
    label: str
    mode: str
    headline: str = ""  # the headline the story was written under (the template filled in)

    @property
    def split(self) -> str:
        return split_of(self.title)


def split_of(title_template: str) -> str:
    bucket = int(hashlib.sha256(title_template.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket < TEST_PERCENT else "train"


def fold_of(title_template: str, folds: int) -> int:
    """Cross-validation fold inside the training split, also by template (a different hash slice)."""
    return int(hashlib.sha256(title_template.encode("utf-8")).hexdigest()[8:16], 16) % folds


def read_stories(path: Path = DEFAULT_DATA) -> list[Story]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Story(
                i,
                row["text"],
                row["title"],
                row["label"].strip().upper(),
                row["mode"].strip().lower(),
                headline_of(row.get("prompt") or ""),
            )
            for i, row in enumerate(csv.DictReader(fh))
            if row.get("text") and row.get("label")
        ]


def headline_of(prompt: str) -> str:
    """The story's headline: the first line of the prompt it was generated from ("<headline>\n\n(Reuters) --")."""
    return prompt.strip().split("\n", 1)[0].strip()


def classification_scores(
    gold: Sequence[str], predicted: Sequence[str | None], labels: Sequence[str]
) -> dict[str, Any]:
    per_type: dict[str, dict[str, float | int]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_type[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    present = [label for label in labels if per_type[label]["support"]]
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold) if gold else 0.0
    macro = sum(float(per_type[label]["f1"]) for label in present) / len(present) if present else 0.0
    return {"accuracy": accuracy, "macro_f1": macro, "per_type": per_type}


def code_stories(stories: Sequence[Story], batch: int = BATCH) -> tuple[list[list[Any]], list[str | None], float]:
    """Every story through the pipeline's enrichment function (``code_articles``)."""
    from pipeline.records import RawArticle

    articles = [
        RawArticle(
            article_id=f"story_{s.index}",
            revision=1,
            url=f"urn:story:{s.index}",
            canonical_url=f"urn:story:{s.index}",
            title=s.headline,
            text=s.text,
        )
        for s in stories
    ]
    return code_articles(articles, batch)


def code_articles(articles: Sequence[Any], batch: int = BATCH) -> tuple[list[list[Any]], list[str | None], float]:
    """Articles through ``enrich_articles`` in the worker's batches; returns (events, the enriched articles'
    ``main_event_type``, seconds). An article that fails enrichment has no events and no main type."""
    from pipeline.enrich.core import EnrichmentFailure, enrich_articles
    from pipeline.enrich.nlp import load_nlp
    from pipeline.settings import Settings

    nlp = load_nlp(Settings())
    coded: list[list[Any]] = []
    main_types: list[str | None] = []
    started = time.perf_counter()
    for start in range(0, len(articles), batch):
        for result in enrich_articles(articles[start : start + batch], nlp):
            if isinstance(result, EnrichmentFailure):
                coded.append([])
                main_types.append(None)
            else:
                coded.append(result.events)
                main_types.append(result.article.main_event_type)
    return coded, main_types, time.perf_counter() - started


def story_headlines(stories: Sequence[Story]) -> list[dict[str, float]]:
    """The trigger types of every story's headline (``events.headline.headline_types``)."""
    from pipeline.enrich.events.headline import headlines_types
    from pipeline.enrich.nlp import load_nlp
    from pipeline.settings import Settings

    return headlines_types(load_nlp(Settings()), [s.headline for s in stories])


def evaluate(
    data: Path = DEFAULT_DATA, limit: int | None = None, split: str = "test", use_classifier: bool = True
) -> dict[str, Any]:
    from contextlib import nullcontext

    from pipeline.enrich.events.classifier import (
        classifier_disabled,
        default_headline_weight,
        default_position_decay,
        default_prior_weight,
        load_classifier,
        main_event_type,
    )
    from pipeline.enrich.events.taxonomy import PLOVER_TYPES, TAXONOMY_VERSION

    stories = [s for s in read_stories(data) if split == "all" or s.split == split]
    stories = stories[:limit] if limit else stories
    classifier = load_classifier() if use_classifier else None
    with nullcontext() if classifier is not None else classifier_disabled():
        coded, emitted, seconds = code_stories(stories)
    gold = [s.label for s in stories]
    priors = [classifier.predict_proba(s.text, s.headline) if classifier is not None else None for s in stories]
    weight = default_prior_weight() if classifier is not None else 0.0
    decay = default_position_decay()
    headline_weight = default_headline_weight() if classifier is not None else 0.0
    headlines = story_headlines(stories)
    rules_only = [main_event_type(ev, position_decay=decay) for ev in coded]
    top_confidence = [top_confidence_type(ev) for ev in coded]
    report: dict[str, Any] = {
        "data": str(data),
        "data_source": DATA_SOURCE,
        "split": split,
        "split_rule": f"sha256(title template) mod 100 < {TEST_PERCENT} is test",
        "stories": len(stories),
        "taxonomy_version": TAXONOMY_VERSION,
        "classifier": (classifier.meta if classifier is not None else None),
        "prior_weight": weight,
        "position_decay": decay,
        "headline_weight": headline_weight,
        "main_type": classification_scores(gold, emitted, PLOVER_TYPES),
        "main_type_rules_only": _summary(classification_scores(gold, rules_only, PLOVER_TYPES)),
        "main_type_top_confidence": _summary(classification_scores(gold, top_confidence, PLOVER_TYPES)),
        "labelled_type_among_events": (
            sum(1 for s, ev in zip(stories, coded, strict=True) if s.label in {e.event_type for e in ev}) / len(stories)
            if stories
            else 0.0
        ),
        "labelled_type_in_headline": (
            sum(1 for s, h in zip(stories, headlines, strict=True) if s.label in h) / len(stories) if stories else 0.0
        ),
        "stories_without_events": sum(1 for ev in coded if not ev) / len(stories) if stories else 0.0,
        "events_per_story": sum(len(ev) for ev in coded) / len(stories) if stories else 0.0,
        "throughput_docs_per_s": len(stories) / seconds if seconds else 0.0,
        "seconds": seconds,
    }
    if classifier is not None:
        alone = [max(p, key=lambda t: p[t]) if p else None for p in priors]
        report["main_type_classifier_only"] = _summary(classification_scores(gold, alone, PLOVER_TYPES))
    return report


def top_confidence_type(events: Sequence[Any]) -> str | None:
    """Type of the highest-confidence event, the first emitted on ties (``max`` keeps the first); None without
    events."""
    return max(events, key=lambda e: e.confidence).event_type if events else None


def _summary(scores: dict[str, Any]) -> dict[str, float]:
    return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"PLOVER main event type - {report['split']} split, {report['stories']} stories")
    for column in ("type", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for label, row in report["main_type"]["per_type"].items():
        table.add_row(label, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    console.print(table)
    summary = Table(title="Summary")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    main = report["main_type"]
    summary.add_row("main type accuracy (emitted main_event_type)", f"{main['accuracy']:.3f}")
    summary.add_row("main type macro-F1 (emitted main_event_type)", f"{main['macro_f1']:.3f}")
    rules = report["main_type_rules_only"]
    summary.add_row("main type accuracy / macro-F1, events only", f"{rules['accuracy']:.3f} / {rules['macro_f1']:.3f}")
    top = report["main_type_top_confidence"]
    summary.add_row(
        "main type accuracy / macro-F1, highest-confidence event (as emitted)",
        f"{top['accuracy']:.3f} / {top['macro_f1']:.3f}",
    )
    if "main_type_classifier_only" in report:
        alone = report["main_type_classifier_only"]
        summary.add_row(
            "main type accuracy / macro-F1, classifier only", f"{alone['accuracy']:.3f} / {alone['macro_f1']:.3f}"
        )
    summary.add_row("labelled type among the story's events", f"{report['labelled_type_among_events']:.3f}")
    summary.add_row("labelled type among the headline's trigger types", f"{report['labelled_type_in_headline']:.3f}")
    summary.add_row("stories with no event", f"{report['stories_without_events']:.3f}")
    summary.add_row("events per story", f"{report['events_per_story']:.2f}")
    summary.add_row("throughput, enrich_articles (docs/s)", f"{report['throughput_docs_per_s']:.1f}")
    console.print(summary)
    console.print(f"Data: {report['data_source']}. Taxonomy {report['taxonomy_version']}.")


@evaluate_app.command("events")
def events_command(
    data: Path = typer.Option(DEFAULT_DATA, "--data", help="POLECAT synthetic stories CSV (ahalterman/NGEC)"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N stories of the split"),
    split: str = typer.Option("test", "--split", help="test (held out), train, or all"),
    no_classifier: bool = typer.Option(False, "--no-classifier", help="Rules only: ignore the story classifier"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables"),
    gold: Path = typer.Option(DEFAULT_GOLD, "--gold", help="Hand-coded gold events (tests/gold/events.yaml)"),
    gold_only: bool = typer.Option(False, "--gold-only", help="Only the gold file (seconds, not minutes)"),
    no_gold: bool = typer.Option(False, "--no-gold", help="Only the synthetic stories"),
    show_errors: bool = typer.Option(False, "--show-errors", help="List wrong and missed gold events"),
    real: bool = typer.Option(
        False, "--real", help="Only real news sentences (../shared/data/events/cameo-sentences): the measure"
    ),
) -> None:
    """Precision / recall of coded events on the hand-coded gold file, with country, place and date agreement
    and a reliability table; main-type accuracy / macro-F1 on the held-out synthetic stories. With --real: real
    news sentences, the share with an event, the PentaClass of the main event and role span agreement."""
    if real:
        from pipeline.evaluate.events_real import REAL_DIR, evaluate_real, render_real

        if not REAL_DIR.exists():
            raise typer.BadParameter(f"{REAL_DIR} not found (the development data lives in ../shared/data)")
        real_report = evaluate_real(REAL_DIR, limit)
        if as_json:
            typer.echo(json.dumps(real_report, indent=2))
        else:
            render_real(real_report, Console())
        return
    report: dict[str, Any] = {}
    if not no_gold:
        if not gold.exists():
            raise typer.BadParameter(f"{gold} not found (the gold file lives in tests/gold of a source checkout)")
        report["gold"] = evaluate_gold(gold)
    if not gold_only:
        if not data.exists():
            raise typer.BadParameter(f"{data} not found (the development data lives in ../shared/data)")
        report["synthetic"] = evaluate(data, limit, split, use_classifier=not no_classifier)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    console = Console()
    if "gold" in report:
        render_gold(report["gold"], console, show_errors)
    if "synthetic" in report:
        render(report["synthetic"], console)


@evaluate_app.command("calibrate-events")
def calibrate_events_command(
    gold: Path = typer.Option(DEFAULT_GOLD, "--gold", help="Hand-coded gold events (tests/gold/events.yaml)"),
) -> None:
    """Fit the confidence calibration (Platt scaling) on the gold file; writes pipeline/data/event_calibration.json."""
    from pipeline.evaluate.event_gold import calibrate

    if not gold.exists():
        raise typer.BadParameter(f"{gold} not found (the gold file lives in tests/gold of a source checkout)")
    typer.echo(json.dumps(calibrate(gold), indent=2))


C_GRID = (0.01, 0.03, 0.1, 0.3)  # the SVM's regularisation, cross-validated by train-events
HEADLINE_WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)  # the headline's trigger types in the main type
SCALE_GRID = (1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 50.0, 80.0)  # softmax scale of its scores


@evaluate_app.command("train-events")
def train_events_command(
    data: Path = typer.Option(DEFAULT_DATA, "--data", help="POLECAT synthetic stories CSV (ahalterman/NGEC)"),
    output: Path | None = typer.Option(None, "--output", help="Model file (default: pipeline/data/...)"),
    folds: int = typer.Option(3, "--folds", min=2, help="Cross-validation folds inside the training split"),
    c: list[float] = typer.Option(
        list(C_GRID), "--c", help="SVM C values to cross-validate (smaller: stronger regularisation)"
    ),
    tune_stories: int | None = typer.Option(
        None, "--tune-stories", min=100, help="Code only every k-th training story (about N) to choose the mix"
    ),
) -> None:
    """Train the story classifier on the training split only and choose its weight in the main type."""
    from pipeline.enrich.events.classifier import MODEL_PATH, save_classifier

    report = train(data, folds, tuple(c), tune_stories)
    model = report.pop("model")
    save_classifier(model, output or MODEL_PATH)
    typer.echo(json.dumps(report, indent=2))


def train(
    data: Path, folds: int = 3, c_grid: tuple[float, ...] = C_GRID, tune_stories: int | None = None
) -> dict[str, Any]:
    """Cross-validate (by template, inside the training split) the SVM's regularisation, the softmax scale of
    its scores (out-of-fold log-loss) and the classifier's weight against the coded events, then fit on the
    whole training split. Deterministic."""
    import numpy as np

    from pipeline.enrich.events.classifier import classifier_disabled, main_event_type, softmax, train_classifier
    from pipeline.enrich.events.taxonomy import PLOVER_TYPES

    stories = [s for s in read_stories(data) if s.split == "train"]
    gold = [s.label for s in stories]
    gold_index = np.asarray([PLOVER_TYPES.index(label) for label in gold])
    fold_ids = [fold_of(s.title, folds) for s in stories]
    out_of_fold: dict[float, np.ndarray] = {}
    cv: dict[str, float] = {}
    for c in c_grid:
        scores = np.zeros((len(stories), len(PLOVER_TYPES)))
        for fold in range(folds):
            fit = [i for i, f in enumerate(fold_ids) if f != fold]
            model = train_classifier(
                [stories[i].text for i in fit],
                [gold[i] for i in fit],
                PLOVER_TYPES,
                c=c,
                titles=[stories[i].headline for i in fit],
            )
            for i, f in enumerate(fold_ids):
                if f == fold:
                    scores[i] = model.decision(stories[i].text, stories[i].headline)
        out_of_fold[c] = scores
        predicted = [PLOVER_TYPES[k] for k in scores.argmax(axis=1)]
        cv[f"c={c:g}"] = classification_scores(gold, predicted, PLOVER_TYPES)["macro_f1"]
    best_c = max(out_of_fold, key=lambda c: cv[f"c={c:g}"])
    log_loss = {
        scale: float(-np.log(softmax(scale * out_of_fold[best_c])[np.arange(len(stories)), gold_index] + 1e-12).mean())
        for scale in SCALE_GRID
    }
    best_scale = min(log_loss, key=lambda scale: log_loss[scale])
    oof_probs = softmax(best_scale * out_of_fold[best_c])
    # The rules' events of (every k-th of) the training stories, to choose how to mix them with the prior.
    every = max(1, len(stories) // tune_stories) if tune_stories else 1
    tune = list(range(0, len(stories), every))
    with classifier_disabled():
        coded, _, _ = code_stories([stories[i] for i in tune])
    tune_gold = [gold[i] for i in tune]
    tune_prior = [dict(zip(PLOVER_TYPES, (float(p) for p in oof_probs[i]), strict=True)) for i in tune]
    tune_headlines = story_headlines([stories[i] for i in tune])
    weights: dict[str, float] = {}
    for decay in (1.0, 0.5, 0.25):
        for step in range(11):
            weight = step / 10
            for headline_weight in HEADLINE_WEIGHT_GRID:
                predicted_main = [
                    main_event_type(ev, p, weight, decay, h, headline_weight)
                    for ev, p, h in zip(coded, tune_prior, tune_headlines, strict=True)
                ]
                weights[f"decay={decay:g} weight={weight:.1f} headline={headline_weight:g}"] = classification_scores(
                    tune_gold, predicted_main, PLOVER_TYPES
                )["macro_f1"]
    best = max(weights, key=lambda key: weights[key])
    best_decay, best_weight, best_headline = (float(part.split("=")[1]) for part in best.split())
    meta = {
        "trained_on": DATA_SOURCE,
        "split": f"train: sha256(title template) mod 100 >= {TEST_PERCENT}",
        "stories": len(stories),
        "model": "TfidfVectorizer(sublinear_tf, min_df=2) + LinearSVC(class_weight=balanced), softmax-scaled",
        "c": best_c,
        "softmax_scale": best_scale,
        "cv_classifier_macro_f1": cv[f"c={best_c:g}"],
        "prior_weight": best_weight,
        "position_decay": best_decay,
        "headline_weight": best_headline,
        "cv_macro_f1": weights[best],
        "tuned_on_stories": len(tune),
        "command": "pipeline evaluate train-events"
        + "".join(f" --c {c:g}" for c in c_grid if c_grid != C_GRID)
        + (f" --tune-stories {tune_stories}" if tune_stories else ""),
    }
    model = train_classifier(
        [s.text for s in stories],
        gold,
        PLOVER_TYPES,
        c=best_c,
        scale=best_scale,
        meta=meta,
        titles=[s.headline for s in stories],
    )
    return {
        "model": model,
        "cv_classifier_macro_f1_by_c": cv,
        "cv_log_loss_by_softmax_scale": log_loss,
        "cv_macro_f1_by_decay_prior_and_headline_weight": weights,
        "meta": meta,
    }
