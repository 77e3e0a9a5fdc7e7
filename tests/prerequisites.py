"""The one skip policy of the suite: a test whose prerequisite is missing (development data in ../shared, a
stack this run may inject faults into, the broker's SASL listener) is skipped with a reason, except under
``CI=true``, where it fails: CI starts its own stack and has the data, so a skip there would hide a test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def prerequisite_missing(message: str) -> NoReturn:
    """Skip the calling test with ``message``; under ``CI=true``, fail it instead."""
    if under_ci():
        pytest.fail(message + "; under CI=true a missing prerequisite is a failure, not a skip", pytrace=False)
    pytest.skip(message)
