"""``pipeline train events`` and ``pipeline train event-calibration``: the commands that write the shipped event
models (the story classifier, the confidence calibration) belong under ``train``, not under ``evaluate``,
whose commands only read.

The commands themselves live with the event evaluation (``pipeline.evaluate.events``), which registers them on
``evaluate_app`` under their first names; this module files them under ``train`` and leaves the old names as
hidden aliases that say where the command went.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer

# old name under `pipeline evaluate` -> new name under `pipeline train`
MOVED = {"train-events": "events", "calibrate-events": "event-calibration"}


def _moved(callback: Callable[..., Any], old: str, new: str) -> Callable[..., Any]:
    @functools.wraps(callback)
    def still_works(*args: Any, **kwargs: Any) -> Any:
        print(f"note: `pipeline evaluate {old}` is now `pipeline train {new}`", file=sys.stderr)
        return callback(*args, **kwargs)

    return still_works


def register(app: typer.Typer) -> None:
    try:
        import pipeline.evaluate.events  # noqa: F401  (registers the commands on evaluate_app)
    except ModuleNotFoundError:
        return
    from pipeline.evaluate import evaluate_app
    from pipeline.train.ner import train_app

    for info in evaluate_app.registered_commands:
        new = MOVED.get(info.name or "")
        if new is None or info.callback is None or info.hidden:
            continue
        train_app.command(new, help=info.help)(info.callback)
        info.hidden = True
        info.callback = _moved(info.callback, str(info.name), new)
