"""CPU the indexer spends per article on JSON, without the services: reading the enriched article and its events
off the topics (``model_validate_json``), making their documents, writing their bulk lines, and reading a bulk
response, with the standard library's JSON (the client's default serializer, the indexer's before) and with
orjson (``pipeline.index.es.FastJsonSerializer``, the client's serializer now).

Reads a file of one JSON record a line (``output_digest.py --out`` writes one), times each step over all of it,
interleaving the rounds of both serializers, and prints CPU milliseconds per article (``time.process_time``),
lowest of ``--repeat`` rounds; and checks that both serializers write the same bytes for every document.

    PYTHONPATH=. .venv/bin/python benchmarks/output_digest.py --out /tmp/news.jsonl --synthetic 0 --news 60
    PYTHONPATH=. .venv/bin/python benchmarks/index_profile.py /tmp/news.jsonl --repeat 7
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elasticsearch.serializer import JsonSerializer

from pipeline.index.documents import article_document, event_document
from pipeline.index.es import FastJsonSerializer
from pipeline.records import EnrichedArticle, Event


def bulk_response(documents: int) -> bytes:
    """A bulk response as Elasticsearch writes it for ``documents`` created documents."""
    item = {"_index": "news-events-v1", "_version": 1, "result": "created", "_primary_term": 1, "status": 201}
    shards = {"total": 2, "successful": 1, "failed": 0}
    items = [{"index": {**item, "_id": f"evt_{n:016x}", "_shards": shards, "_seq_no": n}} for n in range(documents)]
    return json.dumps({"took": 3, "errors": False, "items": items}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=Path, help="one JSON record a line (output_digest.py --out)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    lines = [line for line in args.records.read_bytes().splitlines() if line.strip()]
    is_event = [b'"event_id"' in line for line in lines]
    articles = is_event.count(False)
    records: list[EnrichedArticle | Event] = [
        Event.model_validate_json(line) if event else EnrichedArticle.model_validate_json(line)
        for line, event in zip(lines, is_event, strict=True)
    ]
    documents = [event_document(r) if isinstance(r, Event) else article_document(r) for r in records]
    action = {"index": {"_index": "news-articles", "_id": "art_0", "version": 1, "version_type": "external_gte"}}
    response = bulk_response(len(documents))
    serializers = {"stdlib json": JsonSerializer(), "orjson": FastJsonSerializer()}
    same = sum(serializers["stdlib json"].json_dumps(d) == serializers["orjson"].json_dumps(d) for d in documents)

    def read_records() -> None:
        for line, event in zip(lines, is_event, strict=True):
            (Event if event else EnrichedArticle).model_validate_json(line)

    def make_documents() -> None:
        for r in records:
            event_document(r) if isinstance(r, Event) else article_document(r)

    steps: dict[str, Callable[[], Any]] = {
        "records: model_validate_json (pydantic)": read_records,
        "documents: model_dump(mode='json') (pydantic)": make_documents,
    }

    def bulk_lines(serializer: JsonSerializer) -> Callable[[], Any]:
        return lambda: [(serializer.json_dumps(action), serializer.json_dumps(d)) for d in documents]

    def read_response(serializer: JsonSerializer) -> Callable[[], Any]:
        return lambda: serializer.loads(response)

    for name, serializer in serializers.items():
        steps[f"bulk lines, {name}"] = bulk_lines(serializer)
        steps[f"bulk response, {name}"] = read_response(serializer)
    # The data set is held for the whole run, which an indexer never does (it holds one batch): out of the
    # collector's way, so that the steps are not charged for walking it.
    gc.collect()
    gc.freeze()
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(args.repeat):  # interleaved: every step once per round
        for name, step in steps.items():
            began = time.process_time()
            step()
            best[name] = min(best[name], time.process_time() - began)
    print(
        f"{len(lines)} records ({articles} articles); both serializers wrote the same bytes for {same} of "
        f"{len(documents)} documents. CPU ms per article, lowest of {args.repeat}:"
    )
    for name, seconds in best.items():
        print(f"  {name:<48} {1000 * seconds / articles:7.3f}")


if __name__ == "__main__":
    main()
