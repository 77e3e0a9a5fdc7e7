"""The development data in ``../shared`` (beside the repository, never copied into it).

A test that needs it asks ``require_shared(path, what)``: without the data it is skipped with a reason that
names the missing file, except under ``CI=true``, where missing data is a failure (CI must run everything).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
SEED_ARTICLE = SHARED_DIR / "fixtures" / "seed-article-korea-2025.txt"


def require_shared(path: Path, what: str) -> Path:
    if path.exists():
        return path
    message = f"{what} not found at {path} (development data expected in ../shared beside the repository)"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(message + "; under CI=true missing data is a failure, not a skip", pytrace=False)
    pytest.skip(message)
