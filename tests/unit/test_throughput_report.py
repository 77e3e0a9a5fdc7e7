"""The scaling benchmark's verdicts and tables (benchmarks/pipeline_throughput.py), on made-up results."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.pipeline_throughput import print_markdown, target_checks


def run(workers: int, ratio: float, latency: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "partitions": 4,
        "workers": workers,
        "backlog_articles_per_s": 20.0,
        "enriched_topic_articles_per_s": 21.0,
        "ceiling_articles_per_s": 25.0,
        "ratio_to_ceiling": ratio,
        "worker_peak_rss_mb": [700.0] * workers,
        "cpu_ms_per_article": {"enricher": 50.0, "enricher.loop": 2.0, "indexer": 3.0},
        "latency": latency,
    }


def results() -> dict[str, Any]:
    latency = {
        "rate_per_s": 10.0,
        "articles": 300,
        "events_topic_s": {"p50": 0.2, "p95": 0.9, "p99": 1.6},
        "searchable_s": {"p50": 1.0, "p95": 1.4, "p99": 1.9},
    }
    ceiling = {
        "tokens_mean": 237.0,
        "pipe_1_docs_per_s": 25.0,
        "pipe_n_docs_per_s": 45.0,
        "processes": 2,
        "enrich_articles_per_s": 22.0,
        "pipe_1_cpu_ms_per_doc": 40.0,
        "enrich_cpu_ms_per_article": 45.0,
    }
    runs = [run(1, 0.86, latency), run(2, 0.79), run(4, 1.5)]
    return {"cpus": 2, "articles": 240, "sets": {"synthetic": {"ceiling": ceiling, "runs": runs}}}


def test_each_target_is_judged_against_its_bound() -> None:
    verdicts = {(c.workers, c.what): c.met for c in target_checks(results())}
    assert verdicts == {
        (1, "end to end / ceiling"): True,  # 0.86 >= 0.85
        (1, "events topic p50 s"): True,
        (1, "events topic p99 s"): False,  # 1.6 > 1.5
        (1, "searchable p50 s"): True,
        (2, "end to end / ceiling"): False,  # 0.79 < 0.80; 4 workers have no target
    }


def test_markdown_tables_show_every_run_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    saved = results()
    saved["targets"] = [vars(check) for check in target_checks(saved)]
    print_markdown(saved)
    out = capsys.readouterr().out
    assert "| synthetic | 4 | 4 | 20.0 | 21.0 | 25.0 | 1.5 | – | 700, 700, 700, 700 | 50.0 (loop 2.0) / 3.0 |" in out
    assert "| synthetic | 4 | 1 | 10.0/s (300 articles) | 0.20 / 0.90 / 1.60 | 1.00 / 1.40 / 1.90 |" in out
    assert out.count("**FAIL**") == 2 and out.count("**PASS**") == 3


def test_the_cpu_limit_is_the_cores_over_every_stage_s_cpu_per_article() -> None:
    from benchmarks.pipeline_throughput import cpu_limit

    measured = run(2, 0.64)
    assert cpu_limit(measured, 2) is None  # the services' CPU was not measured: no limit claimed
    measured["cpu_ms_per_article"] |= {"elasticsearch": 4.0, "kafka": 2.0, "benchmark": 1.0, "enricher.parse": 30.0}
    assert cpu_limit(measured, 2) == 33.3  # 2,000 ms / (50 + 3 + 4 + 2 + 1); the parse is inside "enricher"
