"""What a deployment image must carry, checked by enriching one English and one French article in it.

Run at the end of the image build (deploy/Dockerfile) and by ``./run compose-test`` against the built image:

    python -m pipeline.imagecheck      # exit 0 and one line per check, or 70 and what is missing

The English article goes through the whole enrichment (the spaCy model the settings resolve to, the shipped news
NER, the gazetteer, the PLOVER taxonomy, the story classifier and the event calibration from ``pipeline/data``);
the French one through the French model. A missing piece fails loudly here rather than in the first enricher.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pipeline

ENGLISH = (
    "Foreign ministers of Kenya and Tanzania met in Nairobi on Monday to discuss border trade. "
    "The Kenyan foreign minister said both governments agreed to reopen the crossing at Namanga."
)
FRENCH = "Le président Emmanuel Macron a rencontré à Paris le chancelier allemand Olaf Scholz."
DATA_FILES = ("plover.yaml", "event_story_classifier.npz", "event_calibration.json")


def missing_data_files(package_dir: Path) -> list[str]:
    """The shipped data files and news NER model absent from an installed package directory."""
    wanted = [package_dir / "data" / name for name in DATA_FILES]
    wanted.append(package_dir / "models" / "en_news_ner" / "meta.json")
    return [str(path.relative_to(package_dir)) for path in wanted if not path.is_file()]


def main() -> int:
    from pipeline.enrich.cli import plain_article
    from pipeline.enrich.core import EnrichmentFailure, enrich_articles
    from pipeline.enrich.nlp import entity_nlp_for, load_nlp, model_lineage
    from pipeline.settings import Settings

    problems: list[str] = []
    package_dir = Path(pipeline.__file__).parent
    missing = missing_data_files(package_dir)
    if missing:
        problems.append(f"missing from {package_dir}: {', '.join(missing)}")
    settings = Settings()
    nlp = load_nlp(settings)
    name, version = model_lineage(nlp)
    if "news_ner" not in nlp.pipe_names:
        problems.append(f"the news NER is not in the English pipeline ({nlp.pipe_names})")
    article = plain_article(ENGLISH, title="Border talks", published_at=datetime(2025, 1, 6, tzinfo=UTC))
    (result,) = enrich_articles([article], nlp)
    if isinstance(result, EnrichmentFailure):
        problems.append(f"English enrichment failed: {result.reason}")
    else:
        print(
            f"english: {name} {version}, {nlp.pipe_names}: {len(result.article.entities)} entities, "
            f"{len(result.events)} events"
        )
        if not result.article.entities:
            problems.append("the English article got no entities")
    french = entity_nlp_for("fr", settings)
    if french is None:
        problems.append(f"the French model {settings.french_spacy_model!r} is not installed")
    else:
        entities = [(ent.text, ent.label_) for ent in french(FRENCH).ents]
        print(f"french: {settings.french_spacy_model}: {entities}")
        if not entities:
            problems.append("the French model found no entities")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 70 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
