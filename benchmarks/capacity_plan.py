"""A capacity plan from measured figures: what N articles per day take (docs/scaling.md explains each rule).

Reads the JSON that ``benchmarks/pipeline_throughput.py --json`` printed, takes the real-length ``news`` set
(falling back to the first set), and derives for each daily volume: enricher workers and their cores, partitions,
indexer instances, Elasticsearch nodes, shards and replicas, memory, and disk per day of retention.

    .venv/bin/python benchmarks/pipeline_throughput.py --json > scaling.json
    .venv/bin/python benchmarks/capacity_plan.py scaling.json --per-day 1000000,10000000

The assumptions that are not measurements are options with the defaults printed in the output.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

GB = 1e9


@dataclass(frozen=True)
class Measured:
    """What the plan rests on, from one benchmark run (the bytes per article may come from another)."""

    story_set: str
    tokens_mean: float
    worker_articles_per_s: float  # one enricher worker, end to end, backlog
    worker_cores: float  # CPUs one worker kept busy meanwhile (with its parse process): rate x CPU per article
    indexer_articles_per_s: float  # one indexer alone (with the articles' event reports)
    worker_rss_mb: float
    kafka_bytes_per_article: float  # raw + enriched + event messages, uncompressed
    es_bytes_per_article: float  # primary store, articles and events indices
    # CPU of the local services per article during the one-worker run (0 when the stack was not this checkout's)
    es_cpu_ms_per_article: float = 0.0  # one node, no replica
    kafka_cpu_ms_per_article: float = 0.0  # one broker, replication 1


@dataclass(frozen=True)
class Plan:
    articles_per_day: int
    average_per_s: float
    peak_per_s: float
    enricher_workers: int
    enricher_cores: int
    enricher_memory_gb: float
    partitions: int
    indexer_instances: int
    es_nodes: int
    es_indexing_cores: float  # cores the nodes spend indexing at the peak (replicas index too)
    kafka_broker_cores: float  # cores the brokers spend at the peak, across the replicas
    primary_shards_per_index: int
    replicas: int
    es_disk_gb_per_day: float  # primaries and replicas
    kafka_disk_gb_per_day: float  # all replicas
    es_disk_gb_retained: float
    kafka_disk_gb_retained: float


def load_results(path: Path) -> dict[str, Any]:
    """The benchmark's JSON (stdout of --json), or its progress log (stderr), whose JSON lines survive a run
    that was cut short: a ceiling line, then one line per pipeline run."""
    text = path.read_text()
    try:
        results: dict[str, Any] = json.loads(text)
        return results
    except ValueError:
        pass
    sets: dict[str, Any] = {}
    ceiling: dict[str, Any] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if "ceiling" in record:
            ceiling = record["ceiling"]
        elif ceiling is not None:
            sets.setdefault(record["story_set"], {"ceiling": ceiling, "runs": []})["runs"].append(record)
    return {"sets": sets}


def _story_set(results: dict[str, Any], story_set: str) -> tuple[str, dict[str, Any]]:
    sets = results["sets"]
    name = story_set if story_set in sets else next(iter(sets))
    return name, sets[name]


def bytes_per_article(results: dict[str, Any], story_set: str = "news") -> tuple[float, float]:
    """Kafka bytes (raw + enriched + events messages) and Elasticsearch primary bytes (both indices) per article,
    each the median over the set's runs."""
    _, body = _story_set(results, story_set)
    sizes = [r["sizes"] for r in body["runs"] if r.get("sizes")]
    kafka = statistics.median(s["raw_message"] + s["enriched_message"] + s["events_messages"] for s in sizes)
    es = statistics.median(s["es_articles_store"] + s["es_events_store"] for s in sizes)
    return kafka, es


def measured_from(
    results: dict[str, Any], story_set: str = "news", sizes_from: dict[str, Any] | None = None
) -> Measured:
    """The plan's inputs from one benchmark run; the bytes per article from ``sizes_from`` (another run's
    results) when given."""
    name, body = _story_set(results, story_set)
    runs = body["runs"]
    single = min((r for r in runs if r["workers"] == 1), key=lambda r: r["partitions"])
    alone = [r["indexer_alone"]["articles_per_s"] for r in runs if r.get("indexer_alone")]
    kafka_bytes, es_bytes = bytes_per_article(sizes_from or results, name)
    return Measured(
        story_set=name,
        tokens_mean=body["ceiling"]["tokens_mean"],
        worker_articles_per_s=single["backlog_articles_per_s"],
        worker_cores=round(single["backlog_articles_per_s"] * single["cpu_ms_per_article"]["enricher"] / 1000, 2),
        indexer_articles_per_s=min(alone),  # the slowest replay: the conservative figure
        worker_rss_mb=max(m for r in runs for m in r["worker_peak_rss_mb"]),
        kafka_bytes_per_article=kafka_bytes,
        es_bytes_per_article=es_bytes,
        es_cpu_ms_per_article=single["cpu_ms_per_article"].get("elasticsearch", 0.0),
        kafka_cpu_ms_per_article=single["cpu_ms_per_article"].get("kafka", 0.0),
    )


def plan(
    measured: Measured,
    articles_per_day: int,
    *,
    peak_factor: float,
    utilisation: float,
    replicas: int,
    kafka_replication: int,
    retention_days: int,
    kafka_retention_days: int,
    shard_gb: float,
    node_disk_gb: float,
    es_node_cores: int = 8,
) -> Plan:
    average = articles_per_day / 86_400
    peak = average * peak_factor
    # Workers in one group share partitions; each needs the cores it kept busy in the measurement (two with a
    # parse process, if it had them; one without).
    workers = max(1, math.ceil(peak / (measured.worker_articles_per_s * utilisation)))
    cores = math.ceil(workers * measured.worker_cores)
    # Room to double the workers without repartitioning (keys move when partitions are added), at least 8.
    partitions = max(8, 2 ** math.ceil(math.log2(2 * workers)))
    indexers = max(1, math.ceil(peak / (measured.indexer_articles_per_s * utilisation)))
    es_per_day = articles_per_day * measured.es_bytes_per_article * (1 + replicas) / GB
    kafka_per_day = articles_per_day * measured.kafka_bytes_per_article * kafka_replication / GB
    es_retained = es_per_day * retention_days
    # Shards: the retained primaries of one index in pieces of at most shard_gb (two indices, similar size).
    primaries_per_index = max(1, math.ceil(es_retained / (1 + replicas) / 2 / shard_gb))
    # Indexing CPU at the peak: each copy of a shard indexes the document (a replica too); brokers write every
    # replica as well. Planned at the same utilisation as the workers.
    es_cores = peak * measured.es_cpu_ms_per_article / 1000 * (1 + replicas) / utilisation
    kafka_cores = peak * measured.kafka_cpu_ms_per_article / 1000 * kafka_replication / utilisation
    # Nodes: enough disk at an 85 % watermark, enough cores to index the peak, and enough to hold every
    # replica apart from its primary.
    nodes = max(1 + replicas, math.ceil(es_retained / (node_disk_gb * 0.85)), math.ceil(es_cores / es_node_cores))
    return Plan(
        articles_per_day=articles_per_day,
        average_per_s=round(average, 1),
        peak_per_s=round(peak, 1),
        enricher_workers=workers,
        enricher_cores=cores,
        enricher_memory_gb=round(workers * measured.worker_rss_mb / 1024, 1),
        partitions=partitions,
        indexer_instances=indexers,
        es_nodes=nodes,
        es_indexing_cores=round(es_cores, 1),
        kafka_broker_cores=round(kafka_cores, 1),
        primary_shards_per_index=primaries_per_index,
        replicas=replicas,
        es_disk_gb_per_day=round(es_per_day, 2),
        kafka_disk_gb_per_day=round(kafka_per_day, 2),
        es_disk_gb_retained=round(es_retained, 0),
        kafka_disk_gb_retained=round(kafka_per_day * kafka_retention_days, 0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "results", type=Path, help="benchmarks/pipeline_throughput.py's JSON (--json) or its progress log (stderr)"
    )
    parser.add_argument("--per-day", default="1000000,10000000", help="articles per day, comma-separated")
    parser.add_argument("--set", default="news", help="story set whose figures to use")
    parser.add_argument(
        "--sizes",
        type=Path,
        help="take the bytes per article from this run's results instead (e.g. a later run that measured them "
        "after a force-merge)",
    )
    parser.add_argument("--peak-factor", type=float, default=3.0, help="busiest hour over the daily average")
    parser.add_argument("--utilisation", type=float, default=0.7, help="share of measured capacity to plan for")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--kafka-replication", type=int, default=3)
    parser.add_argument("--retention-days", type=int, default=30, help="Elasticsearch")
    parser.add_argument("--kafka-retention-days", type=int, default=7)
    parser.add_argument("--shard-gb", type=float, default=30.0)
    parser.add_argument("--node-disk-gb", type=float, default=1000.0)
    parser.add_argument("--es-node-cores", type=int, default=8, help="cores of one Elasticsearch node")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sizes_from = load_results(args.sizes) if args.sizes else None
    measured = measured_from(load_results(args.results), args.set, sizes_from)
    assumptions = {
        key: getattr(args, key)
        for key in (
            "peak_factor", "utilisation", "replicas", "kafka_replication", "retention_days",
            "kafka_retention_days", "shard_gb", "node_disk_gb", "es_node_cores",
        )
    }  # fmt: skip
    plans = [plan(measured, int(float(n)), **assumptions) for n in args.per_day.split(",")]
    if args.json:
        print(
            json.dumps({"measured": asdict(measured), "assumptions": assumptions, "plans": [asdict(p) for p in plans]})
        )
        return
    print(f"measured ({measured.story_set}, mean {measured.tokens_mean:.0f} tokens): {asdict(measured)}")
    print(f"assumptions: {assumptions}")
    for p in plans:
        print()
        for key, value in asdict(p).items():
            print(f"  {key:<26} {value}")


if __name__ == "__main__":
    main()
