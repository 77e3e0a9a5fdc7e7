"""CPU per document of each component of the workers' spaCy pipeline: where bare ``nlp.pipe`` (the benchmark's
ceiling) spends its time, and so what a cheaper model path could save.

Runs the tokenizer, then each component over all the documents in turn (``component.pipe``, batch 32, as
``nlp.pipe`` would), timing each with ``time.process_time``; lowest of ``--repeat`` rounds.

    .venv/bin/python benchmarks/component_profile.py --set synthetic --limit 240
    .venv/bin/python benchmarks/component_profile.py --set news --limit 64
"""

from __future__ import annotations

import argparse
import time

from pipeline_throughput import STORY_SETS  # beside this script, whose folder is on the path

from pipeline.enrich.nlp import load_nlp
from pipeline.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=sorted(STORY_SETS), default="synthetic")
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    texts = [body for _, body in STORY_SETS[args.set](args.limit)]
    nlp = load_nlp(Settings())
    list(nlp.pipe(texts[:32]))  # warm-up
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        began = time.process_time()
        docs = [nlp.make_doc(text) for text in texts]
        timings = {"tokenizer": time.process_time() - began}
        for name, component in nlp.pipeline:
            began = time.process_time()
            if hasattr(component, "pipe"):
                docs = list(component.pipe(docs, batch_size=32))
            else:
                docs = [component(doc) for doc in docs]
            timings[name] = time.process_time() - began
        for name, seconds in timings.items():
            best[name] = min(best.get(name, seconds), seconds)
    total = sum(best.values())
    print(f"{args.set}: {len(texts)} documents, CPU ms per document (lowest of {args.repeat})")
    for name, seconds in best.items():
        print(f"  {name:<16} {1000 * seconds / len(texts):7.2f}  {seconds / total:6.1%}")
    print(f"  {'all':<16} {1000 * total / len(texts):7.2f}")


if __name__ == "__main__":
    main()
