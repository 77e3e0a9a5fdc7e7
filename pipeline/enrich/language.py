"""Which language an article is in, and what enrichment can do with it: decided before any model reads it.

The language is the one the page or feed declares (the collector keeps it on the raw article), else the one
py3langid detects in the title and text, among the languages news is published in (its full set has creoles
and regional languages that short English text is easily taken for: "pcm", Nigerian Pidgin). Text too short
or too mixed to tell (a headline of names) is read as English, the pipeline's own language, and the record
says the language was a default. Entities come from a spaCy pipeline of that language: English from the
enrichment pipeline (the small English model with the project's news NER), French from ``fr_core_news_sm``;
any other language passes through no model at all, and its enriched article says so. Events are coded from
English text only (the event lexicon and its patterns are English).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pipeline.records import RawArticle

# The detector reads this much of the title and text: plenty for a confident guess, cheap on long articles.
DETECTION_SAMPLE_CHARS = 2000
DEFAULT_LANGUAGE = "en"
# Below this (normalised) probability the detector's guess is no evidence against the default.
MIN_CONFIDENCE = 0.3
# fmt: off
NEWS_LANGUAGES = (
    "af", "ar", "az", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "eu", "fa",
    "fi", "fr", "ga", "gl", "gu", "he", "hi", "hr", "hu", "hy", "id", "is", "it", "ja", "ka", "kk", "km", "kn",
    "ko", "lt", "lv", "mk", "ml", "mn", "mr", "ms", "mt", "my", "ne", "nl", "no", "pa", "pl", "ps", "pt", "ro",
    "ru", "si", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "uz", "vi", "zh",
)
# fmt: on
EVENT_LANGUAGES = frozenset({"en"})

Extraction = Literal["entities", "events"]


@dataclass(frozen=True, slots=True)
class ArticleLanguage:
    code: str  # ISO 639-1 where there is one ("en", "fr", "de")
    source: Literal["declared", "detected", "default"]


def article_language(article: RawArticle) -> ArticleLanguage:
    """The declared language's primary subtag ("en-GB" is "en"), else the detected one."""
    declared = (article.language or "").strip().replace("_", "-").split("-")[0].lower()
    if declared.isalpha() and 2 <= len(declared) <= 3:
        return ArticleLanguage(declared, "declared")
    detected = detect_language(f"{article.title}\n{article.text}")
    return ArticleLanguage(detected, "detected") if detected else ArticleLanguage(DEFAULT_LANGUAGE, "default")


def detect_language(text: str) -> str | None:
    """The language of ``text`` among ``NEWS_LANGUAGES``, or None when the text does not tell."""
    sample = text[:DETECTION_SAMPLE_CHARS]
    if not _has_letters(sample, 3):
        return None
    code, confidence = _identifier().classify(sample)
    return str(code) if confidence >= MIN_CONFIDENCE else None


def _has_letters(text: str, count: int) -> bool:
    """At least ``count`` letters in ``text``; stops reading at the last one needed."""
    for ch in text:
        if ch.isalpha():
            count -= 1
            if count == 0:
                return True
    return count <= 0


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid import langid  # its model loads in about a second; most articles declare their language

    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(NEWS_LANGUAGES))
    return identifier


def not_extracted(language: str, entity_languages: frozenset[str]) -> list[Extraction]:
    """What enrichment leaves out for an article in ``language``, given the languages it has entity models for."""
    skipped: list[Extraction] = []
    if language not in entity_languages:
        skipped.append("entities")
    if language not in EVENT_LANGUAGES:
        skipped.append("events")
    return skipped


def not_extracted_reason(language: str, skipped: list[Extraction]) -> str | None:
    if not skipped:
        return None
    if "entities" in skipped:
        return f"language {language!r}: no entity model for it, and events are coded from English text only"
    return f"language {language!r}: events are coded from English text only"
