"""Run the feed parser over a directory of feed files and count the outcomes.

The default directory is feedparser's own test corpus in the shared development data
(``../shared/data/feeds/feedparser-tests`` beside the repository). Reproduce the figures in docs/collector.md
with ``python -m pipeline.collect.survey`` (or ``pipeline feeds-survey``).
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.collect.feeds import ParsedFeed, parse_feed
from pipeline.collect.problems import Problem
from pipeline.errors import EXIT_NOT_FOUND

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "data" / "feeds" / "feedparser-tests"

# The corpus files describe the HTTP headers they are meant to be served with in their leading comment,
# e.g. "Header: Content-type: application/atom+xml; charset=gb2312". Passing them on exercises the
# charset-override paths a real fetch would.
_HEADER_LINE = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.MULTILINE)


def declared_headers(data: bytes) -> dict[str, str]:
    comment_end = data.find(b"-->", 0, 4096)
    head = data[:comment_end] if comment_end > 0 else b""
    return {name.decode("ascii").lower(): value.decode("latin-1") for name, value in _HEADER_LINE.findall(head)}


@dataclass(frozen=True, slots=True)
class FileOutcome:
    path: Path
    result: ParsedFeed | Problem
    seconds: float

    @property
    def category(self) -> str:
        if isinstance(self.result, Problem):
            return "rejected"
        return "parsed_with_warnings" if self.result.bozo else "parsed"


@dataclass
class SurveyReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.category for o in self.outcomes)

    @property
    def rejections(self) -> Counter[str]:
        return Counter(o.result.reason.value for o in self.outcomes if isinstance(o.result, Problem))

    @property
    def items(self) -> int:
        return sum(len(o.result.items) for o in self.outcomes if isinstance(o.result, ParsedFeed))

    @property
    def slowest(self) -> FileOutcome | None:
        return max(self.outcomes, key=lambda o: o.seconds, default=None)


def feed_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in {".xml", ".json"})


def survey(root: Path = DEFAULT_CORPUS) -> SurveyReport:
    report = SurveyReport()
    for path in feed_files(root):
        data = path.read_bytes()
        started = time.perf_counter()
        result = parse_feed(data, url=f"http://feeds.invalid/{path.name}", headers=declared_headers(data))
        report.outcomes.append(FileOutcome(path, result, time.perf_counter() - started))
    return report


def format_report(report: SurveyReport, root: Path) -> str:
    counts = report.counts
    lines = [
        f"corpus: {root}",
        f"files: {len(report.outcomes)}",
        f"parsed (items, no warnings): {counts['parsed']}",
        f"parsed with warnings (items, bozo): {counts['parsed_with_warnings']}",
        f"rejected (typed problem): {counts['rejected']}",
    ]
    lines += [f"  {reason}: {n}" for reason, n in sorted(report.rejections.items())]
    lines.append(f"items yielded: {report.items}")
    slowest = report.slowest
    if slowest:
        lines.append(f"slowest file: {slowest.seconds * 1000:.0f} ms ({slowest.path.relative_to(root)})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else DEFAULT_CORPUS
    if not root.is_dir():
        print(f"error: no such directory: {root}", file=sys.stderr)
        return EXIT_NOT_FOUND
    started = time.perf_counter()
    report = survey(root)
    print(format_report(report, root))
    print(f"total time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
