"""The attribute look-up: what the model's attribute ruler says, token for token, without its Matcher."""

from __future__ import annotations

from typing import Any

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.enrich.nlp import resolved_model_name
from pipeline.enrich.parsing import ATTRIBUTE_LOOKUP, compiled_ruler, use_attribute_lookup
from pipeline.settings import Settings

# Every kind of pattern en_core_web_sm's ruler has: tag alone, tag + word, word alone, two-word patterns
# (index 0 and 1), dependency labels ("but" as advmod, "i"/"it" as subject or object, "there is"), the
# auxiliaries, white space tokens, contractions and dialect spellings.
TEXTS = [
    "North Korea fired a missile on Friday, and the United States said it would respond. They didn't.",
    "I told him that we're gonna win, y'all. She ain't going; let's see 'em doin' somethin' about it.",
    "There is no deal, but there were talks. It is what it is. Those who do have it did it anyway.",
    "  \n\nThe minister gets what he wants.\t\tHe got it.   Nothing changed, but everyone knew something.",
    "C'mon, you gotta see it: the 'nuff said ol' man'll come. Whether or not, if and unless, I'd go.",
    "",
    " ",
]


def _attributes(doc: Doc) -> list[tuple[str, str, str, str, str]]:
    return [(t.pos_, str(t.morph), t.lemma_, t.tag_, t.dep_) for t in doc]


@pytest.fixture(scope="module")
def small_model() -> Language:
    """The small English model with its own attribute ruler (and no NER: quicker, and not read here)."""
    return spacy.load(resolved_model_name(Settings()), exclude=["ner", "senter"])


def test_the_lookup_says_what_the_models_ruler_says(small_model: Language, seed_text: str) -> None:
    lookup = compiled_ruler(small_model)
    assert lookup is not None
    ruler = small_model.get_pipe("attribute_ruler")
    before_ruler = [name for name in small_model.pipe_names if name not in {"attribute_ruler", "lemmatizer"}]
    with small_model.select_pipes(enable=before_ruler):
        docs = list(small_model.pipe([*TEXTS, seed_text]))
    for doc in docs:
        by_ruler, by_lookup = ruler(doc.copy()), lookup(doc.copy())
        assert _attributes(by_lookup) == _attributes(by_ruler), doc.text[:60]


def test_the_lookup_matches_the_ruler_where_nothing_is_parsed(small_model: Language) -> None:
    # Tokens without a dependency label read as "" to the ruler's patterns: the look-up must read them so too.
    lookup = compiled_ruler(small_model)
    assert lookup is not None
    ruler = small_model.get_pipe("attribute_ruler")
    with small_model.select_pipes(enable=["tok2vec", "tagger"]):
        docs = list(small_model.pipe(TEXTS))
    for doc in docs:
        assert _attributes(lookup(doc.copy())) == _attributes(ruler(doc.copy()))


def test_the_loaded_pipeline_uses_the_lookup(nlp: Language) -> None:
    assert ATTRIBUTE_LOOKUP in nlp.pipe_names and "attribute_ruler" not in nlp.pipe_names
    assert nlp.pipe_names.index(ATTRIBUTE_LOOKUP) < nlp.pipe_names.index("lemmatizer")


def _blank_with_ruler(patterns: list[dict[str, Any]]) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("attribute_ruler").add_patterns(patterns)
    return nlp


def test_later_rules_win_and_longer_patterns_set_the_token_they_name() -> None:
    patterns = [
        {"patterns": [[{"LOWER": "talks"}]], "attrs": {"POS": "VERB", "LEMMA": "talk"}},
        {"patterns": [[{"LOWER": "peace"}, {"LOWER": "talks"}]], "attrs": {"POS": "NOUN"}, "index": -1},
        {"patterns": [[{"LOWER": {"REGEX": "^pea"}}], [{"LOWER": {"IN": ["war"]}}]], "attrs": {"POS": "ADJ"}},
        {"patterns": [[{"LOWER": "peace"}]], "attrs": {"MORPH": "Number=Sing"}},
        {"patterns": [[{"IS_SPACE": True}]], "attrs": {"TAG": "_SP", "POS": "SPACE"}},
    ]
    nlp = _blank_with_ruler(patterns)
    assert use_attribute_lookup(nlp)
    reference = _blank_with_ruler(patterns)
    for text in ["peace talks and war talks", "talks  \n peace", "peace peace talks talks"]:
        assert _attributes(nlp(text)) == _attributes(reference(text))
    assert [t.pos_ for t in nlp("war talks peace talks")] == ["ADJ", "VERB", "ADJ", "NOUN"]


def test_a_ruler_beyond_the_lookup_is_kept() -> None:
    nlp = _blank_with_ruler([{"patterns": [[{"LOWER": "talks", "OP": "+"}]], "attrs": {"POS": "NOUN"}}])
    assert not use_attribute_lookup(nlp)
    assert nlp.pipe_names == ["attribute_ruler"]
    assert [t.pos_ for t in nlp("talks talks")] == ["NOUN", "NOUN"]
