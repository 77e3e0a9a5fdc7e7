"""The development data in ``../shared`` (beside the repository, never copied into it).

A test that needs it asks ``require_shared(path, what)``: without the data it is skipped with a reason that
names the missing file, except under ``CI=true``, where missing data is a failure (CI must run everything;
the suite's one skip policy, tests/prerequisites.py).
"""

from __future__ import annotations

from pathlib import Path

from tests.prerequisites import prerequisite_missing

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
SEED_ARTICLE = SHARED_DIR / "fixtures" / "seed-article-korea-2025.txt"


def require_shared(path: Path, what: str) -> Path:
    if path.exists():
        return path
    prerequisite_missing(f"{what} not found at {path} (development data expected in ../shared beside the repository)")
