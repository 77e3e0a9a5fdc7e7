"""The capacity plan's arithmetic (benchmarks/capacity_plan.py), on made-up measurements."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.capacity_plan import Measured, load_results, measured_from, plan

MEASURED = Measured("news", 785, worker_articles_per_s=10.0, worker_cores=1.6, indexer_articles_per_s=100.0,
                    worker_rss_mb=800.0,
                    kafka_bytes_per_article=40_000, es_bytes_per_article=36_000,
                    es_cpu_ms_per_article=8.0, kafka_cpu_ms_per_article=6.0)  # fmt: skip
DEFAULTS = {
    "peak_factor": 3.0, "utilisation": 0.7, "replicas": 1, "kafka_replication": 3, "retention_days": 30,
    "kafka_retention_days": 7, "shard_gb": 30.0, "node_disk_gb": 1000.0, "es_node_cores": 8,
}  # fmt: skip


def test_one_million_a_day() -> None:
    result = plan(MEASURED, 1_000_000, **DEFAULTS)  # type: ignore[arg-type]
    assert (result.average_per_s, result.peak_per_s) == (11.6, 34.7)
    assert result.enricher_workers == 5  # 34.7 / (10 * 0.7) = 4.96
    assert result.enricher_cores == 8  # 5 workers * 1.6 cores each
    assert result.partitions == 16  # 2 * 5 = 10 -> next power of two
    assert result.indexer_instances == 1
    assert result.es_disk_gb_per_day == 72.0  # 1e6 * 36 kB * 2
    assert result.kafka_disk_gb_per_day == 120.0  # 1e6 * 40 kB * 3
    assert result.es_nodes == 3  # 2,160 GB over 850 GB usable per node
    assert result.primary_shards_per_index == 18  # 1,080 GB of primaries over 2 indices in 30 GB shards
    assert result.es_indexing_cores == 0.8  # 34.7/s * 8 ms * 2 copies / 0.7
    assert result.kafka_broker_cores == 0.9  # 34.7/s * 6 ms * 3 replicas / 0.7


def test_indexing_cores_can_decide_the_nodes() -> None:
    cheap_disk = Measured("news", 785, worker_articles_per_s=10.0, worker_cores=1.6, indexer_articles_per_s=100.0,
                          worker_rss_mb=800.0, kafka_bytes_per_article=40_000, es_bytes_per_article=1_000,
                          es_cpu_ms_per_article=8.0)  # fmt: skip
    result = plan(cheap_disk, 100_000_000, **DEFAULTS)  # type: ignore[arg-type]
    assert result.es_indexing_cores == 79.4  # 3,472/s * 8 ms * 2 / 0.7
    assert result.es_nodes == 10  # 79.4 cores over 8 a node; disk would need 8


def test_at_least_two_nodes_and_eight_partitions() -> None:
    result = plan(MEASURED, 1_000, **DEFAULTS)  # type: ignore[arg-type]
    assert (result.enricher_workers, result.partitions, result.es_nodes) == (1, 8, 2)


def test_a_cut_short_progress_log_is_enough(tmp_path: Path) -> None:
    run = {
        "story_set": "news", "partitions": 4, "workers": 1, "backlog_articles_per_s": 2.0,
        "cpu_ms_per_article": {"enricher": 600.0},
        "worker_peak_rss_mb": [700.0], "indexer_alone": {"articles_per_s": 30.0},
        "sizes": {"raw_message": 1, "enriched_message": 2, "events_messages": 3, "es_articles_store": 4,
                  "es_events_store": 5},
    }  # fmt: skip
    log = tmp_path / "scaling.log"
    log.write_text(
        "news: measuring\n  " + json.dumps({"ceiling": {"tokens_mean": 785}}) + "\n  " + json.dumps(run) + "\nboom\n"
    )
    measured = measured_from(load_results(log))
    assert (measured.worker_articles_per_s, measured.kafka_bytes_per_article, measured.es_bytes_per_article) == (
        2.0, 6, 9
    )  # fmt: skip
    assert measured.worker_cores == 1.2  # 2 articles/s at 600 ms of CPU each


def test_bytes_per_article_are_the_median_of_the_runs_and_may_come_from_another_run(tmp_path: Path) -> None:
    def run(es_events: int) -> dict[str, object]:
        return {
            "story_set": "news", "partitions": 4, "workers": 1, "backlog_articles_per_s": 2.0,
            "cpu_ms_per_article": {"enricher": 600.0}, "worker_peak_rss_mb": [700.0], "indexer_alone": None,
            "sizes": {"raw_message": 1, "enriched_message": 2, "events_messages": 3, "es_articles_store": 4,
                      "es_events_store": es_events},
        }  # fmt: skip

    rates = {"sets": {"news": {"ceiling": {"tokens_mean": 785}, "runs": [run(95_000), run(9_000), run(12_000)]}}}
    rates["sets"]["news"]["runs"][0]["indexer_alone"] = {"articles_per_s": 30.0}
    assert measured_from(rates).es_bytes_per_article == 12_004  # not the first run's unmerged 95,004
    later = {"sets": {"news": {"ceiling": {"tokens_mean": 785}, "runs": [run(10_000)]}}}
    measured = measured_from(rates, sizes_from=later)
    assert (measured.worker_articles_per_s, measured.es_bytes_per_article) == (2.0, 10_004)
