"""Tests needing ../shared skip without it, naming what is missing; under CI=true they fail instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.prerequisites import prerequisite_missing
from tests.shared_data import require_shared


def test_missing_data_skips_and_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"the seed article not found at .*missing\.txt"):
        require_shared(tmp_path / "missing.txt", "the seed article")


def test_missing_data_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true a missing prerequisite is a failure"):
        require_shared(tmp_path / "missing.txt", "the seed article")


def test_present_data_is_returned(tmp_path: Path) -> None:
    assert require_shared(tmp_path, "a directory") == tmp_path


def test_every_missing_prerequisite_follows_the_same_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no fault injection: .* under CI=true"):
        prerequisite_missing("no fault injection: the stack is not this run's")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="no fault injection"):
        prerequisite_missing("no fault injection: the stack is not this run's")
