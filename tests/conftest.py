"""Test-wide set-up: logs go to the stderr of the moment, so pytest's capture never sees a closed stream."""

from __future__ import annotations

import os

from pipeline.logconfig import configure_logging
from pipeline.settings import Settings

configure_logging(Settings())

# The cluster tests start a 3-broker, 2-node stack and kill nodes: minutes of work, too long for CI, and never
# to be run by accident against a shared stack. `./run cluster-test` runs them (it sets this variable).
collect_ignore = [] if os.environ.get("PIPELINE_CLUSTER_TESTS") == "1" else ["cluster"]
