"""Fixtures of the enrichment tests. ``nlp`` (the loaded pipeline) comes from tests/unit/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.ids import article_id
from pipeline.records import RawArticle

# Development data lives beside the repository and is never copied into it.
SHARED = Path(pipeline.__file__).resolve().parents[1].parent / "shared"
SEED_ARTICLE = SHARED / "fixtures" / "seed-article-korea-2025.txt"


@pytest.fixture(scope="session")
def seed_text() -> str:
    if not SEED_ARTICLE.exists():
        pytest.skip(f"seed article not found at {SEED_ARTICLE}")
    return SEED_ARTICLE.read_text(encoding="utf-8")


def raw_article(text: str, url: str = "https://news.example/a", title: str = "") -> RawArticle:
    return RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=title, text=text)
