"""spaCy components that make the parse cheaper without changing what it says.

``attribute_lookup`` does the work of the model's ``attribute_ruler`` (fine-grained tag -> coarse POS and
morphology, plus a few word-form exceptions) with dictionary look-ups instead of the ``Matcher``. The ruler runs
every pattern over every token in Python, about 36 µs a token (benchmarks/component_profile.py); almost every
token's outcome depends only on four of its own attributes (tag, lower-case form, dependency label, whether it is
white space), so the outcome is computed once per distinct combination and then read from a dict.

It is compiled at load time from the ruler's own patterns (``AttributeRuler.patterns``), so it stays right for
whatever model is loaded; a ruler using a pattern feature it does not know is kept as it is
(``compiled_ruler`` returns None). The ruler's semantics are kept exactly:

- every pattern is matched against the token attributes as they were before any rule applied (the ``Matcher``
  runs first, then the rules are applied);
- rules apply in the order they were added, so a later rule overrides an earlier one on the same attribute;
- a missing annotation reads as the empty string (the ruler matches with ``allow_missing``: "DEP NOT_IN ['']"
  is how its patterns say "the token has been parsed").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy
import structlog
from spacy.attrs import DEP, IS_SPACE, LEMMA, LOWER, MORPH, POS, TAG
from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens._retokenize import normalize_token_attrs  # what AttributeRuler.add itself uses
from spacy.vocab import Vocab

log = structlog.get_logger(__name__)

ATTRIBUTE_LOOKUP = "attribute_lookup"
# What a token's outcome can depend on (the token features the model's patterns test), and what the rules set.
_FEATURES = {"TAG": 0, "LOWER": 1, "DEP": 2, "IS_SPACE": 3}
_FEATURE_IDS = [TAG, LOWER, DEP, IS_SPACE]
_SET = [POS, MORPH, LEMMA, TAG, DEP]
# Distinct feature combinations remembered; the cache is emptied when full (new words keep coming in news).
_CACHE_SIZE = 100_000

Key = tuple[int, int, int, int]  # (tag, lower, dep, is_space) of one token, as string ids and a flag
Test = Callable[[Sequence[str | bool]], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One ruler entry: token patterns (alternatives), the attributes it sets, the matched token it sets them on."""

    order: int  # rules apply in this order: a later one wins
    patterns: tuple[tuple[Test, ...], ...]
    sets: tuple[tuple[int, int], ...]  # (column in _SET, value as the ruler normalises it)
    index: int


class UnsupportedPattern(ValueError):
    """A ruler pattern this compiler does not translate (an operator, another token attribute, ...)."""


def _token_test(spec: Mapping[str, Any]) -> Test:
    """The condition one token pattern puts on the token's features (strings; IS_SPACE a bool)."""
    checks: list[Callable[[Sequence[str | bool]], bool]] = []
    for name, wanted in spec.items():
        column = _FEATURES.get(name)
        if column is None:
            raise UnsupportedPattern(f"token attribute {name!r}")
        checks.append(_value_test(column, wanted, boolean=name == "IS_SPACE"))
    return lambda features: all(check(features) for check in checks)


def _value_test(column: int, wanted: Any, *, boolean: bool) -> Callable[[Sequence[str | bool]], bool]:
    if boolean:
        if not isinstance(wanted, bool):
            raise UnsupportedPattern(f"a non-boolean value for a flag: {wanted!r}")
        return lambda features: features[column] is wanted
    if isinstance(wanted, str):
        return lambda features: features[column] == wanted
    if isinstance(wanted, dict) and len(wanted) == 1:
        ((operator, argument),) = wanted.items()
        if operator == "IN":
            allowed = frozenset(argument)
            return lambda features: features[column] in allowed
        if operator == "NOT_IN":
            refused = frozenset(argument)
            return lambda features: features[column] not in refused
        if operator == "REGEX":
            search = re.compile(argument).search  # the Matcher's REGEX is re.search on the string
            return lambda features: bool(search(str(features[column])))
    raise UnsupportedPattern(f"value {wanted!r}")


def compile_rules(patterns: Iterable[Mapping[str, Any]], vocab: Vocab) -> list[Rule]:
    """The ruler's entries (``AttributeRuler.patterns``) as rules; raises ``UnsupportedPattern``."""
    rules = []
    for order, entry in enumerate(patterns):
        alternatives = tuple(tuple(_token_test(token) for token in pattern) for pattern in entry["patterns"])
        normalised = normalize_token_attrs(vocab, dict(entry["attrs"]))
        sets = []
        for attr, value in normalised.items():
            if attr not in _SET:
                raise UnsupportedPattern(f"sets attribute {attr!r}")
            sets.append((_SET.index(attr), int(value)))
        index = int(entry.get("index", 0))
        if any(not -len(p) <= index < len(p) for p in alternatives):
            raise UnsupportedPattern(f"index {index} outside its pattern")
        rules.append(Rule(order, alternatives, tuple(sets), index))
    return rules


Step = tuple[int, tuple[tuple[int, int], ...]]  # (order, sets) of a rule applied to one token
Result = tuple[tuple[int, int], ...]  # (column in _SET, value) a token ends with


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the one-token rules do to a token with given features, and whether a longer pattern may start there."""

    steps: tuple[Step, ...]  # the rules that apply, in order
    result: Result  # what they leave
    starts: bool


class AttributeLookup:
    """The ruler's rules applied by look-up: one-token patterns through a cache keyed by the token's features,
    longer patterns tried only where their first token fits."""

    def __init__(self, vocab: Vocab, rules: Sequence[Rule]) -> None:
        self.vocab = vocab
        # A rule may mix one-token and longer alternatives: each kind is tried where it belongs.
        self.single = [(r, [p[0] for p in r.patterns if len(p) == 1]) for r in rules]
        self.single = [(r, tests) for r, tests in self.single if tests]
        self.longer = [(r, [p for p in r.patterns if len(p) > 1]) for r in rules]
        self.longer = [(r, patterns) for r, patterns in self.longer if patterns]
        self._cache: dict[Key, Outcome] = {}

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        keys: list[Key] = [tuple(row) for row in doc.to_array(_FEATURE_IDS).tolist()]
        outcomes = [self._outcome(key) for key in keys]
        if any(outcome.starts for outcome in outcomes):
            results = self._with_longer(keys, outcomes)
        else:
            results = [outcome.result for outcome in outcomes]
        # Each attribute's new values written column by column: one numpy assignment each, not one a token.
        rows: list[list[int]] = [[] for _ in _SET]
        written: list[list[int]] = [[] for _ in _SET]
        for i, result in enumerate(results):
            for column, value in result:
                rows[column].append(i)
                written[column].append(value)
        if any(rows):
            values: Any = doc.to_array(_SET)
            for column, (at, new_values) in enumerate(zip(rows, written, strict=True)):
                if at:
                    values[at, column] = numpy.array(new_values, dtype=numpy.uint64)  # hashes: no float
            doc.from_array(_SET, values)
        return doc

    def _outcome(self, key: Key) -> Outcome:
        found = self._cache.get(key)
        if found is None:
            features = self._features(key)
            steps = tuple((r.order, r.sets) for r, tests in self.single if any(t(features) for t in tests))
            starts = any(p[0](features) for _, patterns in self.longer for p in patterns)
            found = Outcome(steps, _result(steps), starts)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _features(self, key: Key) -> tuple[str, str, str, bool]:
        strings = self.vocab.strings
        tag, lower, dep, space = key
        return (
            strings[tag] if tag else "",
            strings[lower] if lower else "",
            strings[dep] if dep else "",
            bool(space),
        )

    def _with_longer(self, keys: Sequence[Key], outcomes: Sequence[Outcome]) -> list[Result]:
        """Each token's result with the longer patterns matching around it applied too, in rule order."""
        steps: list[list[Step]] = [list(outcome.steps) for outcome in outcomes]
        extra: set[int] = set()
        for start, outcome in enumerate(outcomes):
            if not outcome.starts:
                continue
            for rule, patterns in self.longer:
                for pattern in patterns:
                    end = start + len(pattern)
                    if end > len(keys):
                        continue
                    if all(test(self._features(keys[start + k])) for k, test in enumerate(pattern)):
                        target = start + (rule.index if rule.index >= 0 else len(pattern) + rule.index)
                        steps[target].append((rule.order, rule.sets))
                        extra.add(target)
        return [
            _result(sorted(token_steps, key=lambda step: step[0])) if i in extra else outcomes[i].result
            for i, token_steps in enumerate(steps)
        ]


def _result(steps: Iterable[Step]) -> Result:
    """The (column, value) pairs a token ends with after ``steps`` in order: the last rule setting a column wins."""
    final: dict[int, int] = {}
    for _, sets in steps:
        final.update(sets)
    return tuple(final.items())


def compiled_ruler(nlp: Language, ruler_name: str = "attribute_ruler") -> AttributeLookup | None:
    """An ``AttributeLookup`` of ``nlp``'s ruler, or None if a pattern is beyond it (the ruler is then kept)."""
    ruler = nlp.get_pipe(ruler_name)
    try:
        rules = compile_rules(ruler.patterns, nlp.vocab)  # type: ignore[attr-defined]
    except UnsupportedPattern as exc:
        log.warning("attribute ruler kept: a pattern has no look-up form", ruler=ruler_name, pattern=str(exc))
        return None
    return AttributeLookup(nlp.vocab, rules)


@Language.factory(ATTRIBUTE_LOOKUP, default_config={"ruler": "attribute_ruler"})
def make_attribute_lookup(nlp: Language, name: str, ruler: str) -> AttributeLookup:
    """The look-up form of the pipeline's ``ruler`` component (add it before removing the ruler)."""
    lookup = compiled_ruler(nlp, ruler)
    if lookup is None:
        raise UnsupportedPattern(f"{ruler!r} has a pattern with no look-up form")
    return lookup


def use_attribute_lookup(nlp: Language, ruler: str = "attribute_ruler") -> bool:
    """Put ``attribute_lookup`` in the place of ``ruler`` in ``nlp``; False (the ruler kept) if it cannot be
    compiled."""
    if ruler not in nlp.pipe_names or compiled_ruler(nlp, ruler) is None:
        return False
    nlp.add_pipe(ATTRIBUTE_LOOKUP, after=ruler, config={"ruler": ruler})
    nlp.remove_pipe(ruler)
    return True
