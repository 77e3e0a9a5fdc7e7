"""``python -m pipeline`` as a user runs it, for unit and integration tests alike: a subprocess whose
environment holds no PIPELINE_* of the caller's shell, with services at a dead address unless a test says
otherwise, and the check that an expected failure is a short message, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEAD = "127.0.0.1:1"


def run_pipeline(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    environment.update(
        PIPELINE_KAFKA_BOOTSTRAP=DEAD,
        PIPELINE_ELASTICSEARCH_URL=f"http://{DEAD}",
        PIPELINE_SERVICE_WAIT_SECONDS="2",
        PIPELINE_DATA_DIR=str(REPO / ".pipeline" / "test-cli-errors"),
    )
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=timeout,
    )


def assert_message(result: subprocess.CompletedProcess[str], *, exit_code: int, says: str, where: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, output
    assert "Traceback" not in output, output
    assert len(output.strip().splitlines()) <= 15, output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error_lines and says in error_lines[0] and where in error_lines[0], output
