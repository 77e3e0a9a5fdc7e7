"""Liveness of the long-running stages, for container healthchecks.

Each stage touches ``<data_dir>/health/<stage>`` while its loop is turning, under the stage names ``collect``,
``enrich`` and ``index`` (the indexer while it polls, even when it holds a batch for Elasticsearch; the
enricher while its stall watch finds it working or idle; the collector between polls). A stalled process
stops touching it, and the check fails:

    python -m pipeline.health index --max-age 120    # exit 0: alive, 1: stalled or never started (as Docker expects)
    python -m pipeline.health --any                  # alive if any stage here is (the image's own check)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipeline.settings import Settings, SettingsInvalid, load_settings

STAGES = ("collect", "enrich", "index")

_last_touch: dict[str, float] = {}


def heartbeat_path(settings: Settings, stage: str) -> Path:
    return settings.data_dir / "health" / stage


def touch(settings: Settings, stage: str, every_seconds: float = 5.0) -> None:
    """Mark ``stage`` alive (at most once per ``every_seconds``; a failure to write is not the stage's)."""
    now = time.monotonic()
    if now - _last_touch.get(stage, -every_seconds) < every_seconds:
        return
    _last_touch[stage] = now
    path = heartbeat_path(settings, stage)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass


def age_seconds(settings: Settings, stage: str) -> float | None:
    try:
        return time.time() - heartbeat_path(settings, stage).stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exit 0 if the stage's heartbeat is recent, else 1.")
    parser.add_argument("stage", nargs="?", choices=STAGES)
    parser.add_argument("--any", action="store_true", help="alive if any stage's heartbeat is recent")
    parser.add_argument("--max-age", type=float, default=120.0, help="seconds since the last heartbeat")
    args = parser.parse_args(argv)
    if (args.stage is None) == (not args.any):
        parser.error("give a stage or --any")
    try:
        settings = load_settings()
    except SettingsInvalid as exc:  # a wrong PIPELINE_* value: one line per setting, not a traceback
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    if args.any:
        ages = {stage: age for stage in STAGES if (age := age_seconds(settings, stage)) is not None}
        if not ages:
            print("no stage has a heartbeat here yet")
            return 1
        stage, age = min(ages.items(), key=lambda item: item[1])
        verdict = "alive" if age <= args.max_age else "stalled"
        print(f"{stage}: {verdict}, last heartbeat {age:.0f}s ago (limit {args.max_age:.0f}s)")
        return 0 if age <= args.max_age else 1
    age = age_seconds(settings, args.stage)
    if age is None:
        print(f"{args.stage}: no heartbeat yet")
        return 1
    if age > args.max_age:
        print(f"{args.stage}: stalled, last heartbeat {age:.0f}s ago (limit {args.max_age:.0f}s)")
        return 1
    print(f"{args.stage}: alive, last heartbeat {age:.0f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
