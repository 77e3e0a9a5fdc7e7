"""The collector's sample pages and feeds (tests/unit/collect/samples), for unit and integration tests alike."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "unit" / "collect" / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()
