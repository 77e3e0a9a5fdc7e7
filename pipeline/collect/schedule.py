"""Adaptive polling: feeds that change often are polled more often, quiet or failing ones less, in bounds."""

from __future__ import annotations

SPEED_UP = 0.5  # new items: halve the interval
SLOW_DOWN = 1.5  # nothing new: stretch it by half
BACK_OFF = 2.0  # failure: double it, so a broken feed is not hammered


def next_interval(current: float, *, changed: bool, failed: bool, lower: float, upper: float) -> float:
    """The interval until the next poll of a feed, from the current one and what this poll saw."""
    if lower > upper:
        lower, upper = upper, lower
    if failed:
        factor = BACK_OFF
    elif changed:
        factor = SPEED_UP
    else:
        factor = SLOW_DOWN
    return min(max(current * factor, lower), upper)
