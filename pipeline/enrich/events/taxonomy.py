"""The PLOVER event taxonomy and trigger lexicon, read once from ``pipeline/data/plover.yaml``.

The YAML file is the single source of truth: event types, modes, CAMEO roots, the codebook rules the coder
applies (``intent``, ``demand_mode``, ``speech_act``) and the trigger lexicon. Its ``version`` is stamped on
every event as ``Lineage.taxonomy_version``, so a lexicon change must bump it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.records import QuadClass

TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "data" / "plover.yaml"

PLOVER_TYPES: tuple[str, ...] = (
    "AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST",
    "ACCUSE", "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT",
)  # fmt: skip

TriggerKind = Literal["lemma", "phrase", "verb_arg"]
_WEIGHT_DEFAULTS: dict[str, float] = {"lemma": 0.6, "phrase": 0.75, "verb_arg": 0.75}
_CAMEO_ROOT = re.compile(r"^(0[1-9]|1[0-9]|20)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriggerEntry(_Strict):
    pattern: str
    weight: float | None = None
    swap: bool = False
    # The CAMEO code the trigger carries when it is more specific than its type's root (an appeal, CAMEO 02,
    # is a REQUEST as a demand, 10, is).
    cameo: str | None = None

    @field_validator("weight")
    @classmethod
    def _weight_in_range(cls, weight: float | None) -> float | None:
        if weight is not None and not 0.0 < weight <= 1.0:
            raise ValueError(f"trigger weight must be in (0, 1], got {weight}")
        return weight


class IntentSpec(_Strict):
    type: str
    mode: str | None = None


class ModeSpec(_Strict):
    definition: str
    intensity: float | None = Field(None, ge=-10.0, le=10.0)
    cameo_root: str | None = None
    triggers: list[TriggerEntry | str] = Field(default_factory=list)


class TypeSpec(_Strict):
    quad: QuadClass
    intensity: float = Field(ge=-10.0, le=10.0)
    cameo_roots: list[str] = Field(min_length=1)
    definition: str
    speech_act: bool = False
    intent: IntentSpec
    demand_mode: str
    triggers: list[TriggerEntry | str] = Field(default_factory=list)
    modes: dict[str, ModeSpec] = Field(default_factory=dict)

    @field_validator("cameo_roots")
    @classmethod
    def _roots_are_two_digit(cls, roots: list[str]) -> list[str]:
        for root in roots:
            if not _CAMEO_ROOT.match(root):
                raise ValueError(f"not a CAMEO root code: {root!r}")
        return roots


class CurtailSpec(_Strict):
    becomes: str
    mode: str | None = None
    types: list[str] = Field(default_factory=list)
    verbs: list[str] = Field(default_factory=list)
    nouns: list[str] = Field(default_factory=list)


class CessationSpec(_Strict):
    becomes: str
    verbs: list[str] = Field(default_factory=list)
    nouns: list[str] = Field(default_factory=list)
    curtails: CurtailSpec | None = None


class TaxonomyFile(_Strict):
    version: str = Field(min_length=1)
    not_triggers: list[str] = Field(default_factory=list)
    cessation: CessationSpec | None = None
    types: dict[str, TypeSpec]

    @model_validator(mode="after")
    def _consistent(self) -> TaxonomyFile:
        if set(self.types) != set(PLOVER_TYPES):
            missing = sorted(set(PLOVER_TYPES) - set(self.types))
            extra = sorted(set(self.types) - set(PLOVER_TYPES))
            raise ValueError(f"taxonomy must define exactly the 16 PLOVER types (missing {missing}, extra {extra})")
        if self.cessation is not None and self.cessation.becomes not in self.types:
            raise ValueError(f"cessation.becomes {self.cessation.becomes!r} is not a PLOVER type")
        for name, spec in self.types.items():
            target = self.types.get(spec.intent.type)
            if target is None:
                raise ValueError(f"{name}: intent type {spec.intent.type!r} is not a PLOVER type")
            if spec.intent.mode is not None and spec.intent.mode not in target.modes:
                raise ValueError(f"{name}: intent mode {spec.intent.mode!r} is not a mode of {spec.intent.type}")
            for demanding in ("REQUEST", "REJECT"):
                if spec.demand_mode not in self.types[demanding].modes:
                    raise ValueError(f"{name}: demand_mode {spec.demand_mode!r} is not a {demanding} mode")
            for mode_name, mode in spec.modes.items():
                if mode.cameo_root is not None and not _CAMEO_ROOT.match(mode.cameo_root):
                    raise ValueError(f"{name}/{mode_name}: bad cameo_root {mode.cameo_root!r}")
        return self


@dataclass(frozen=True)
class Trigger:
    """One parsed lexicon entry.

    ``lemma``: ``words`` has one lemma. ``phrase``: a contiguous lemma sequence. ``verb_arg``: ``words`` is the
    verb part (verb lemma plus particles / prepositions) and ``arg`` the argument phrase whose last word is
    the argument's head lemma.
    """

    event_type: str
    mode: str | None
    kind: TriggerKind
    words: tuple[str, ...]
    arg: tuple[str, ...] = ()
    pos: Literal["NOUN", "VERB"] | None = None
    weight: float = 0.6
    swap: bool = False
    pattern: str = ""
    cameo: str | None = None  # CAMEO code of this trigger when known (the verb dictionary's, or the lexicon's)
    origin: Literal["lexicon", "dictionary"] = "lexicon"


def parse_trigger(entry: TriggerEntry | str, event_type: str, mode: str | None) -> Trigger:
    spec = TriggerEntry(pattern=entry) if isinstance(entry, str) else entry
    text = spec.pattern.strip().lower()
    pos: Literal["NOUN", "VERB"] | None = None
    if text.endswith((":n", ":v")):
        pos = "NOUN" if text.endswith(":n") else "VERB"
        text = text[:-2]
    if ">" in text:
        verb_part, _, arg_part = text.partition(">")
        words, arg = tuple(verb_part.split()), tuple(arg_part.split())
        if not words or not arg:
            raise ValueError(f"bad verb + argument trigger {spec.pattern!r}")
        kind: TriggerKind = "verb_arg"
    else:
        words, arg = tuple(text.split()), ()
        kind = "lemma" if len(words) == 1 else "phrase"
    if not words or any(not w for w in words):
        raise ValueError(f"empty trigger in {event_type}/{mode}")
    weight = spec.weight if spec.weight is not None else _WEIGHT_DEFAULTS[kind]
    return Trigger(event_type, mode, kind, words, arg, pos, weight, spec.swap, spec.pattern, spec.cameo)


class Taxonomy:
    """Validated taxonomy with the lookups the coder needs."""

    def __init__(self, spec: TaxonomyFile, dictionary: Sequence[Trigger] = (), dictionary_version: str = "") -> None:
        """``dictionary``: triggers compiled from the field's verb dictionary (``verb_dictionary``); the
        lexicon's own entries win over them wherever both have a pattern, and their words."""
        self.spec = spec
        self.version = f"{spec.version}+{dictionary_version}" if dictionary_version else spec.version
        lexicon = self._parse_all()
        seen: dict[tuple[object, ...], Trigger] = {}
        for trig in lexicon:
            key = (trig.kind, trig.words, trig.arg, trig.pos)
            if key in seen:
                other = seen[key]
                raise ValueError(
                    f"trigger {trig.pattern!r} is listed twice ({other.event_type}/{other.mode} and "
                    f"{trig.event_type}/{trig.mode})"
                )
            seen[key] = trig
        # A lexicon word (any part of speech) is the lexicon's to code: a dictionary entry of the same bare
        # word would only compete with it.
        lexicon_words = {trig.words for trig in lexicon if trig.kind != "verb_arg"}
        extra = []
        for trig in dictionary:
            key = (trig.kind, trig.words, trig.arg, trig.pos)
            if key in seen or (trig.kind != "verb_arg" and trig.words in lexicon_words):
                continue
            if trig.mode is not None and trig.mode not in spec.types[trig.event_type].modes:
                trig = replace(trig, mode=None)
            seen[key] = trig
            extra.append(trig)
        self.triggers: tuple[Trigger, ...] = (*lexicon, *extra)

    def _parse_all(self) -> list[Trigger]:
        out: list[Trigger] = []
        for name, tspec in self.spec.types.items():
            out.extend(parse_trigger(e, name, None) for e in tspec.triggers)
            for mode_name, mspec in tspec.modes.items():
                out.extend(parse_trigger(e, name, mode_name) for e in mspec.triggers)
        return out

    def not_triggers(self) -> tuple[tuple[str, ...], ...]:
        """Lemma sequences that name no event although they contain trigger words ("news conference")."""
        return tuple(tuple(p.lower().split()) for p in self.spec.not_triggers)

    def cessation(self) -> tuple[str | None, frozenset[str], frozenset[str]]:
        """(type, verb lemmas, noun lemmas): ending a conflictual action is coded as that type."""
        spec = self.spec.cessation
        if spec is None:
            return None, frozenset(), frozenset()
        return spec.becomes, frozenset(spec.verbs), frozenset(spec.nouns)

    def curtailing(self) -> CurtailSpec | None:
        """How ending a cooperative exchange is coded (SANCTION/discontinue), if the taxonomy says."""
        return self.spec.cessation.curtails if self.spec.cessation is not None else None

    def quad_class(self, event_type: str) -> QuadClass:
        return self.spec.types[event_type].quad

    def intensity(self, event_type: str, mode: str | None = None) -> float:
        """Signed conflict-cooperation score of the type, or of its mode when the codebook scores it."""
        tspec = self.spec.types[event_type]
        mode_spec = tspec.modes.get(mode) if mode is not None else None
        if mode_spec is not None and mode_spec.intensity is not None:
            return mode_spec.intensity
        return tspec.intensity

    def is_conflict(self, event_type: str) -> bool:
        return self.spec.types[event_type].quad in {"verbal-conflict", "material-conflict"}

    @property
    def event_types(self) -> tuple[str, ...]:
        return PLOVER_TYPES

    def type_spec(self, event_type: str) -> TypeSpec:
        return self.spec.types[event_type]

    def modes(self, event_type: str) -> tuple[str, ...]:
        return tuple(self.spec.types[event_type].modes)

    def cameo_root(self, event_type: str, mode: str | None = None) -> str:
        tspec = self.spec.types[event_type]
        if mode is not None and mode in tspec.modes and tspec.modes[mode].cameo_root:
            return tspec.modes[mode].cameo_root or tspec.cameo_roots[0]
        return tspec.cameo_roots[0]

    def intent(self, event_type: str, mode: str | None) -> tuple[str, str | None]:
        """What an announced / promised / future ``event_type`` is coded as (codebook sections 2.3, 3.1, 3.4)."""
        spec = self.spec.types[event_type].intent
        if spec.type == event_type:
            return event_type, mode
        if spec.type == "THREATEN":
            return spec.type, self._threat_mode(event_type, mode) or spec.mode
        return spec.type, spec.mode

    def demand_mode(self, event_type: str) -> str:
        """REQUEST / REJECT mode when ``event_type`` is what is demanded or refused."""
        return self.spec.types[event_type].demand_mode

    def is_speech_act(self, event_type: str) -> bool:
        return self.spec.types[event_type].speech_act

    def _threat_mode(self, event_type: str, mode: str | None) -> str | None:
        # A threatened arrest or expulsion keeps its own THREATEN mode; the rest use the type's default.
        if mode is not None and mode in self.spec.types["THREATEN"].modes:
            return mode
        if mode == "deport":
            return "expel"
        return None


def load_taxonomy(path: Path = TAXONOMY_PATH, *, with_dictionary: bool = True) -> Taxonomy:
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not with_dictionary:
        return Taxonomy(TaxonomyFile.model_validate(raw))
    from pipeline.enrich.dictionaries import verb_dictionary

    triggers, version = verb_dictionary()
    return Taxonomy(TaxonomyFile.model_validate(raw), triggers, version)


@lru_cache(maxsize=1)
def get_taxonomy() -> Taxonomy:
    """The taxonomy of ``pipeline/data/plover.yaml``, parsed and validated once per process."""
    return load_taxonomy()


TAXONOMY_VERSION: str = get_taxonomy().version
