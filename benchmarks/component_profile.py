"""CPU per document of each step of the workers' spaCy parse, and which process runs it: where the parse's time
goes, and so what a cheaper model path could save.

Runs the tokenizer, then each component of the enrichment pipeline (``load_nlp``) over all the documents in turn
(``component.pipe``, batch 32, as ``nlp.pipe`` would), timing each with ``time.process_time``; then what a worker
with a parse process (``pipeline.enrich.parse_process``) adds around them: the child packing its docs for the
worker (``to_wire``), the worker unpacking them (``from_wire``), and the worker parsing the titles
(``events.headline``). Lowest of ``--repeat`` rounds. The "process" column says where each step runs when the
worker has a parse process: the child runs the model's components but those ``complete_parse`` leaves to the
worker (the news NER).

    .venv/bin/python benchmarks/component_profile.py --set synthetic --limit 240
    .venv/bin/python benchmarks/component_profile.py --set news --limit 64
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pipeline_throughput import STORY_SETS  # beside this script, whose folder is on the path

from pipeline.enrich.nlp import load_nlp
from pipeline.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=sorted(STORY_SETS), default="synthetic")
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from pipeline.enrich.core import headline_types_of
    from pipeline.enrich.parse_process import child_pipeline, from_wire, to_wire

    stories = STORY_SETS[args.set](args.limit)
    texts = [body for _, body in stories]
    titles = [title for title, _ in stories if title]
    nlp = load_nlp(Settings())
    child_components = list(child_pipeline(Settings()).pipe_names)  # what the child runs (not the news NER)
    list(nlp.pipe(texts[:32]))  # warm-up
    headline_types_of(nlp, titles[:32])
    best: dict[str, float] = {}
    where: dict[str, str] = {"tokenizer": "child"}
    for _ in range(args.repeat):
        began = time.process_time()
        docs: list[Any] = [nlp.make_doc(text) for text in texts]
        timings = {"tokenizer": time.process_time() - began}
        for name, component in nlp.pipeline:
            began = time.process_time()
            if hasattr(component, "pipe"):
                docs = list(component.pipe(docs, batch_size=32))
            else:
                docs = [component(doc) for doc in docs]
            timings[name] = time.process_time() - began
            where[name] = "child" if name in child_components else "worker"
        wire = to_wire(docs, child_components)
        steps: dict[str, tuple[str, Callable[[], object]]] = {
            "to_wire": ("child", partial(to_wire, docs, child_components)),
            "from_wire": ("worker", partial(from_wire, wire, nlp)),
            "titles": ("worker", partial(headline_types_of, nlp, titles)),
        }
        for name, (process, step) in steps.items():
            began = time.process_time()
            step()
            timings[name] = time.process_time() - began
            where[name] = process
        for name, seconds in timings.items():
            best[name] = min(best.get(name, seconds), seconds)
    total = sum(best.values())
    print(f"{args.set}: {len(texts)} documents, {len(titles)} titles, CPU ms per document (lowest of {args.repeat})")
    for name, seconds in best.items():
        print(f"  {name:<16} {1000 * seconds / len(texts):7.2f}  {seconds / total:6.1%}  {where[name]}")
    for process in ("child", "worker"):
        share = sum(seconds for name, seconds in best.items() if where[name] == process)
        print(f"  {'all ' + process:<16} {1000 * share / len(texts):7.2f}  {share / total:6.1%}")
    print(f"  {'all':<16} {1000 * total / len(texts):7.2f}")


if __name__ == "__main__":
    main()
