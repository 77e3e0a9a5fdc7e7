"""``pipeline train ner``: the CoNLL reader, the DocBin conversion, and a training run on a small slice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy

from pipeline.train.conll import read_documents
from pipeline.train.ner import to_docbin, train
from tests.shared_data import require_shared

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
in IN B-PP O
Brussels NNP B-NP I-LOC

-DOCSTART- -X- -X- O

New NNP B-NP B-LOC
York NNP I-NP I-LOC
Knicks NNP I-NP B-ORG
"""


@pytest.fixture()
def conll_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(CONLL, encoding="utf-8")
    return path


def test_reader_groups_documents_and_reads_iob_either_way(conll_file: Path) -> None:
    documents = list(read_documents(conll_file))
    assert [len(d) for d in documents] == [2, 1]
    first, second = documents[0]
    assert first.entities == [(0, 1, "ORG"), (2, 3, "MISC")]
    assert second.entities == [(0, 2, "PER"), (3, 4, "LOC")]  # an I- after O opens an entity (IOB1)
    assert documents[1][0].entities == [(0, 2, "LOC"), (2, 3, "ORG")]  # B- right after I- of another one


def test_docbin_keeps_words_entities_and_sentences(conll_file: Path) -> None:
    vocab = spacy.blank("en").vocab
    docs = list(to_docbin(conll_file, vocab).get_docs(vocab))
    assert len(docs) == 2
    first = docs[0]
    assert [(e.text, e.label_) for e in first.ents] == [
        ("EU", "ORG"),
        ("German", "MISC"),
        ("Peter Blackburn", "PER"),
        ("Brussels", "LOC"),
    ]
    assert [s.text for s in first.sents] == ["EU rejects German call .", "Peter Blackburn in Brussels"]


DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ner"


def test_training_runs_on_a_small_slice_and_records_provenance(tmp_path: Path) -> None:
    require_shared(DATA / "conllpp_train.txt", "the CoNLL++ training data")
    best = train(
        DATA / "conllpp_train.txt", DATA / "conllpp_dev.txt", tmp_path, max_epochs=1, limit=8, command="test"
    )
    meta = json.loads((best / "meta.json").read_text())
    assert meta["provenance"]["command"] == "test" and meta["provenance"]["seed"] == 0
    assert len(meta["provenance"]["commit"]) == 40 and isinstance(meta["provenance"]["tree_clean"], bool)
    assert {s["file"] for s in meta["sources"]} == {"conllpp_train.txt", "conllpp_dev.txt"}
    nlp = spacy.load(best)
    assert set(nlp.get_pipe("ner").labels) <= {"PER", "ORG", "LOC", "MISC"}
    nlp("Peter Blackburn met officials of the EU in Brussels.")
