"""Test-wide set-up: logs go to the stderr of the moment, so pytest's capture never sees a closed stream."""

from __future__ import annotations

from pipeline.logconfig import configure_logging
from pipeline.settings import Settings

configure_logging(Settings())
