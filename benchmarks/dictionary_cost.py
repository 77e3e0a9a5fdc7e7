"""What the compiled dictionaries cost ``enrich_articles``: CPU per article with and without them.

"Without" is the coder as it was before them: the taxonomy without the verb patterns, no known-actor step on
the entities, no actor or agent look-ups in the roles. Rounds alternate between the two so that a shared
machine's noise falls on both; CPU time (``time.process_time``) per article, the median over rounds.

    PYTHONPATH=. .venv/bin/python benchmarks/dictionary_cost.py --set news --limit 64 --rounds 5
    PYTHONPATH=. .venv/bin/python benchmarks/dictionary_cost.py --set synthetic --limit 200 --rounds 5
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import typer
from pipeline_throughput import STORY_SETS, as_articles  # beside this script, whose folder is on the path

from pipeline.records import RawArticle
from pipeline.settings import Settings


class StorySet(StrEnum):
    synthetic = "synthetic"
    news = "news"


@contextmanager
def without_dictionaries() -> Iterator[None]:
    """The coder with every dictionary look-up switched off, restored afterwards."""
    import pipeline.enrich.events as events_package
    from pipeline.enrich import core
    from pipeline.enrich.events import actors, headline, lexicon, taxonomy

    saved: dict[str, Any] = {
        "known": core.with_known_actors,
        "lookup": actors.EntityIndex.known_name,
        "agent": actors.agent_sector,
    }
    plain = taxonomy.load_taxonomy(with_dictionary=False)
    full = taxonomy.get_taxonomy()
    core.with_known_actors = lambda entities, when: list(entities)
    actors.EntityIndex.known_name = lambda self, tok: None  # type: ignore[method-assign]
    actors.agent_sector = lambda text: None
    original_get = taxonomy.get_taxonomy
    patched = [taxonomy, lexicon, headline, events_package]
    for module in patched:
        module.get_taxonomy = lambda: plain  # type: ignore[attr-defined]
    lexicon._index_for.cache_clear()
    try:
        yield
    finally:
        for module in patched:
            module.get_taxonomy = original_get  # type: ignore[attr-defined]
        assert taxonomy.get_taxonomy().version == full.version
        lexicon._index_for.cache_clear()
        core.with_known_actors = saved["known"]
        actors.EntityIndex.known_name = saved["lookup"]  # type: ignore[method-assign]
        actors.agent_sector = saved["agent"]


def cpu_per_article(articles: Sequence[RawArticle], nlp: Any, batch: int = 32) -> float:
    from pipeline.enrich.core import enrich_articles

    started = time.process_time()
    for start in range(0, len(articles), batch):
        enrich_articles(articles[start : start + batch], nlp)
    return (time.process_time() - started) / len(articles) * 1000


def main(
    story_set: StorySet = typer.Option(StorySet.news, "--set", help="news (600-900 tokens) or synthetic stories"),
    limit: int = typer.Option(64, "--limit", min=1, help="Articles per round"),
    rounds: int = typer.Option(5, "--rounds", min=1, help="Rounds of each, alternating"),
) -> None:
    from pipeline.enrich.nlp import load_nlp

    nlp = load_nlp(Settings())
    articles = as_articles(STORY_SETS[story_set.value](limit), "dictionary-cost")
    cpu_per_article(articles[:8], nlp)  # warm-up: model, gazetteer, dictionaries loaded
    with without_dictionaries():
        cpu_per_article(articles[:8], nlp)
    withs: list[float] = []
    withouts: list[float] = []
    for _ in range(rounds):
        withs.append(cpu_per_article(articles, nlp))
        with without_dictionaries():
            withouts.append(cpu_per_article(articles, nlp))
    with_ms, without_ms = statistics.median(withs), statistics.median(withouts)
    print(f"{story_set.value}: {len(articles)} articles x {rounds} rounds, CPU ms per article (median)")
    print(f"  with the dictionaries:    {with_ms:.1f}  (rounds: {', '.join(f'{x:.1f}' for x in withs)})")
    print(f"  without the dictionaries: {without_ms:.1f}  (rounds: {', '.join(f'{x:.1f}' for x in withouts)})")
    share = 100 * (with_ms / without_ms - 1)
    print(f"  cost: {with_ms - without_ms:+.1f} ms per article, {share:+.1f}% of enrich_articles")


if __name__ == "__main__":
    typer.run(main)
