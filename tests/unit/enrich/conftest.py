"""Fixtures of the enrichment tests. ``nlp`` (the loaded pipeline) comes from tests/unit/conftest.py."""

from __future__ import annotations

import pytest

from pipeline.ids import article_id
from pipeline.records import RawArticle
from tests.shared_data import SEED_ARTICLE, require_shared


@pytest.fixture(scope="session")
def seed_text() -> str:
    return require_shared(SEED_ARTICLE, "the seed article").read_text(encoding="utf-8")


def raw_article(text: str, url: str = "https://news.example/a", title: str = "") -> RawArticle:
    return RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=title, text=text)
