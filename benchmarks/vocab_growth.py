"""How a long-running worker's spaCy vocabulary and memory grow, and what reloading the pipeline gives back.

spaCy's string store keeps every word a pipeline has seen; the news NER keeps its own. This enriches stories in
the worker's batch size with one pipeline, printing the two string stores' sizes and the process's RSS as it
goes, then does the same with ``ReloadingModel`` (the worker's holder) reloading every ``--reload-every``.

    .venv/bin/python benchmarks/vocab_growth.py --stories 1024 --reload-every 256
"""

from __future__ import annotations

import argparse

from pipeline_throughput import STORY_SETS, as_articles  # beside this script, whose folder is on the path
from spacy.language import Language

from pipeline.enrich.core import enrich_articles
from pipeline.enrich.nlp import load_nlp
from pipeline.enrich.reloading import ReloadingModel
from pipeline.records import RawArticle
from pipeline.settings import Settings


def rss_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def string_counts(nlp: Language) -> tuple[int, int]:
    news = nlp.get_pipe("news_ner").news_nlp if "news_ner" in nlp.pipe_names else None  # type: ignore[attr-defined]
    return len(nlp.vocab.strings), len(news.vocab.strings) if news is not None else 0


def run(label: str, model: ReloadingModel, articles: list[RawArticle], batch: int, every: int) -> None:
    for start in range(0, len(articles), batch):
        chunk = articles[start : start + batch]
        enrich_articles(chunk, model.get())
        model.seen(len(chunk))
        done = start + len(chunk)
        if done % every == 0 or done == len(articles):
            words, news_words = string_counts(model.get())
            print(f"{label:<22} {done:>6} {words:>12} {news_words:>12} {rss_mb():>8}  loads {model.loads}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="synthetic", choices=sorted(STORY_SETS))
    parser.add_argument("--stories", type=int, default=1024)
    parser.add_argument("--reload-every", type=int, default=256)
    args = parser.parse_args()
    settings = Settings()
    articles = as_articles(STORY_SETS[args.set](args.stories), "vocab")
    batch, every = settings.enrich_batch_size, max(settings.enrich_batch_size, args.reload_every)
    print(f"{'pipeline':<22} {'stories':>6} {'strings':>12} {'news strings':>12} {'RSS MB':>8}")
    run("loaded once", ReloadingModel(lambda: load_nlp(settings), 0), articles, batch, every)
    run(
        f"reloaded every {args.reload_every}",
        ReloadingModel(lambda: load_nlp(settings), args.reload_every),
        articles,
        batch,
        every,
    )


if __name__ == "__main__":
    main()
