"""The scoring rules of ``pipeline evaluate events --real`` on small inputs of our own."""

from __future__ import annotations

from pathlib import Path

from pipeline.evaluate.events_real import agrees, fold_of, penta_of_root, read_class_sentences, read_role_sentences


def test_cameo_roots_fall_into_their_pentaclass() -> None:
    assert [penta_of_root(r) for r in ("01", "02", "03", "05", "06", "08", "09", "13", "14", "20")] == [
        "0", "0", "1", "1", "2", "2", "3", "3", "4", "4",
    ]  # fmt: skip
    assert penta_of_root(None) is None and penta_of_root("x") is None


def test_role_spans_are_read_from_iob_tags(tmp_path: Path) -> None:
    path = tmp_path / "roles.txt"
    path.write_text("Ruthenia B-S\nmet O\nthe O\nMoldavian B-T\nenvoy I-T\n. O\n\nA B-R\nand O\nB B-R\ntalked O\n")
    first, second = read_role_sentences(path)
    assert first.text == "Ruthenia met the Moldavian envoy ."
    assert (first.sources, first.targets, first.reciprocal) == (("Ruthenia",), ("Moldavian envoy",), ())
    assert second.reciprocal == ("A", "B")


def test_class_lines_keep_their_label(tmp_path: Path) -> None:
    path = tmp_path / "class.tsv"
    path.write_text("Ruthenia sent troops to the border.\t4\nnot a labelled line\n")
    (sentence,) = read_class_sentences(path)
    assert (sentence.text, sentence.penta) == ("Ruthenia sent troops to the border.", "4")


def test_a_span_agrees_on_a_shared_content_word() -> None:
    assert agrees("Iraqi troops", ["the Iraqi troops"])
    assert agrees("Nigerian military", ["the Nigerian military 's leadership"])
    assert not agrees("the government", ["their fighters"])  # only stop words and other words
    assert not agrees(None, ["anything"])


def test_folds_are_fixed_by_the_text() -> None:
    assert fold_of("a sentence") == fold_of("a sentence") and 0 <= fold_of("a sentence") < 5
