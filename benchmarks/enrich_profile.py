"""Where ``enrich_articles`` spends its CPU on top of the spaCy parse, stage by stage.

Loads the stories as ``pipeline_throughput.py`` does (same loaders, same ``load_nlp``), then prints CPU
milliseconds per article (``time.process_time``, so less sensitive to a shared machine than the wall clock):
bare ``nlp.pipe`` (the benchmark's ceiling), the news NER's share of it, ``enrich_articles`` in the worker's
batch size, and the exclusive time of each of its stages. Stages are timed by wrapping the functions
``enrich_articles`` calls at their call sites, so a stage's figure excludes the stages nested in it and the
stages add up to the whole.

    .venv/bin/python benchmarks/enrich_profile.py --set synthetic --limit 300 --repeat 3
    .venv/bin/python benchmarks/enrich_profile.py --set news --limit 64 --cprofile 30
    .venv/bin/python benchmarks/enrich_profile.py --set news --limit 48 --wire

``--wire`` adds what a worker with a parse process pays to move the docs between the two processes
(``pipeline.enrich.parse_process``): the child's ``to_wire`` and pickling, and the worker's unpickling and
``from_wire``, per article, and the bytes per article.
"""

from __future__ import annotations

import cProfile
import functools
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import typer
from pipeline_throughput import STORY_SETS, as_articles  # beside this script, whose folder is on the path
from rich.console import Console
from rich.table import Table

from pipeline.enrich import core, events
from pipeline.records import RawArticle
from pipeline.settings import Settings


class StorySet(StrEnum):
    synthetic = "synthetic"
    news = "news"


PARSE = "spaCy parse (incl. news NER merge)"
# (module, function name at the call site, stage). Each is looked up where enrich_articles or code_events calls it.
STAGES: tuple[tuple[Any, str, str], ...] = (
    (core, "article_language", "language identification"),
    (core, "parse_texts", PARSE),
    (core, "headline_types_of", "headline coder (parses the titles)"),
    (core, "resolve_entities", "entity resolution"),
    (events, "story_prior", "story classifier (tf-idf)"),
    (events, "EntityIndex", "events: entity index"),
    (events, "read_dateline", "events: dateline"),
    (events, "frames_from_matches", "events: trigger frames"),
    (events, "assign_roles", "events: roles"),
    (events, "place_and_time", "events: place and time"),
    (events, "events_from_frames", "events: identity, confidence, records"),
    (core, "emitted_main_type", "main_event_type"),
    (core, "_enrich_one", "record building (rest of _enrich_one)"),
)
LEXICON_STAGE = "events: lexicon matching"
REST = "rest of enrich_articles"


class StageClock:
    """Exclusive CPU time per stage: a nested stage's time is taken off the stage that called it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._nested: list[float] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._nested.append(0.0)
        began = time.process_time()
        try:
            yield
        finally:
            spent = time.process_time() - began
            nested = self._nested.pop()
            self.seconds[name] += spent - nested
            if self._nested:
                self._nested[-1] += spent

    def wrap(self, function: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)

        return timed


@contextmanager
def timed_stages(clock: StageClock) -> Iterator[None]:
    """Wrap every stage's function at its call site for the duration, and the lexicon's ``find`` as called by
    ``code_events`` (not the headline coder's, which counts as the headline's)."""
    originals = [(module, name, getattr(module, name)) for module, name, _ in STAGES]
    original_index = events.lexicon_index
    for (module, name, function), (_, _, stage) in zip(originals, STAGES, strict=True):
        if isinstance(function, type):  # EntityIndex: its build is what code_events calls
            build = clock.wrap(function.build.__func__, stage)  # type: ignore[attr-defined]
            function = type(name, (function,), {"build": classmethod(build)})
            setattr(module, name, function)
        else:
            setattr(module, name, clock.wrap(function, stage))

    class TimedLexicon:
        def __init__(self) -> None:
            self.find = clock.wrap(original_index().find, LEXICON_STAGE)

    events.lexicon_index = TimedLexicon  # type: ignore[assignment]
    try:
        yield
    finally:
        events.lexicon_index = original_index
        for module, name, function in originals:
            setattr(module, name, function)


def enrich_all(articles: list[RawArticle], nlp: Any, batch_size: int) -> None:
    for start in range(0, len(articles), batch_size):
        core.enrich_articles(articles[start : start + batch_size], nlp)


def cpu_ms_per_item(run: Callable[[], Any], items: int) -> float:
    began = time.process_time()
    run()
    return 1000 * (time.process_time() - began) / items


BARE = "bare nlp.pipe (the ceiling)"
NEWS_NER = "  of which the news NER model and merge"
WHOLE = "enrich_articles"
OWN = "  its own work (all but the parse)"


def measure(articles: list[RawArticle], nlp: Any, batch_size: int) -> dict[str, float]:
    """One round: CPU ms per article of bare nlp.pipe, of the news NER in it, of enrich_articles and its stages."""
    bodies = [article.text for article in articles]
    bare = cpu_ms_per_item(lambda: list(nlp.pipe(bodies, batch_size=32)), len(bodies))
    with nlp.select_pipes(disable=["news_ner"] if "news_ner" in nlp.pipe_names else []):
        without_news = cpu_ms_per_item(lambda: list(nlp.pipe(bodies, batch_size=32)), len(bodies))
    clock = StageClock()
    with timed_stages(clock), clock.stage(REST):
        whole = cpu_ms_per_item(lambda: enrich_all(articles, nlp, batch_size), len(articles))
    stages = {f"  {name}": 1000 * seconds / len(articles) for name, seconds in clock.seconds.items()}
    return {BARE: bare, NEWS_NER: bare - without_news, WHOLE: whole, OWN: whole - stages[f"  {PARSE}"]} | stages


def wire_rows(articles: list[RawArticle], nlp: Any, batch_size: int, repeat: int) -> dict[str, float]:
    """CPU ms per article of the docs' way from the parse process to the worker, and its bytes per article."""
    import pickle

    from pipeline.enrich.parse_process import child_pipeline, from_wire, to_wire

    child = child_pipeline(Settings())
    texts = [article.text for article in articles]
    parsed = [core.parse_texts(child, texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    sent = [pickle.dumps(to_wire(docs, child.pipe_names)) for docs in parsed]
    steps: dict[str, Callable[[], Any]] = {
        "the child: to_wire and pickle": lambda: [pickle.dumps(to_wire(docs, child.pipe_names)) for docs in parsed],
        "the worker: unpickle and from_wire": lambda: [from_wire(pickle.loads(data), nlp) for data in sent],
    }
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeat):
        for name, step in steps.items():
            best[name] = min(best[name], cpu_ms_per_item(step, len(texts)))
    return best | {"bytes per article": sum(map(len, sent)) / len(texts)}


def main(
    story_set: StorySet = typer.Option(StorySet.synthetic, "--set", help="synthetic stories or real-length news"),
    limit: int = typer.Option(300, "--limit", min=1, help="How many stories (the sets repeat to fill it)"),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Rounds; each figure is the lowest (least disturbed)"),
    cprofile: int = typer.Option(0, "--cprofile", min=0, help="Also print the top N functions of a cProfile run"),
    sort: str = typer.Option("cumulative", "--sort", help="cProfile order: cumulative or tottime"),
    wire: bool = typer.Option(False, "--wire", help="Also the docs' way from a parse process to the worker"),
) -> None:
    """CPU ms per article: bare nlp.pipe, and enrich_articles stage by stage (exclusive times)."""
    from pipeline.enrich.nlp import load_nlp
    from pipeline.logconfig import configure_logging

    settings = Settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    articles = as_articles(STORY_SETS[story_set.value](limit), "profile")
    nlp = load_nlp(settings)
    enrich_all(articles[:8], nlp, settings.enrich_batch_size)  # warm-up: models, caches, first allocations
    rounds = [measure(articles, nlp, settings.enrich_batch_size) for _ in range(repeat)]
    best = {row: min(figures[row] for figures in rounds) for row in rounds[0]}

    table = Table(title=f"{story_set.value}: {len(articles)} articles, CPU ms per article, lowest of {repeat}")
    table.add_column("what")
    table.add_column("ms", justify="right")
    table.add_column("share of enrich", justify="right")
    whole = best[WHOLE]
    for row in (BARE, NEWS_NER, WHOLE, OWN):
        table.add_row(row, f"{best[row]:.1f}", "" if row in {BARE, NEWS_NER} else f"{best[row] / whole:.0%}")
    for row in sorted(set(best) - {BARE, NEWS_NER, WHOLE, OWN}, key=lambda row: -best[row]):
        table.add_row(row, f"{best[row]:.1f}", f"{best[row] / whole:.0%}")
    Console().print(table)

    if wire:
        for name, figure in wire_rows(articles, nlp, settings.enrich_batch_size, repeat).items():
            print(f"{name:<40} {figure:10.3f}" if "bytes" not in name else f"{name:<40} {figure:10,.0f}")

    if cprofile:
        profile = cProfile.Profile()
        profile.runcall(enrich_all, articles, nlp, settings.enrich_batch_size)
        pstats.Stats(profile, stream=sys.stdout).strip_dirs().sort_stats(sort).print_stats(cprofile)


if __name__ == "__main__":
    typer.run(main)
