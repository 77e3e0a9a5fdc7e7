"""Confidence calibration: Platt scaling of the coder's score, fitted deterministically."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.enrich.events import confidence as event_confidence
from pipeline.enrich.events.confidence import calibrated, calibration_disabled, fit_calibration, save_calibration


def test_fit_is_monotone_and_follows_the_data() -> None:
    scores = [0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8] * 5
    right = [s >= 0.5 for s in scores]
    a, b = fit_calibration(scores, right)
    assert a > 0  # a higher score never means a lower probability
    assert fit_calibration(scores, right) == (a, b)  # deterministic


def test_no_data_leaves_the_identity() -> None:
    assert fit_calibration([], []) == (1.0, 0.0)


def test_calibrated_reads_the_file_and_can_be_disabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "calibration.json"
    save_calibration(2.0, 1.0, {"note": "unit test"}, path)
    monkeypatch.setattr(event_confidence, "load_calibration", lambda: event_confidence.load_calibration_from(path))
    assert calibrated(0.5) > 0.7  # sigmoid(2 * 0 + 1)
    with calibration_disabled():
        assert calibrated(0.5) == 0.5
