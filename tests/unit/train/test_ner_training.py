"""``pipeline train ner``: the CoNLL reader, silver labels, the DocBin conversion, selection by CoNLL F1, and a
training run on a small slice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from pipeline.train.conll import read_documents
from pipeline.train.ner import score_as_conll, to_docbin, train
from pipeline.train.silver import with_silver
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
    docbin, labels = to_docbin(conll_file, vocab)
    docs = list(docbin.get_docs(vocab))
    assert labels == {"ORG": 2, "MISC": 1, "PER": 1, "LOC": 2}
    assert len(docs) == 2
    first = docs[0]
    assert [(e.text, e.label_) for e in first.ents] == [
        ("EU", "ORG"),
        ("German", "MISC"),
        ("Peter Blackburn", "PER"),
        ("Brussels", "LOC"),
    ]
    assert [s.text for s in first.sents] == ["EU rejects German call .", "Peter Blackburn in Brussels"]


def test_silver_labels_fill_in_what_conll_lacks_and_refine_exact_gold_names() -> None:
    # "Kurdish rebels met Turkish envoys at Camp David on Monday , the 2nd meeting since the Gulf War ."
    #  0       1      2   3       4      5  6    7     8  9      10 11  12  13      14    15  16   17  18
    gold = [(0, 1, "MISC"), (3, 4, "MISC"), (6, 8, "LOC"), (16, 18, "MISC")]
    silver = [
        (0, 1, "NORP"),  # exactly a gold MISC: the finer label
        (3, 5, "NORP"),  # overlaps a gold MISC without being it: gold stays, silver goes
        (6, 8, "FAC"),  # exactly a gold LOC: a facility
        (9, 10, "DATE"),  # no gold span there: added
        (12, 13, "ORDINAL"),
        (15, 18, "EVENT"),  # "the Gulf War" against gold "Gulf War": gold stays
        (13, 14, "PERSON"),  # a name CoNLL's annotators did not mark is no name: never added
    ]
    assert with_silver(gold, silver) == [
        (0, 1, "NORP"),
        (3, 4, "MISC"),
        (6, 8, "FAC"),
        (9, 10, "DATE"),
        (12, 13, "ORDINAL"),
        (16, 18, "MISC"),
    ]


def test_silver_never_relabels_a_person_organisation_or_place_as_something_else() -> None:
    gold = [(0, 2, "PER"), (3, 4, "ORG"), (5, 6, "LOC")]
    silver = [(0, 2, "WORK_OF_ART"), (3, 4, "NORP"), (5, 6, "GPE")]
    assert with_silver(gold, silver) == gold


def test_the_docbin_carries_the_silver_labels_of_the_small_model(conll_file: Path) -> None:
    from pipeline.train.ner import source_model_name

    small = spacy.load(source_model_name(), exclude=["senter"])
    vocab = spacy.blank("en").vocab
    docbin, labels = to_docbin(conll_file, vocab, silver_nlp=small)
    first = next(iter(docbin.get_docs(vocab)))
    assert ("German", "NORP") in [(e.text, e.label_) for e in first.ents]  # gold MISC read as NORP
    assert labels["MISC"] == 0 and labels["NORP"] == 1


def _example(text: str, gold: list[tuple[str, str]], predicted: list[tuple[str, str]]) -> Example:
    blank = spacy.blank("en")

    def with_ents(pairs: list[tuple[str, str]]) -> Doc:
        doc = blank(text)
        spans = [doc.char_span(text.index(s), text.index(s) + len(s), label=label) for s, label in pairs]
        doc.ents = [span for span in spans if span is not None]
        return doc

    return Example(with_ents(predicted), with_ents(gold))


def test_selection_scores_the_new_labels_as_conll_would() -> None:
    example = _example(
        "Iraqi troops left Camp David on Monday with Ann Lee .",
        gold=[("Iraqi", "MISC"), ("Camp David", "LOC"), ("Ann Lee", "PER")],
        predicted=[("Iraqi", "NORP"), ("Camp David", "FAC"), ("Monday", "DATE"), ("Ann", "PER")],
    )
    scores = score_as_conll([example])
    # NORP is MISC and FAC is LOC (both right); the DATE is not scored; "Ann" is a wrong PER and "Ann Lee" missed.
    assert scores["ents_per_type"]["MISC"]["f"] == 1.0 and scores["ents_per_type"]["LOC"]["f"] == 1.0
    assert "DATE" not in scores["ents_per_type"]
    assert scores["ents_p"] == 2 / 3 and scores["ents_r"] == 2 / 3


DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ner"


def test_training_runs_on_a_small_slice_and_records_provenance(tmp_path: Path) -> None:
    require_shared(DATA / "conllpp_train.txt", "the CoNLL++ training data")
    best = train(DATA / "conllpp_train.txt", DATA / "conllpp_dev.txt", tmp_path, max_epochs=1, limit=8, command="test")
    meta = json.loads((best / "meta.json").read_text())
    assert meta["provenance"]["command"] == "test" and meta["provenance"]["seed"] == 0
    assert len(meta["provenance"]["commit"]) == 40 and isinstance(meta["provenance"]["tree_clean"], bool)
    assert {s["file"] for s in meta["sources"]} == {"conllpp_train.txt", "conllpp_dev.txt"}
    assert meta["version"] == "0.2.0" and meta["provenance"]["silver"]["on"] == "conllpp_train.txt"
    assert "silver" in meta["description"]
    nlp = spacy.load(best)  # loads with spaCy's own scorer: the selection scorer is the training command's
    assert {"DATE", "NORP", "PER", "ORG", "LOC"} <= set(nlp.get_pipe("ner").labels)
    nlp("Peter Blackburn met officials of the EU in Brussels.")
