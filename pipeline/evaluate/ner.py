"""``pipeline evaluate ner``: entity precision, recall and F1 on CoNLL-2003 (CoNLL++ corrected) data.

Scored the way CoNLL scores: a predicted entity counts only when its character span and its type both equal a
gold entity's, and every mention counts (a name written five times is five entities). Types are PER, ORG and
LOC: spaCy's PERSON is PER, GPE, LOC and FAC are LOC, ORG is ORG; gold MISC and predicted NORP, DATE and the
rest are not scored, so a demonym ("Iraqi", MISC in CoNLL) predicted as a place is a false positive.

Systems scored on one parse of the data: the small OntoNotes model's own entities ("spaCy", unless a one-pass
news model runs instead of it), the project's news model alone ("news model", when loaded; its labels compared
as CoNLL's, ``conll.CONLL_LABEL_OF``: FAC is LOC, NORP and the other names a one-pass model learnt for gold MISC
are MISC, unscored), and the pipeline's canonical entities (every mention of each, with its entity's type).
Sentences are joined into their CoNLL documents (split at ``-DOCSTART-``), tokens separated by spaces and
sentences by newlines, so that resolution across an article's mentions has the context it has in news.

``--speed`` times ``enrich_articles`` (the function the worker calls) on the same documents with and without
the news model, in one run on one machine, by the wall clock and by this process's CPU time (which other
processes on a shared machine barely change).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

import pipeline
from pipeline.evaluate import evaluate_app
from pipeline.evaluate.ner_errors import SpanError, classify, summary
from pipeline.train.conll import CONLL_LABEL_OF, read_documents

SCORED_LABELS = ("PER", "ORG", "LOC")
SPACY_TO_CONLL = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}
DEFAULT_DATA = Path(pipeline.__file__).resolve().parents[1].parent / "shared" / "data" / "ner" / "conllpp_dev.txt"

Span = tuple[int, int, str]  # start, end (character offsets), CoNLL label


@dataclass(slots=True)
class ConllDocument:
    text: str
    gold: set[Span]
    tokens: int
    sentences: int


@dataclass(slots=True)
class Scores:
    true_positives: Counter[str] = field(default_factory=Counter)
    false_positives: Counter[str] = field(default_factory=Counter)
    false_negatives: Counter[str] = field(default_factory=Counter)

    def add(self, gold: set[Span], predicted: set[Span]) -> None:
        for _, _, label in gold & predicted:
            self.true_positives[label] += 1
        for _, _, label in predicted - gold:
            self.false_positives[label] += 1
        for _, _, label in gold - predicted:
            self.false_negatives[label] += 1

    def prf(self, label: str | None = None) -> dict[str, float | int]:
        """Precision, recall, F1 and support of one label, or micro-averaged over the scored labels."""
        labels = (label,) if label else SCORED_LABELS
        tp = sum(self.true_positives[x] for x in labels)
        fp = sum(self.false_positives[x] for x in labels)
        fn = sum(self.false_negatives[x] for x in labels)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def read_conll(path: Path) -> Iterator[ConllDocument]:
    """The file's documents as text (tokens joined by spaces, sentences by newlines) with gold PER/ORG/LOC."""
    for sentences in read_documents(path):
        pieces: list[str] = []
        gold: set[Span] = set()
        offset = 0
        for sentence in sentences:
            if pieces:
                pieces.append("\n")
                offset += 1
            starts: list[int] = []
            for index, word in enumerate(sentence.words):
                if index:
                    pieces.append(" ")
                    offset += 1
                starts.append(offset)
                pieces.append(word)
                offset += len(word)
            for first, end, label in sentence.entities:
                if label in SCORED_LABELS:
                    last_word = sentence.words[end - 1]
                    gold.add((starts[first], starts[end - 1] + len(last_word), label))
        yield ConllDocument(
            text="".join(pieces),
            gold=gold,
            tokens=sum(len(s.words) for s in sentences),
            sentences=len(sentences),
        )


def spacy_spans(spans: Iterable[Any]) -> set[Span]:
    """Scored spans among spaCy entity spans (OntoNotes labels)."""
    return {(ent.start_char, ent.end_char, SPACY_TO_CONLL[ent.label_]) for ent in spans if ent.label_ in SPACY_TO_CONLL}


def news_spans(spans: Iterable[Any]) -> set[Span]:
    """Scored spans among the news model's entity spans, its labels compared as CoNLL's (FAC is LOC)."""
    return {
        (ent.start_char, ent.end_char, CONLL_LABEL_OF[ent.label_])
        for ent in spans
        if CONLL_LABEL_OF.get(ent.label_) in SCORED_LABELS
    }


def pipeline_spans(entities: Iterable[Any]) -> set[Span]:
    """Every mention of the canonical entities, with its entity's type."""
    return {
        (mention.start, mention.end, SPACY_TO_CONLL[entity.label])
        for entity in entities
        if entity.label in SPACY_TO_CONLL
        for mention in entity.mentions
    }


SPEED_ROUNDS = 2
SYSTEMS = (("spacy", "spaCy"), ("news", "news model"), ("pipeline", "pipeline"))


def evaluate(data: Path, limit: int | None = None, speed: bool = False, errors: bool = False) -> dict[str, Any]:
    """Scores of the systems (and, with ``speed``, enrich_articles throughput; with ``errors``, the
    pipeline's wrong spans by category), as a JSON-ready dict."""
    from pipeline.enrich.entities import resolve_entities, with_known_actors
    from pipeline.enrich.entities.gazetteer import get_gazetteer
    from pipeline.enrich.entities.news_ner import NEWS_KEY, ONTONOTES_KEY
    from pipeline.enrich.nlp import load_nlp, model_lineage
    from pipeline.settings import get_settings

    documents = list(read_conll(data))[:limit] if limit else list(read_conll(data))
    nlp = load_nlp(get_settings())
    get_gazetteer()  # built once per process; not part of per-document cost

    started = time.perf_counter()
    docs = list(nlp.pipe(d.text for d in documents))
    parse_seconds = time.perf_counter() - started
    started = time.perf_counter()
    # What the enricher publishes: resolved, then what the actor dictionaries know (CoNLL documents are undated).
    resolved = [with_known_actors(resolve_entities(doc), None) for doc in docs]
    resolve_seconds = time.perf_counter() - started

    has_news = "news_ner" in nlp.pipe_names
    # With a one-pass news model the small model's ner is not run: no "spaCy" system then.
    has_small = not has_news or not getattr(nlp.get_pipe("news_ner"), "one_pass", False)
    systems = {"pipeline"} | ({"news"} if has_news else set()) | ({"spacy"} if has_small else set())
    scores = {name: Scores() for name, _ in SYSTEMS if name in systems}
    wrong_spans: list[SpanError] = []
    for document, doc, entities in zip(documents, docs, resolved, strict=True):
        if has_small:
            scores["spacy"].add(document.gold, spacy_spans(doc.spans[ONTONOTES_KEY] if has_news else doc.ents))
        model = news_spans(doc.spans[NEWS_KEY]) if has_news else None
        if model is not None:
            scores["news"].add(document.gold, model)
        predicted = pipeline_spans(entities)
        scores["pipeline"].add(document.gold, predicted)
        if errors:
            wrong_spans += classify(document.text, document.gold, predicted, model)

    tokens = sum(d.tokens for d in documents)
    model_name, model_version = model_lineage(nlp)
    report: dict[str, Any] = {
        "data": str(data),
        "model": f"{model_name} {model_version}",
        "documents": len(documents),
        "sentences": sum(d.sentences for d in documents),
        "tokens": tokens,
        "systems": {
            name: {label: score.prf(label) for label in SCORED_LABELS} | {"overall": score.prf()}
            for name, score in scores.items()
        },
        "throughput": {
            "parse_tokens_per_second": tokens / parse_seconds if parse_seconds else 0.0,
            "resolve_ms_per_document": 1000 * resolve_seconds / len(documents) if documents else 0.0,
        },
    }
    if speed:
        report["throughput"] |= enrich_speed(nlp, documents)
    if errors:
        report["errors"] = [asdict(e) for e in wrong_spans]
    return report


def enrich_speed(nlp: Any, documents: list[ConllDocument]) -> dict[str, float]:
    """Documents per second of ``enrich_articles`` (language, parse, entities, events, records), as the worker
    calls it, with the loaded pipeline and, when it has the news model, without it (best of alternating
    rounds)."""
    from pipeline.enrich.core import enrich_articles
    from pipeline.ids import article_id
    from pipeline.records import RawArticle

    articles = [
        RawArticle(
            article_id=article_id(f"urn:conll:{i}"),
            url=f"urn:conll:{i}",
            revision=1,
            canonical_url=f"urn:conll:{i}",
            text=d.text,
        )
        for i, d in enumerate(documents)
    ]

    def documents_per_second() -> tuple[float, float]:
        """Documents per wall-clock second and per CPU second of this process."""
        started, cpu_started = time.perf_counter(), time.process_time()
        enrich_articles(articles, nlp)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        return (len(articles) / seconds if seconds else 0.0, len(articles) / cpu_seconds if cpu_seconds else 0.0)

    # Alternating rounds, best of each: on a shared machine, load that comes and goes then hits both alike. CPU
    # time is reported too: other processes' load barely changes it, so it compares the two on a busy machine.
    with_news: list[tuple[float, float]] = []
    without_news: list[tuple[float, float]] = []
    for _ in range(SPEED_ROUNDS):
        with_news.append(documents_per_second())
        if "news_ner" in nlp.pipe_names:
            with nlp.select_pipes(disable=["news_ner"]):
                without_news.append(documents_per_second())
    figures = {
        "enrich_documents_per_second": max(wall for wall, _ in with_news),
        "enrich_documents_per_cpu_second": max(cpu for _, cpu in with_news),
    }
    if without_news:
        figures["enrich_documents_per_second_without_news_model"] = max(wall for wall, _ in without_news)
        figures["enrich_documents_per_cpu_second_without_news_model"] = max(cpu for _, cpu in without_news)
    return figures


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"NER on {Path(report['data']).name} ({report['documents']} documents, "
        f"{report['tokens']:,} tokens; {report['model']}); exact span and type, every mention"
    )
    table.add_column("system")
    table.add_column("label")
    for metric in ("P", "R", "F1", "gold"):
        table.add_column(metric, justify="right")
    for system, title in SYSTEMS:
        if system not in report["systems"]:
            continue
        for label in (*SCORED_LABELS, "overall"):
            scores = report["systems"][system][label]
            table.add_row(
                title if label == SCORED_LABELS[0] else "",
                label,
                f"{scores['precision']:.3f}",
                f"{scores['recall']:.3f}",
                f"{scores['f1']:.3f}",
                str(scores["support"]),
                end_section=label == "overall",
            )
    console.print(table)
    speed = report["throughput"]
    console.print(
        f"spaCy parse {speed['parse_tokens_per_second']:,.0f} tokens/s; entity resolution "
        f"{speed['resolve_ms_per_document']:.2f} ms/document"
    )
    if "enrich_documents_per_second" in speed:
        line = f"enrich_articles {speed['enrich_documents_per_second']:.1f} documents/s"
        without = speed.get("enrich_documents_per_second_without_news_model")
        if without:
            cost = 1 - speed["enrich_documents_per_second"] / without
            line += f"; without the news model {without:.1f} documents/s (the news model costs {cost:.0%})"
        console.print(line)
        cpu_with = speed.get("enrich_documents_per_cpu_second")
        cpu_without = speed.get("enrich_documents_per_cpu_second_without_news_model")
        if cpu_with and cpu_without:
            console.print(
                f"per CPU second of this process: {cpu_with:.1f} documents with the news model, {cpu_without:.1f} "
                f"without (the news model costs {1 - cpu_with / cpu_without:.0%})"
            )
    if "errors" in report:
        render_errors(report["errors"], console)


def render_errors(errors: list[dict[str, str]], console: Console) -> None:
    """Counts of the pipeline's wrong spans by kind, label, category and source, then each one in context."""
    counts = summary(SpanError(**e) for e in errors)
    table = Table(title="pipeline errors (source: model = the news model alone had the same span)")
    for column in ("kind", "label", "category", "source", "count"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for (kind, label, category, source), count in sorted(counts.items(), key=lambda item: (item[0][0], -item[1])):
        table.add_row(kind, label, category, source, str(count))
    console.print(table)
    for e in sorted(errors, key=lambda e: (e["kind"], e["label"], e["category"], e["source"])):
        console.print(
            f"{e['kind']} {e['label']} {e['category']} {e['source']}: {e['text']!r} overlapping={e['overlapping']!r} | "
            f"{e['context']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@evaluate_app.command("ner")
def ner_command(
    data: Path = typer.Option(DEFAULT_DATA, "--data", help="CoNLL-2003 format file (token ... IOB-tag)"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N documents (quick runs)"),
    speed: bool = typer.Option(False, "--speed", help="Also time enrich_articles with and without the news model"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a table"),
    errors: bool = typer.Option(
        False, "--errors", help="Also list the pipeline's false positives and negatives by category, in context"
    ),
) -> None:
    """Strict NER precision/recall/F1 (PER, ORG, LOC) of spaCy, the news model and the pipeline."""
    if not data.exists():
        raise typer.BadParameter(f"{data} not found", param_hint="--data")
    report = evaluate(data, limit, speed, errors)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        render(report, Console())
