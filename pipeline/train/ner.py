"""``pipeline train ner``: the project's news NER (PER, ORG, LOC, MISC), trained with spaCy on CoNLL++.

The CoNLL files become spaCy DocBins (documents cut into chunks of a few sentences, the way ``spacy convert``
does), ``ner.cfg`` is trained with the seed and source model given, the best model on dev (spaCy's own
selection, by entity F1) is kept, and its meta records where it came from: data files with their checksums, the
command, the git commit when training started and whether the tree was clean then (``tree_clean``).
``--install`` copies it to the package, where enrichment loads it by the ``PIPELINE_NEWS_NER_MODEL`` setting.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

import pipeline
from pipeline.train.conll import ConllSentence, read_documents

CONFIG = Path(__file__).with_name("ner.cfg")
DATA_DIR = Path(pipeline.__file__).resolve().parents[1].parent / "shared" / "data" / "ner"
SHIPPED_MODEL = Path(pipeline.__file__).resolve().parent / "models" / "en_news_ner"
SENTENCES_PER_DOC = 10

train_app = typer.Typer(help="Train the project's models on the development data.", no_args_is_help=True)


def to_docbin(path: Path, vocab: Any, limit: int | None = None) -> Any:
    """CoNLL documents as a DocBin of chunks of ``SENTENCES_PER_DOC`` sentences (the first ``limit`` chunks)."""
    from spacy.tokens import Doc, DocBin, Span

    docbin = DocBin(store_user_data=False)
    chunks = 0
    for document in read_documents(path):
        for first in range(0, len(document), SENTENCES_PER_DOC):
            if limit is not None and chunks >= limit:
                return docbin
            docbin.add(_chunk_doc(document[first : first + SENTENCES_PER_DOC], vocab, Doc, Span))
            chunks += 1
    return docbin


def _chunk_doc(sentences: list[ConllSentence], vocab: Any, doc_type: Any, span_type: Any) -> Any:
    words: list[str] = []
    sent_starts: list[bool] = []
    token_spans: list[tuple[int, int, str]] = []
    for sentence in sentences:
        offset = len(words)
        words += sentence.words
        sent_starts += [True] + [False] * (len(sentence.words) - 1)
        token_spans += [(offset + start, offset + end, label) for start, end, label in sentence.entities]
    doc = doc_type(vocab, words=words, sent_starts=sent_starts)
    doc.ents = [span_type(doc, start, end, label=label) for start, end, label in token_spans]
    return doc


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
) -> Path:
    """Train ``config`` and return the directory of the best model (its meta carrying the provenance)."""
    import spacy
    from spacy.cli.train import train as spacy_train

    # The tree is read now, before training: commits made while it runs (it takes a while) are not its source.
    source = {"commit": _git_commit(), "tree_clean": _git_tree_clean()}
    output.mkdir(parents=True, exist_ok=True)
    vocab = spacy.blank("en").vocab
    with tempfile.TemporaryDirectory(prefix="ner-corpus-") as corpus_dir:
        corpus = Path(corpus_dir)
        to_docbin(train_path, vocab, limit).to_disk(corpus / "train.spacy")
        to_docbin(dev_path, vocab, limit).to_disk(corpus / "dev.spacy")
        overrides: dict[str, Any] = {
            "paths.train": str(corpus / "train.spacy"),
            "paths.dev": str(corpus / "dev.spacy"),
            "paths.source_model": source_model_name(),
            "system.seed": seed,
        }
        if max_epochs is not None:
            overrides["training.max_epochs"] = max_epochs
        shutil.copy(config, output / "config.cfg")
        spacy_train(config, output, use_gpu=-1, overrides=overrides)
    best = output / "model-best"
    _write_provenance(best, train_path, dev_path, seed, command or " ".join(["pipeline", *sys.argv[1:]]), source)
    return best


def _write_provenance(
    model_dir: Path, train_path: Path, dev_path: Path, seed: int, command: str, source: dict[str, Any]
) -> None:
    import spacy

    nlp = spacy.load(model_dir)
    nlp.meta.update(
        {
            "name": "news_ner",
            "version": pipeline.__version__,
            "description": "PER/ORG/LOC/MISC news NER trained by `pipeline train ner` (CoNLL++ labels)",
            "sources": [
                {"name": "CoNLL++ (corrected CoNLL-2003)", "file": p.name, "sha256": _sha256(p)}
                for p in (train_path, dev_path)
            ],
            "provenance": {"command": command, **source, "seed": seed, "selected_on": dev_path.name},
        }
    )
    nlp.to_disk(model_dir)


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
    install: bool = typer.Option(
        False, "--install", help="Copy the selected model into the package (pipeline/models/en_news_ner)"
    ),
) -> None:
    """Train the news NER on CoNLL++ and select it on dev; the best model lands in OUTPUT/model-best."""
    console = Console()
    for option, path in (("--train", train_path), ("--dev", dev_path)):
        if not path.exists():
            raise typer.BadParameter(f"{path} not found", param_hint=option)
    if not config.exists():
        raise typer.BadParameter(f"{config} not found", param_hint="--config")
    best = train(train_path, dev_path, output, seed=seed, max_epochs=max_epochs, limit=limit, config=config)
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
