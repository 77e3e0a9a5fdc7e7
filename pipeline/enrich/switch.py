"""A process-wide on/off switch, turned off for a block (evaluation compares the coder with and without a
learned part: the story classifier's prior, the confidence calibration)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Switch:
    def __init__(self) -> None:
        self.on = True

    @contextmanager
    def off(self) -> Iterator[None]:
        previous, self.on = self.on, False
        try:
            yield
        finally:
            self.on = previous
