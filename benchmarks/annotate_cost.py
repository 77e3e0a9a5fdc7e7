"""CPU per news-length document of ``pipeline annotate --jsonl`` against bare ``en_core_web_sm`` ``nlp.pipe``
on the same texts, in the same run: whether the whole enrichment costs less than a bare small-model parse.

The documents: the seed article (../shared/fixtures/seed-article-korea-2025.txt) and documents made of three
synthetic stories each (~714 tokens; ../shared/data/events/polecat_synthetic_stories.csv, through the loaders of
``pipeline_throughput.py``), the first story's title as the document's title.

"Ours" is what ``pipeline annotate --jsonl`` does after loading its pipeline: read the JSON lines
(``pipeline.enrich.cli._articles_from_jsonl``), enrich them in one batch (``enrich_articles``) and write one JSON
line per article. "Bare" is ``spacy.load(model)`` with its default components (what the model ships enabled) and
``list(nlp.pipe(texts))``. Both are timed with ``time.process_time`` (this process's CPU, all threads), start-up
and a warm-up round excluded, the two interleaved round by round (the machine is shared: they see the same load),
lowest of ``--rounds``. The ratio is bare / ours: above 1, the enrichment is cheaper than the bare parse.

    PYTHONPATH=. .venv/bin/python benchmarks/annotate_cost.py                 # 24 three-story documents + the seed
    PYTHONPATH=. .venv/bin/python benchmarks/annotate_cost.py --documents 48 --rounds 5 --json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from pipeline_throughput import SEED, synthetic_texts  # beside this script, whose folder is on the path

STORIES_PER_DOCUMENT = 3


def documents(count: int) -> list[dict[str, str]]:
    """The seed article, then ``count`` documents of three synthetic stories each, as annotate's JSON lines read."""
    stories = synthetic_texts(count * STORIES_PER_DOCUMENT)
    rows = [{"id": "seed", "title": "", "text": SEED.read_text(encoding="utf-8")}]
    for n in range(count):
        group = stories[n * STORIES_PER_DOCUMENT : (n + 1) * STORIES_PER_DOCUMENT]
        rows.append({"id": f"three-{n}", "title": group[0][0], "text": "\n\n".join(text for _, text in group)})
    return rows


def annotate_jsonl(content: str, nlp: Any) -> list[str]:
    """What ``pipeline annotate --jsonl`` does with its input once its pipeline is loaded: the lines it prints."""
    from pipeline.enrich.cli import _articles_from_jsonl
    from pipeline.enrich.core import EnrichmentFailure, enrich_articles

    lines = []
    for result in enrich_articles(list(_articles_from_jsonl(content)), nlp):
        if isinstance(result, EnrichmentFailure):
            lines.append(json.dumps({"article_id": result.article_id, "error": result.reason}))
            continue
        payload = {
            "article": json.loads(result.article.model_dump_json()),
            "events": [json.loads(event.model_dump_json()) for event in result.events],
        }
        lines.append(json.dumps(payload, ensure_ascii=False))
    return lines


def cpu_seconds(work: Callable[[], object]) -> float:
    began = time.process_time()
    work()
    return time.process_time() - began


def measure(rows: Sequence[dict[str, str]], rounds: int) -> dict[str, Any]:
    import spacy

    from pipeline.enrich.nlp import load_nlp, resolved_model_name
    from pipeline.settings import get_settings

    settings = get_settings()
    ours_nlp = load_nlp(settings)
    bare_nlp = spacy.load(resolved_model_name(settings))
    sets = {"seed": [rows[0]], "three stories": list(rows[1:])}
    inputs = {name: "\n".join(json.dumps(row) for row in chosen) for name, chosen in sets.items()}
    texts = {name: [row["text"] for row in chosen] for name, chosen in sets.items()}
    best: dict[tuple[str, str], float] = {}
    for round_number in range(rounds + 1):  # round 0 warms both up (first calls allocate, caches fill)
        for name in sets:
            timings = {
                "bare": cpu_seconds(partial(lambda chosen: list(bare_nlp.pipe(chosen)), texts[name])),
                "ours": cpu_seconds(partial(annotate_jsonl, inputs[name], ours_nlp)),
            }
            if round_number:
                for who, seconds in timings.items():
                    best[(name, who)] = min(best.get((name, who), seconds), seconds)
    tokens = {name: sum(len(doc) for doc in bare_nlp.pipe(texts[name])) for name in sets}
    report: dict[str, Any] = {"rounds": rounds, "model": resolved_model_name(settings), "sets": {}}
    for name, chosen in sets.items():
        bare, ours = best[(name, "bare")] / len(chosen), best[(name, "ours")] / len(chosen)
        report["sets"][name] = {
            "documents": len(chosen),
            "tokens_mean": tokens[name] / len(chosen),
            "bare_cpu_ms": 1000 * bare,
            "ours_cpu_ms": 1000 * ours,
            "ratio": bare / ours,
        }
    count = sum(len(chosen) for chosen in sets.values())
    bare_all = sum(best[(name, "bare")] for name in sets) / count
    ours_all = sum(best[(name, "ours")] for name in sets) / count
    report["all"] = {"documents": count, "bare_cpu_ms": 1000 * bare_all, "ours_cpu_ms": 1000 * ours_all,
                     "ratio": bare_all / ours_all}  # fmt: skip
    report["ours_components"] = list(ours_nlp.pipe_names)
    report["bare_components"] = list(bare_nlp.pipe_names)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=24, help="three-story documents (the seed comes too)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (lowest kept), after one warm-up")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    from pipeline.logconfig import configure_logging
    from pipeline.settings import get_settings

    configure_logging(get_settings().model_copy(update={"log_level": "WARNING"}))
    report = measure(documents(args.documents), args.rounds)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"CPU ms per document, lowest of {args.rounds} rounds (start-up and a warm-up round excluded)")
    print(f"  ours: {' '.join(report['ours_components'])}  (+ entities, events, JSON out)")
    print(f"  bare: {' '.join(report['bare_components'])}  ({report['model']} nlp.pipe)")
    print(f"  {'documents':<16} {'n':>3} {'tokens':>7} {'bare':>8} {'ours':>8} {'bare/ours':>10}")
    for name, figures in [*report["sets"].items(), ("all", report["all"])]:
        tokens = f"{figures['tokens_mean']:7.0f}" if "tokens_mean" in figures else " " * 7
        print(
            f"  {name:<16} {figures['documents']:>3} {tokens} {figures['bare_cpu_ms']:8.1f} "
            f"{figures['ours_cpu_ms']:8.1f} {figures['ratio']:10.2f}"
        )


if __name__ == "__main__":
    main()
