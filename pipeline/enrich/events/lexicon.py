"""Finds trigger words and phrases of the PLOVER lexicon in a parsed document.

One pass over the tokens with dictionary look-ups keyed by lemma and lower-cased surface form (so the
lexicon can be written with either); multiword phrases are checked token by token from their first word,
and verb + argument patterns are checked against the dependency tree. The index is built once per
taxonomy object and reused for every document, so the per-article cost is a few dict look-ups per token.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from spacy.tokens import Doc, Token

from pipeline.enrich.events.taxonomy import Taxonomy, Trigger, get_taxonomy

# Parts of speech a bare lemma trigger may have: content words only, so "back" (ADV) or "fire" in a
# compound adjective never fire unless the lexicon says so.
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
_NOUN_POS = frozenset({"NOUN", "PROPN"})
# Arcs followed from a verb to find its argument ("imposed a curfew", "curfew was imposed", "called for the
# release of"); subjects, other clauses and conjuncts are other participants or other events.
_ARG_DEPS = frozenset({"dobj", "obj", "nsubjpass", "attr", "oprd", "prep", "pobj", "xcomp", "dative", "acomp",
                       "compound", "amod", "nmod", "pcomp", "advmod", "npadvmod"})  # fmt: skip
_MODIFIER_DEPS = frozenset({"amod", "compound", "nmod"})
_PARTICLE_DEPS = frozenset({"prt", "prep", "advmod", "compound:prt"})
# Entity labels whose spans are names, not events ("Strike Force", "Operation Rescue").
_NAME_LABELS = frozenset({"PERSON", "ORG", "WORK_OF_ART", "LAW", "PRODUCT", "EVENT"})
# Entity labels whose words are never triggers: "in March" is a month, "Strike Force" a name.
_NOT_EVENT_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})
# Distinct (lemma, lower-case form) pairs whose look-up keys an index remembers; it forgets them all when full.
_KEY_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class TriggerMatch:
    trigger: Trigger
    head: Token
    token_ids: frozenset[int]

    @property
    def size(self) -> int:
        return len(self.token_ids)


class LexiconIndex:
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.lemma: dict[str, list[Trigger]] = defaultdict(list)
        self.phrase: dict[str, list[Trigger]] = defaultdict(list)
        self.verb_arg: dict[str, list[Trigger]] = defaultdict(list)
        for trig in taxonomy.triggers:
            table = {"lemma": self.lemma, "phrase": self.phrase, "verb_arg": self.verb_arg}[trig.kind]
            table[trig.words[0]].append(trig)
        self.not_triggers: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for words in taxonomy.not_triggers():
            self.not_triggers[words[0]].append(words)
        # A token's keys and whether any begins a trigger, by its (lemma, lower) string ids: the same words come
        # back in every article, and reading ``lemma_`` and ``lower_`` makes new strings each time.
        self._key_cache: dict[tuple[int, int], tuple[set[str], bool]] = {}

    def find(self, doc: Doc) -> list[TriggerMatch]:
        """All trigger matches, overlaps resolved in favour of longer, then heavier, matches."""
        # Each token and its look-up keys once: iterating a Doc makes new Token objects every time.
        tokens = list(doc)
        looked_up = [self._token_keys(tok) for tok in tokens]
        keys = [tok_keys for tok_keys, _ in looked_up]
        blocked = _name_token_ids(doc) | self._blocked(doc, tokens, keys)
        may_trigger = [found for _, found in looked_up]
        candidates = [
            m
            for m in self._candidates(doc, tokens, keys, may_trigger)
            if m.head.i not in blocked and not (m.token_ids & blocked)
        ]
        # The lexicon's matches first: the verb dictionary fills in only where the lexicon has nothing.
        candidates.sort(key=lambda m: (m.trigger.origin != "lexicon", -m.size, -m.trigger.weight, m.head.i))
        taken: set[int] = set()
        kept: list[TriggerMatch] = []
        for match in candidates:
            if match.token_ids & taken:
                continue
            # "send humanitarian aid": a modifier of a word already in a trigger adds nothing of its own.
            if match.size == 1 and match.head.dep_ in _MODIFIER_DEPS and match.head.head.i in taken:
                continue
            taken |= match.token_ids
            kept.append(match)
        kept = _dictionary_as_fallback(kept)
        kept.sort(key=lambda m: m.head.i)
        return kept

    def _token_keys(self, tok: Token) -> tuple[set[str], bool]:
        """``_keys(tok)``, and whether one of them is the first word of a trigger."""
        ids = (tok.lemma, tok.lower)
        found = self._key_cache.get(ids)
        if found is None:
            tok_keys = _keys(tok)
            found = (tok_keys, any(k in self.lemma or k in self.phrase or k in self.verb_arg for k in tok_keys))
            if len(self._key_cache) >= _KEY_CACHE_SIZE:
                self._key_cache.clear()
            self._key_cache[ids] = found
        return found

    def _blocked(self, doc: Doc, tokens: list[Token], keys: list[set[str]]) -> set[int]:
        """Tokens that are never triggers: dates and numbers, and the words of ``not_triggers`` phrases."""
        blocked = {tok.i for tok in tokens if tok.ent_type_ in _NOT_EVENT_LABELS}
        for tok, tok_keys in zip(tokens, keys, strict=True):
            for key in tok_keys:
                for words in self.not_triggers.get(key, ()):
                    end = _match_phrase(doc, tok.i, words)
                    if end is not None:
                        blocked.update(range(tok.i, end))
        return blocked

    def _candidates(
        self, doc: Doc, tokens: list[Token], keys: list[set[str]], may_trigger: list[bool]
    ) -> Iterator[TriggerMatch]:
        for tok, tok_keys, possible in zip(tokens, keys, may_trigger, strict=True):
            if not possible or tok.is_punct or tok.is_space:  # most words begin no trigger: no more to read
                continue
            verb = tok.pos_ == "VERB"
            arguments: _VerbArguments | None = None  # read once per verb, for all its patterns
            for key in tok_keys:
                for trig in self.lemma.get(key, ()):
                    if _pos_ok(tok, trig):
                        yield TriggerMatch(trig, tok, frozenset({tok.i}))
                for trig in self.phrase.get(key, ()):
                    phrase_match = _match_phrase(doc, tok.i, trig.words)
                    if phrase_match is not None:
                        span = doc[tok.i : phrase_match]
                        yield TriggerMatch(trig, span.root, frozenset(range(tok.i, phrase_match)))
                if verb:
                    for trig in self.verb_arg.get(key, ()):
                        arguments = arguments or _VerbArguments(tok)
                        ids = _match_verb_arg(tok, trig, arguments)
                        if ids is not None:
                            yield TriggerMatch(trig, tok, ids)


def _dictionary_as_fallback(matches: list[TriggerMatch]) -> list[TriggerMatch]:
    """Dictionary matches only in sentences where the lexicon found no trigger: the lexicon is written for this
    coder and reads its sentences better; the dictionary's breadth is for the sentences it misses."""
    if all(m.trigger.origin == "lexicon" for m in matches):
        return matches
    covered = {m.head.sent.start for m in matches if m.trigger.origin == "lexicon"}
    return [m for m in matches if m.trigger.origin == "lexicon" or m.head.sent.start not in covered]


def _keys(tok: Token) -> set[str]:
    return {tok.lemma_.lower(), tok.lower_}


def _word_ok(tok: Token, word: str) -> bool:
    return tok.lower_ == word or tok.lemma_.lower() == word


def _pos_ok(tok: Token, trig: Trigger) -> bool:
    if trig.pos == "NOUN":
        return tok.pos_ in _NOUN_POS
    if trig.pos == "VERB":
        return tok.pos_ == "VERB"
    return tok.pos_ in _CONTENT_POS


def _match_phrase(doc: Doc, start: int, words: tuple[str, ...]) -> int | None:
    end = start + len(words)
    if end > len(doc):
        return None
    for offset, word in enumerate(words[1:], start=1):
        if not _word_ok(doc[start + offset], word):
            return None
    return end


class _VerbArguments:
    """A verb's particles, and the tokens an argument is looked for in (its children on ``_ARG_DEPS`` arcs,
    breadth first, ``max_depth`` arcs deep), each by the words it answers to (``_word_ok``). Read once per verb:
    the compiled dictionaries give a common verb hundreds of patterns, and walking its tree for each one was the
    coder's largest cost after the parse (benchmarks/enrich_profile.py)."""

    __slots__ = ("particles", "reached")

    def __init__(self, verb: Token, max_depth: int = 3) -> None:
        self.particles = [(c, _words_of(c)) for c in verb.children if c.dep_ in _PARTICLE_DEPS]
        self.reached: dict[str, list[Token]] = defaultdict(list)  # word -> tokens answering to it, breadth first
        frontier = [(c, 1) for c in verb.children if c.dep_ in _ARG_DEPS]
        while frontier:
            tok, depth = frontier.pop(0)
            for word in _words_of(tok):
                self.reached[word].append(tok)
            if depth < max_depth:
                frontier.extend((c, depth + 1) for c in tok.children if c.dep_ in _ARG_DEPS)


def _words_of(tok: Token) -> set[str]:
    """The words ``_word_ok`` accepts for ``tok``."""
    return {tok.lower_, tok.lemma_.lower()}


def _match_verb_arg(verb: Token, trig: Trigger, arguments: _VerbArguments) -> frozenset[int] | None:
    ids = {verb.i}
    for particle in trig.words[1:]:
        hit = next((c for c, words in arguments.particles if particle in words), None)
        if hit is None:
            return None
        ids.add(hit.i)
    arg_ids = _find_arg(arguments, trig.arg)
    if arg_ids is None:
        return None
    return frozenset(ids | arg_ids)


def _find_arg(arguments: _VerbArguments, arg: tuple[str, ...]) -> set[int] | None:
    """The first token reached (breadth first) that is the argument's head word and follows its other words."""
    head_word, before = arg[-1], arg[:-1]
    for tok in arguments.reached.get(head_word, ()):
        start = tok.i - len(before)
        doc = tok.doc
        if start >= 0 and all(_word_ok(doc[start + k], w) for k, w in enumerate(before)):
            return set(range(start, tok.i + 1))
    return None


def _name_token_ids(doc: Doc) -> set[int]:
    ids: set[int] = set()
    for ent in doc.ents:
        if ent.label_ in _NAME_LABELS and len(ent) > 1:
            ids.update(range(ent.start, ent.end))
    return ids


@lru_cache(maxsize=4)
def _index_for(taxonomy_id: int) -> LexiconIndex:
    return LexiconIndex(get_taxonomy())


def lexicon_index() -> LexiconIndex:
    """The index of the process-wide taxonomy, built on first use."""
    return _index_for(id(get_taxonomy()))
