"""Every file of feedparser's test corpus (shared development data) parses to items or a typed problem."""

from __future__ import annotations

import time

import pytest

from pipeline.collect.feeds import ParsedFeed
from pipeline.collect.problems import Problem, Reason
from pipeline.collect.survey import DEFAULT_CORPUS, SurveyReport, declared_headers, format_report, survey
from tests.shared_data import require_shared

EXPECTED_FILES = 2106
# The counts docs/collector.md ("Feed-corpus counts") and the README publish: a parser change that moves any of
# them must show here, and the docs be updated with it.
DOCUMENTED_COUNTS = {"parsed": 1151, "parsed_with_warnings": 42, "rejected": 913}
DOCUMENTED_REJECTIONS = {"malformed_feed": 256, "no_items": 647, "not_a_feed": 8, "unsafe_xml": 2}
DOCUMENTED_ITEMS = 1216


@pytest.fixture(scope="module", autouse=True)
def _corpus_present() -> None:
    require_shared(DEFAULT_CORPUS, "feedparser's test corpus")


@pytest.fixture(scope="module")
def timed_report() -> tuple[SurveyReport, float]:
    started = time.perf_counter()
    report = survey(DEFAULT_CORPUS)
    return report, time.perf_counter() - started


def test_every_corpus_file_yields_items_or_a_typed_problem(timed_report: tuple[SurveyReport, float]) -> None:
    report, elapsed = timed_report
    print("\n" + format_report(report, DEFAULT_CORPUS))

    assert len(report.outcomes) == EXPECTED_FILES
    for outcome in report.outcomes:
        result = outcome.result
        if isinstance(result, ParsedFeed):
            assert result.items, outcome.path
            assert all(isinstance(w, str) and w for w in result.warnings)
        else:
            assert isinstance(result, Problem) and isinstance(result.reason, Reason), outcome.path
            assert result.detail, outcome.path
    assert dict(report.counts) == DOCUMENTED_COUNTS
    assert dict(report.rejections) == DOCUMENTED_REJECTIONS
    assert report.items == DOCUMENTED_ITEMS
    # Nothing hangs: each file is bounded, and the whole corpus takes seconds.
    slowest = report.slowest
    assert slowest is not None and slowest.seconds < 5, slowest
    assert elapsed < 60


def test_the_two_entity_declaring_files_are_refused_as_unsafe(timed_report: tuple[SurveyReport, float]) -> None:
    report, _ = timed_report
    unsafe = sorted(
        o.path.name for o in report.outcomes if isinstance(o.result, Problem) and o.result.reason is Reason.UNSAFE_XML
    )
    assert unsafe == ["doctype_contains_entity_decl.xml", "entity_in_doctype.xml"]


def test_declared_headers_are_read_from_the_leading_comment() -> None:
    data = b"<!--\nHeader:      Content-type: application/atom+xml; charset=gb2312\nDescription: x\n-->\n<feed/>"
    assert declared_headers(data) == {"content-type": "application/atom+xml; charset=gb2312"}
    assert declared_headers(b"<rss/>") == {}
