"""``pipeline evaluate ner``: entity precision, recall and F1 on CoNLL-2003 (CoNLL++ corrected) data.

Two systems are scored on the same parses: spaCy's own entity spans, and the pipeline's canonical entities
(every mention, labelled with its entity's label). Labels are compared on PER, ORG and LOC: spaCy's PERSON is
PER, its GPE, LOC and FAC are LOC, ORG is ORG; MISC (gold) and NORP and the rest (predicted) are not scored.
A prediction counts only when its character span and label both equal a gold entity's (CoNLL exact match).

Sentences are joined into their CoNLL documents (split at ``-DOCSTART-``), tokens separated by spaces and
sentences by newlines, so that resolution across an article's mentions has the same context it has in news.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

import pipeline
from pipeline.evaluate import evaluate_app

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
    """CoNLL-2003 lines (token POS chunk IOB2-tag) grouped into documents at ``-DOCSTART-``."""
    sentences: list[list[tuple[str, str]]] = []
    sentence: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if not parts:
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                continue
            if parts[0] == "-DOCSTART-":
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                if sentences:
                    yield _document(sentences)
                sentences = []
                continue
            sentence.append((parts[0], parts[-1]))
    if sentence:
        sentences.append(sentence)
    if sentences:
        yield _document(sentences)


def _document(sentences: list[list[tuple[str, str]]]) -> ConllDocument:
    pieces: list[str] = []
    gold: set[Span] = set()
    offset = 0
    open_span: tuple[int, int, str] | None = None  # start, end, label of the entity being read

    def close() -> None:
        nonlocal open_span
        if open_span is not None and open_span[2] in SCORED_LABELS:
            gold.add(open_span)
        open_span = None

    for s_index, sentence in enumerate(sentences):
        if s_index:
            pieces.append("\n")
            offset += 1
        for t_index, (token, tag) in enumerate(sentence):
            if t_index:
                pieces.append(" ")
                offset += 1
            start, end = offset, offset + len(token)
            pieces.append(token)
            offset = end
            prefix, _, label = tag.partition("-")
            if prefix == "I" and open_span is not None and open_span[2] == label:
                open_span = (open_span[0], end, label)
            else:
                close()
                if prefix in {"B", "I"}:  # an I- without a matching open entity starts one (IOB1 leniency)
                    open_span = (start, end, label)
        close()
    return ConllDocument(
        text="".join(pieces),
        gold=gold,
        tokens=sum(len(s) for s in sentences),
        sentences=len(sentences),
    )


def spacy_spans(doc: Any) -> set[Span]:
    return {
        (ent.start_char, ent.end_char, SPACY_TO_CONLL[ent.label_]) for ent in doc.ents if ent.label_ in SPACY_TO_CONLL
    }


def pipeline_spans(entities: Iterable[Any], score_demonyms: bool = False) -> set[Span]:
    """Every mention of the canonical entities, with its entity's label.

    A demonym ("Iraqi" in "Iraqi troops") is a mention of its country's entity in the pipeline's output, but it
    is not a location mention in either scheme (spaCy NORP, CoNLL MISC), so it is left unscored unless
    ``score_demonyms`` (then it counts as a LOC prediction, which CoNLL calls a false positive).
    """
    from pipeline.enrich.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    return {
        (mention.start, mention.end, SPACY_TO_CONLL[entity.label])
        for entity in entities
        if entity.label in SPACY_TO_CONLL
        for mention in entity.mentions
        if score_demonyms or entity.label != "GPE" or not _is_demonym(gazetteer, mention.text)
    }


def _is_demonym(gazetteer: Any, text: str) -> bool:
    return gazetteer.demonym(text) is not None and gazetteer.country(text) is None


def evaluate(data: Path, limit: int | None = None) -> dict[str, Any]:
    """Scores of both systems and throughput figures, as a JSON-ready dict."""
    from pipeline.enrich.core import enrich_articles
    from pipeline.enrich.entities import resolve_entities
    from pipeline.enrich.gazetteer import get_gazetteer
    from pipeline.enrich.nlp import load_nlp, model_lineage
    from pipeline.ids import article_id
    from pipeline.records import RawArticle
    from pipeline.settings import get_settings

    documents = list(read_conll(data))[:limit] if limit else list(read_conll(data))
    nlp = load_nlp(get_settings())
    get_gazetteer()  # built once per process; not part of per-document cost

    started = time.perf_counter()
    docs = list(nlp.pipe(d.text for d in documents))
    parse_seconds = time.perf_counter() - started
    started = time.perf_counter()
    resolved = [resolve_entities(doc) for doc in docs]
    resolve_seconds = time.perf_counter() - started

    raw, canonical, with_demonyms = Scores(), Scores(), Scores()
    for document, doc, entities in zip(documents, docs, resolved, strict=True):
        raw.add(document.gold, spacy_spans(doc))
        canonical.add(document.gold, pipeline_spans(entities))
        with_demonyms.add(document.gold, pipeline_spans(entities, score_demonyms=True))

    # The enrichment function end to end (parse, entities, event coding, records), as the worker calls it.
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
    started = time.perf_counter()
    enrich_articles(articles, nlp)
    enrich_seconds = time.perf_counter() - started

    tokens = sum(d.tokens for d in documents)
    model_name, model_version = model_lineage(nlp)
    return {
        "data": str(data),
        "model": f"{model_name} {model_version}",
        "documents": len(documents),
        "sentences": sum(d.sentences for d in documents),
        "tokens": tokens,
        "systems": {
            name: {label: scores.prf(label) for label in SCORED_LABELS} | {"overall": scores.prf()}
            for name, scores in (
                ("spacy", raw),
                ("pipeline", canonical),
                ("pipeline_demonyms_scored", with_demonyms),
            )
        },
        "throughput": {
            "parse_tokens_per_second": tokens / parse_seconds if parse_seconds else 0.0,
            "resolve_ms_per_document": 1000 * resolve_seconds / len(documents) if documents else 0.0,
            "enrich_documents_per_second": len(documents) / enrich_seconds if enrich_seconds else 0.0,
            "enrich_tokens_per_second": tokens / enrich_seconds if enrich_seconds else 0.0,
        },
    }


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"NER on {Path(report['data']).name} ({report['documents']} documents, "
        f"{report['tokens']:,} tokens; {report['model']})"
    )
    table.add_column("label")
    for system in ("spaCy", "pipeline"):
        for metric in ("P", "R", "F1"):
            table.add_column(f"{system} {metric}", justify="right")
    table.add_column("gold", justify="right")
    for label in (*SCORED_LABELS, "overall"):
        row = [label]
        for system in ("spacy", "pipeline"):
            scores = report["systems"][system][label]
            row += [f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}"]
        row.append(str(report["systems"]["spacy"][label]["support"]))
        table.add_row(*row)
    console.print(table)
    strict = report["systems"]["pipeline_demonyms_scored"]
    console.print(
        'Demonym mentions ("Iraqi") belong to their country\'s entity and are not scored; scored as LOC, the '
        f"pipeline's LOC P/R/F1 would be {strict['LOC']['precision']:.3f}/{strict['LOC']['recall']:.3f}/"
        f"{strict['LOC']['f1']:.3f} and overall F1 {strict['overall']['f1']:.3f}."
    )
    speed = report["throughput"]
    console.print(
        f"spaCy parse {speed['parse_tokens_per_second']:,.0f} tokens/s; entity resolution "
        f"{speed['resolve_ms_per_document']:.2f} ms/document; enrich_articles "
        f"{speed['enrich_documents_per_second']:.1f} documents/s ({speed['enrich_tokens_per_second']:,.0f} tokens/s)"
    )


@evaluate_app.command("ner")
def ner_command(
    data: Path = typer.Option(DEFAULT_DATA, "--data", help="CoNLL-2003 format file (token ... IOB2-tag)"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N documents (quick runs)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a table"),
) -> None:
    """NER precision/recall/F1 (PER, ORG, LOC) of raw spaCy and of the pipeline's canonical entities."""
    if not data.exists():
        raise typer.BadParameter(f"{data} not found", param_hint="--data")
    report = evaluate(data, limit)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        render(report, Console())
