"""Which dead letters a command means, and where a replay sends each one. Pure functions on plain records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.records import DeadLetter, Stage
from pipeline.settings import Settings


@dataclass(frozen=True)
class Letter:
    """A dead letter and where it sits on the dead-letter topic (its id for ``show``: ``partition:offset``)."""

    partition: int
    offset: int
    record: DeadLetter

    @property
    def letter_id(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True)
class LetterFilter:
    stage: Stage | None = None
    reason: str | None = None  # a case-insensitive substring of the reason or the error type
    since: datetime | None = None
    until: datetime | None = None
    source_topic: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.stage and letter.stage != self.stage:
            return False
        if self.reason:
            wanted = self.reason.casefold()
            if wanted not in letter.reason.casefold() and wanted not in letter.error_type.casefold():
                return False
        if self.since and letter.at < self.since:
            return False
        if self.until and letter.at > self.until:
            return False
        return not (self.source_topic and letter.source_topic != self.source_topic)


@dataclass(frozen=True)
class ReplayPlan:
    """How one letter goes back: its payload is either kept in the letter or fetched from its source offset."""

    letter: Letter
    topic: str
    # As the letter kept it (an undecodable original key comes back backslash-escaped); None: the message had no
    # key, and goes back without one (an empty key would send every such message to one partition).
    key: str | None
    payload_in_letter: bool


def replay_topics(settings: Settings) -> set[str]:
    """The only topics a replay may write to: those the pipeline's stages read (enrich: raw articles; index:
    enriched articles and events). A letter is data; it must not aim a replay anywhere else."""
    return {settings.topic_raw, settings.topic_enriched, settings.topic_events}


def plan_replay(letters: list[Letter], input_topics: set[str]) -> tuple[list[ReplayPlan], list[tuple[Letter, str]]]:
    """Replay plans for the letters that can go back to one of ``input_topics``, and why each other one cannot."""
    plans: list[ReplayPlan] = []
    skipped: list[tuple[Letter, str]] = []
    for letter in letters:
        record = letter.record
        if not record.source_topic:
            skipped.append((letter, "no source topic (a collector item: later polls of its feed try it again)"))
        elif record.source_topic not in input_topics:
            allowed = ", ".join(sorted(input_topics))
            skipped.append((letter, f"source topic {record.source_topic!r} is not a pipeline input ({allowed})"))
        elif record.payload is None and (record.partition is None or record.offset is None):
            skipped.append((letter, "neither the payload nor its source offset was kept"))
        elif record.payload is not None and record.payload_encoding is None:
            skipped.append((letter, "an old letter whose payload was kept as truncated text"))
        else:
            plans.append(ReplayPlan(letter, record.source_topic, record.key, record.payload is not None))
    return plans, skipped
