"""``./run`` refuses a Python the project does not support, with a message, before making a virtualenv."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_run_refuses_an_unsupported_python(tmp_path: Path) -> None:
    shutil.copy(REPO / "run", tmp_path / "run")
    old_python = tmp_path / "python3.10"
    # Answers as an interpreter 3.10 would: the version check fails, the version is 3.10.13.
    old_python.write_text('#!/bin/sh\ncase "$2" in *platform*) echo 3.10.13;; *) exit 1;; esac\n')
    old_python.chmod(0o755)
    result = subprocess.run(
        ["bash", str(tmp_path / "run"), "status"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": str(old_python)},
        timeout=60,
    )
    assert result.returncode == 78, result.stderr
    assert "is Python 3.10.13; this project needs 3.11 or 3.12" in result.stderr
    assert not (tmp_path / ".venv").exists()


def test_the_supported_versions_match_pyproject() -> None:
    import tomllib

    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11,<3.13"
    assert "(3, 11) <= sys.version_info[:2] < (3, 13)" in (REPO / "run").read_text()
