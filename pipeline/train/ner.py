"""``pipeline train ner``: the project's news NER, the enricher's one entity reader, trained with spaCy on
CoNLL++ gold (PER, ORG, LOC, MISC) plus silver labels for what CoNLL lacks (NORP, FAC, DATE, numbers, ...).

The CoNLL files become spaCy DocBins (documents cut into chunks of a few sentences, the way ``spacy convert``
does); each training chunk also gets the small OntoNotes model's entities of the labels CoNLL lacks
(``silver.with_silver``; dev stays gold). ``ner.cfg`` is trained with the seed and source model given, the
best model on dev by CoNLL F1 (the model's labels compared as CoNLL's: NORP as MISC, FAC as LOC; the others
unscored) is kept, and its meta records where it came from: data files with their checksums, the silver
labeller and what it added, the command, the git commit when training started and whether the tree was clean
then (``tree_clean``). ``--install`` copies it to the package, where enrichment loads it by the
``PIPELINE_NEWS_NER_MODEL`` setting.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

import pipeline
from pipeline.train.conll import CONLL_LABEL_OF, ConllSentence, TokenSpan, read_documents
from pipeline.train.silver import SILVER_LABELS, with_silver

CONFIG = Path(__file__).with_name("ner.cfg")
DATA_DIR = Path(pipeline.__file__).resolve().parents[1].parent / "shared" / "data" / "ner"
SHIPPED_MODEL = Path(pipeline.__file__).resolve().parent / "models" / "en_news_ner"
SENTENCES_PER_DOC = 10
# The shipped model's version (its meta and lineage): 0.1.0 read CoNLL labels only, 0.2.0 the silver ones too.
MODEL_VERSION = "0.2.0"
CONLL_SCORER = "pipeline.conll_ner_scorer.v1"
SPACY_SCORER = "spacy.ner_scorer.v1"

train_app = typer.Typer(help="Train the project's models on the development data.", no_args_is_help=True)


def to_docbin(path: Path, vocab: Any, limit: int | None = None, silver_nlp: Any = None) -> tuple[Any, Counter[str]]:
    """CoNLL documents as a DocBin of chunks of ``SENTENCES_PER_DOC`` sentences (the first ``limit`` chunks),
    with ``silver_nlp``'s entities added where they belong (``silver.with_silver``); and the count of each
    label in it."""
    from spacy.tokens import DocBin

    docbin = DocBin(store_user_data=False)
    labels: Counter[str] = Counter()
    chunks = list(_chunks(path, limit))
    words = [[word for sentence in chunk for word in sentence.words] for chunk in chunks]
    silver = silver_spans(silver_nlp, words) if silver_nlp is not None else ([] for _ in chunks)
    for chunk, chunk_silver in zip(chunks, silver, strict=True):
        doc = _chunk_doc(chunk, vocab, chunk_silver if silver_nlp is not None else None)
        labels.update(ent.label_ for ent in doc.ents)
        docbin.add(doc)
    return docbin, labels


def _chunks(path: Path, limit: int | None) -> Iterator[list[ConllSentence]]:
    count = 0
    for document in read_documents(path):
        for first in range(0, len(document), SENTENCES_PER_DOC):
            if limit is not None and count >= limit:
                return
            yield document[first : first + SENTENCES_PER_DOC]
            count += 1


def silver_spans(silver_nlp: Any, word_lists: Iterable[list[str]]) -> Iterator[list[TokenSpan]]:
    """The entities ``silver_nlp``'s ``ner`` reads in each list of words (CoNLL's tokens kept as they are)."""
    from spacy.tokens import Doc

    with silver_nlp.select_pipes(enable=["ner"]):  # the small model's ner has a tok2vec of its own
        docs = (Doc(silver_nlp.vocab, words=words) for words in word_lists)
        for doc in silver_nlp.pipe(docs, batch_size=64):
            yield [(ent.start, ent.end, ent.label_) for ent in doc.ents]


def _chunk_doc(sentences: list[ConllSentence], vocab: Any, silver: list[TokenSpan] | None) -> Any:
    from spacy.tokens import Doc, Span

    words: list[str] = []
    sent_starts: list[bool | int | None] = []
    token_spans: list[TokenSpan] = []
    for sentence in sentences:
        offset = len(words)
        words += sentence.words
        sent_starts += [True] + [False] * (len(sentence.words) - 1)
        token_spans += [(offset + start, offset + end, label) for start, end, label in sentence.entities]
    if silver is not None:
        token_spans = with_silver(token_spans, silver)
    doc = Doc(vocab, words=words, sent_starts=sent_starts)
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in token_spans]
    return doc


def score_as_conll(examples: Iterable[Any], **_: Any) -> dict[str, Any]:
    """Entity precision, recall and F1 with the model's labels compared as CoNLL's (``CONLL_LABEL_OF``: NORP
    as MISC, FAC as LOC; DATE, CARDINAL and the rest unscored), by character span: what selects the model on
    CoNLL's dev, whose gold has only CoNLL's labels (spaCy's own scorer would count every DATE it finds there
    as a false positive)."""
    from spacy.scorer import PRFScore

    per_label: dict[str, PRFScore] = {}
    for example in examples:
        gold = _conll_spans(example.reference.ents)
        predicted = _conll_spans(example.predicted.ents)
        for span in gold | predicted:
            score = per_label.setdefault(span[2], PRFScore())
            if span in gold and span in predicted:
                score.tp += 1
            elif span in gold:
                score.fn += 1
            else:
                score.fp += 1
    total = PRFScore()
    for score in per_label.values():
        total += score
    return {
        "ents_p": total.precision,
        "ents_r": total.recall,
        "ents_f": total.fscore,
        "ents_per_type": {label: score.to_dict() for label, score in sorted(per_label.items())},
    }


def _conll_spans(ents: Iterable[Any]) -> set[tuple[int, int, str]]:
    return {(e.start_char, e.end_char, CONLL_LABEL_OF[e.label_]) for e in ents if e.label_ in CONLL_LABEL_OF}


def _register_conll_scorer() -> None:
    import spacy

    if CONLL_SCORER not in spacy.registry.scorers:
        spacy.registry.scorers.register(CONLL_SCORER, func=lambda: score_as_conll)


def source_model_name() -> str:
    """The small English model as installed: the official package, else its re-packaged copy."""
    from pipeline.enrich.nlp import DEFAULT_MODEL, REPACKAGED_DEFAULT_MODEL, spacy_package_installed

    return DEFAULT_MODEL if spacy_package_installed(DEFAULT_MODEL) else REPACKAGED_DEFAULT_MODEL


def train(
    train_path: Path,
    dev_path: Path,
    output: Path,
    *,
    seed: int = 0,
    max_epochs: int | None = None,
    limit: int | None = None,
    config: Path = CONFIG,
    command: str = "",
    silver: bool = True,
) -> Path:
    """Train ``config`` and return the directory of the best model (its meta carrying the provenance)."""
    import spacy
    from spacy.cli.train import train as spacy_train

    # The tree is read now, before training: commits made while it runs (it takes a while) are not its source.
    source = {"commit": _git_commit(), "tree_clean": _git_tree_clean()}
    output.mkdir(parents=True, exist_ok=True)
    vocab = spacy.blank("en").vocab
    source_model = source_model_name()
    silver_nlp = spacy.load(source_model, exclude=["senter"]) if silver else None
    _register_conll_scorer()
    with tempfile.TemporaryDirectory(prefix="ner-corpus-") as corpus_dir:
        corpus = Path(corpus_dir)
        train_docs, train_labels = to_docbin(train_path, vocab, limit, silver_nlp)
        train_docs.to_disk(corpus / "train.spacy")
        to_docbin(dev_path, vocab, limit)[0].to_disk(corpus / "dev.spacy")
        overrides: dict[str, Any] = {
            "paths.train": str(corpus / "train.spacy"),
            "paths.dev": str(corpus / "dev.spacy"),
            "paths.source_model": source_model,
            "system.seed": seed,
        }
        if max_epochs is not None:
            overrides["training.max_epochs"] = max_epochs
        shutil.copy(config, output / "config.cfg")
        spacy_train(config, output, use_gpu=-1, overrides=overrides)
    best = output / "model-best"
    silver_source = None
    if silver_nlp is not None:
        silver_source = {
            "model": f"{silver_nlp.meta.get('lang')}_{silver_nlp.meta.get('name')} {silver_nlp.meta.get('version')}",
            "labels": sorted(SILVER_LABELS),
            "on": train_path.name,
            "entities_by_label": dict(sorted(train_labels.items())),
        }
    command = command or " ".join(["pipeline", *sys.argv[1:]])
    _write_provenance(best, train_path, dev_path, seed, command, source, silver_source)
    return best


def _write_provenance(
    model_dir: Path,
    train_path: Path,
    dev_path: Path,
    seed: int,
    command: str,
    source: dict[str, Any],
    silver: dict[str, Any] | None,
) -> None:
    import spacy

    nlp = spacy.load(model_dir)
    labels = "/".join(nlp.get_pipe("ner").labels)  # type: ignore[attr-defined]
    if silver is None:
        description = f"{labels} news NER trained by `pipeline train ner` on CoNLL++ gold labels"
    else:
        description = (
            f"{labels} news NER trained by `pipeline train ner`: CoNLL++ gold PER/ORG/LOC/MISC, and on the "
            f"training split silver labels from {silver['model']} for what CoNLL lacks (a gold MISC or LOC it "
            "reads exactly as NORP/EVENT/WORK_OF_ART/LAW/PRODUCT or FAC takes that label; others where no gold "
            "span is); selected on CoNLL++ dev by CoNLL F1 (NORP etc. as MISC, FAC as LOC)"
        )
    nlp.meta.update(
        {
            "name": "news_ner",
            "version": MODEL_VERSION,
            "description": description,
            "sources": [
                {"name": "CoNLL++ (corrected CoNLL-2003)", "file": p.name, "sha256": _sha256(p)}
                for p in (train_path, dev_path)
            ],
            "provenance": {"command": command, **source, "seed": seed, "selected_on": dev_path.name}
            | ({"silver": silver} if silver is not None else {}),
        }
    )
    nlp.to_disk(model_dir)
    # The selection scorer is registered by the training command only; the model loads anywhere with spaCy's.
    config_file = model_dir / "config.cfg"
    config_file.write_text(config_file.read_text().replace(CONLL_SCORER, SPACY_SCORER))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git_tree_clean() -> bool | None:
    """Whether the working tree has no uncommitted changes to tracked files (None outside git)."""
    try:
        found = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return not found.stdout.strip()


def _git_commit() -> str:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip()


@train_app.command("ner")
def ner_command(
    train_path: Path = typer.Option(DATA_DIR / "conllpp_train.txt", "--train", help="CoNLL-2003 training file"),
    dev_path: Path = typer.Option(DATA_DIR / "conllpp_dev.txt", "--dev", help="CoNLL-2003 file to select on"),
    output: Path = typer.Option(Path("training/news_ner"), "--output", help="Training output directory"),
    seed: int = typer.Option(0, "--seed", help="Random seed (spaCy's system.seed)"),
    max_epochs: int | None = typer.Option(None, "--max-epochs", min=1, help="Override the config's max_epochs"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N chunks of each file (smoke)"),
    config: Path = typer.Option(CONFIG, "--config", help="spaCy training config"),
    silver: bool = typer.Option(
        True, "--silver/--no-silver", help="Add the small model's labels CoNLL lacks (NORP, DATE, ...) to train"
    ),
    install: bool = typer.Option(
        False, "--install", help="Copy the selected model into the package (pipeline/models/en_news_ner)"
    ),
) -> None:
    """Train the news NER on CoNLL++ (with silver labels for what CoNLL lacks) and select it on dev; the best
    model lands in OUTPUT/model-best."""
    console = Console()
    for option, path in (("--train", train_path), ("--dev", dev_path)):
        if not path.exists():
            raise typer.BadParameter(f"{path} not found", param_hint=option)
    if not config.exists():
        raise typer.BadParameter(f"{config} not found", param_hint="--config")
    best = train(
        train_path, dev_path, output, seed=seed, max_epochs=max_epochs, limit=limit, config=config, silver=silver
    )
    console.print(f"Selected model: {best}")
    if install:
        if SHIPPED_MODEL.exists():
            shutil.rmtree(SHIPPED_MODEL)
        shutil.copytree(best, SHIPPED_MODEL)
        console.print(f"Installed as {SHIPPED_MODEL}")


def register(app: typer.Typer) -> None:
    from pipeline.train.dictionaries import dictionaries_command

    train_app.command("dictionaries")(dictionaries_command)
    app.add_typer(train_app, name="train")
