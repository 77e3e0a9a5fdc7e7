"""Confidence as a probability: the coder's heuristic score mapped through a fitted logistic curve.

The heuristic (``events.identity._confidence``) orders events well but is not a probability. A two-parameter
logistic map ``p = sigmoid(a * logit(score) + b)`` (Platt scaling) is fitted on data we own, the hand-coded
gold events (``tests/gold/events.yaml``), by ``pipeline evaluate calibrate-events``: each coded event of a
gold document is right (its type, source and target match a gold event) or wrong. The fit is pulled towards
the identity map (a=1, b=0) with the weight of 20 events, so that a small gold file, in-domain for the
rules, cannot make it extreme. The parameters live in
``pipeline/data/event_calibration.json``; without the file the score is published as it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pipeline.enrich.switch import Switch

CALIBRATION_PATH = Path(__file__).resolve().parents[2] / "data" / "event_calibration.json"
_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(1 - _EPS, max(_EPS, p))
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def load_calibration_from(path: Path) -> dict[str, float] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"a": float(data["a"]), "b": float(data["b"])}


@lru_cache(maxsize=1)
def load_calibration() -> dict[str, float] | None:
    """The fitted parameters, or None before ``pipeline evaluate calibrate-events`` has written them."""
    return load_calibration_from(CALIBRATION_PATH)


_CALIBRATION = Switch()
# Publish raw scores (to fit the calibration on them).
calibration_disabled = _CALIBRATION.off


def calibrated(score: float) -> float:
    params = load_calibration() if _CALIBRATION.on else None
    if params is None:
        return score
    return apply_calibration(score, params["a"], params["b"])


def apply_calibration(score: float, a: float, b: float) -> float:
    """The logistic map ``sigmoid(a * logit(score) + b)``."""
    return _sigmoid(a * _logit(score) + b)


def fit_calibration(scores: Sequence[float], right: Sequence[bool], prior: float = 20.0) -> tuple[float, float]:
    """Platt scaling by Newton's method on the log-likelihood with an L2 pull of strength ``prior`` towards
    the identity map; deterministic."""
    a, b = 1.0, 0.0
    xs = [_logit(s) for s in scores]
    ys = [1.0 if r else 0.0 for r in right]
    for _ in range(50):
        ga, gb = prior * (a - 1.0), prior * b
        haa, hab, hbb = prior, 0.0, prior
        for x, y in zip(xs, ys, strict=True):
            p = _sigmoid(a * x + b)
            ga += (p - y) * x
            gb += p - y
            w = p * (1 - p)
            haa += w * x * x
            hab += w * x
            hbb += w
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-9:
            break
    return a, b


def save_calibration(a: float, b: float, meta: dict[str, object], path: Path = CALIBRATION_PATH) -> None:
    path.write_text(json.dumps({"a": round(a, 4), "b": round(b, 4), "meta": meta}, indent=2) + "\n", encoding="utf-8")
    load_calibration.cache_clear()
