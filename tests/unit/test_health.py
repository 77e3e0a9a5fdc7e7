"""Heartbeat files for container healthchecks."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline import health
from pipeline.settings import Settings


def test_a_recent_heartbeat_is_alive_and_an_old_one_stalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    assert health.main(["index"]) == 1  # never started
    health.touch(Settings(), "index", every_seconds=0)
    assert health.main(["index", "--max-age", "60"]) == 0
    old = time.time() - 600
    os.utime(health.heartbeat_path(Settings(), "index"), (old, old))
    assert health.main(["index", "--max-age", "60"]) == 1
    assert "stalled" in capsys.readouterr().out


def test_the_docstring_names_the_real_stages() -> None:
    """It showed `python -m pipeline.health indexer`, which argparse refuses: the stages are collect, enrich, index."""
    import re

    import pipeline.health as health

    shown = re.findall(r"python -m pipeline\.health (\w+)", health.__doc__ or "")
    assert shown and set(shown) <= set(health.STAGES)


def test_any_stage_is_the_image_default_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    assert health.main(["--any"]) == 1  # nothing has started
    health.touch(Settings(), "collect", every_seconds=0)
    assert health.main(["--any", "--max-age", "60"]) == 0
    old = time.time() - 600
    os.utime(health.heartbeat_path(Settings(), "collect"), (old, old))
    assert health.main(["--any", "--max-age", "60"]) == 1
    with pytest.raises(SystemExit):
        health.main([])  # a stage or --any, never neither
