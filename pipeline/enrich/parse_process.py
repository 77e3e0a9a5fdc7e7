"""spaCy in a child process of the worker: it parses one batch while the worker finishes the one before.

The parse is most of an article's CPU (``benchmarks/enrich_profile.py``) and holds the GIL, so in one process
the worker's own work (entities, events, records, Kafka) adds to it. With a parse process the two overlap on
two cores: the child parses batch n+1 while the worker finishes batch n. The child runs the model's components
but the news NER (``child_pipeline``); the worker runs the news NER on the docs it gets back, then reads the
titles and codes the events, which balances the two sides (the child's share stays the larger).

What crosses the process boundary is plain: the texts in; back, each doc as an array (tokens, tags, lemmas,
morphology, parse, entities: ``Doc.to_array``) with its spaces, the strings the arrays refer to, and the names of
the components run. The worker rebuilds the docs on its own pipeline's vocabulary (the same model's), so lexeme
attributes read the same, and the outputs are those of one process (``tests/unit/enrich/test_parse_process.py``).
(spaCy's ``DocBin`` carried them before: it reads each token's nine strings in Python and zlib-compresses the
lot, 2.3 ms of the child's CPU per news article against 0.3 now; ``benchmarks/enrich_profile.py --wire``.)

A child that dies (killed, out of memory, a crash in native code) breaks the pool: the batch is parsed again in
a new child one article at a time, so that an article that kills the parser fails alone (an
``EnrichmentFailure``, dead-lettered by the worker) and the rest of its batch goes on.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, cast

import numpy
import structlog
from spacy.attrs import SPACY
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.enrich.core import (
    EnrichmentFailure,
    EnrichmentResult,
    ParsedBatch,
    complete_parse,
    finish_batch,
    headline_types_of,
    parse_texts,
    prepare_batch,
)
from pipeline.enrich.nlp import model_lineage
from pipeline.records import RawArticle
from pipeline.settings import Settings, get_settings

log = structlog.get_logger(__name__)

# Every token attribute enrichment reads, ORTH first (the words the worker rebuilds each doc from).
DOC_ATTRS: list[int | str] = [
    *("ORTH", "NORM", "TAG", "POS", "MORPH", "LEMMA", "HEAD", "DEP", "SENT_START", "ENT_IOB", "ENT_TYPE")
]
# The columns whose values are string ids (the others are enums, offsets and flags).
_STRING_COLUMNS = [DOC_ATTRS.index(name) for name in ("ORTH", "NORM", "TAG", "MORPH", "LEMMA", "DEP", "ENT_TYPE")]
_PR_SET_PDEATHSIG = 1  # prctl option (Linux): a signal for this process when its parent dies


@dataclass(slots=True)
class WireBatch:
    """The child's parse of a request's texts as it crosses the process boundary."""

    count: int  # texts in the request
    failures: dict[int, tuple[str, str]]  # index of a text that did not parse: (reason, error type)
    components: tuple[str, ...]  # the components the child ran
    # Per text that parsed, in order: its DOC_ATTRS (a row per token) and whether each token has a space after it.
    arrays: list[numpy.ndarray] = field(default_factory=list)
    spaces: list[numpy.ndarray] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)  # every string the arrays' string columns refer to

    def extend(self, other: WireBatch) -> None:
        """Append ``other``'s docs (one request parsed piecewise: ``ParseProcess.parse_after_crash``)."""
        self.arrays += other.arrays
        self.spaces += other.spaces
        self.strings = sorted(set(self.strings) | set(other.strings))


def to_wire(docs: list[Doc | EnrichmentFailure], components: Sequence[str]) -> WireBatch:
    wire = WireBatch(len(docs), {}, tuple(components))
    ids: set[int] = set()
    strings = None
    for i, doc in enumerate(docs):
        if isinstance(doc, EnrichmentFailure):
            wire.failures[i] = (doc.reason, doc.error_type)
            continue
        if doc.spans or doc.cats or doc.has_unknown_spaces:
            raise ValueError("a doc with span groups, categories or unknown spaces cannot cross as arrays")
        array = doc.to_array(DOC_ATTRS).reshape((len(doc), len(DOC_ATTRS)))
        wire.arrays.append(array)
        wire.spaces.append(doc.to_array(SPACY).astype(bool))
        # Each distinct id once (numpy), not nine strings per token: the child's CPU is the scarcer.
        ids.update(numpy.unique(array[:, _STRING_COLUMNS]).tolist())
        strings = doc.vocab.strings
    if strings is not None:
        wire.strings = sorted(strings[key] for key in ids if key)
    return wire


def from_wire(wire: WireBatch, nlp: Language) -> list[Doc | EnrichmentFailure]:
    """The docs rebuilt on ``nlp``'s vocabulary (the same model's)."""
    for string in wire.strings:
        nlp.vocab.strings.add(string)
    parsed = iter(zip(wire.arrays, wire.spaces, strict=True))
    docs: list[Doc | EnrichmentFailure] = []
    for i in range(wire.count):
        failure = wire.failures.get(i)
        if failure:
            docs.append(EnrichmentFailure("", *failure))
            continue
        array, spaces = next(parsed)
        # Words by their ids (ORTH), each found in the vocabulary or made from the strings just added.
        doc = Doc(nlp.vocab, words=cast(list[str], array[:, 0]), spaces=spaces.tolist())
        docs.append(doc.from_array(DOC_ATTRS, cast(Any, array)))
    return docs


def finish_parse(wire: WireBatch, nlp: Language, titles: list[str]) -> ParsedBatch:
    """The worker's part of a request the child parsed: the docs rebuilt, the components the child left out
    (the news NER) run on them, and the titles read (``parse_request`` does all of it in one process)."""
    docs = complete_parse(nlp, from_wire(wire, nlp), wire.components)
    return ParsedBatch(docs, headline_types_of(nlp, titles), model_lineage(nlp))


# ---------------------------------------------------------------------------------------------------------
# The child process.

_child_nlp: Language | None = None


def _start_child() -> None:
    """Runs first in the child: die with the worker (no orphan parsers), log like it, load the pipeline."""
    global _child_nlp
    # Not on Linux, the pool's pipes still end the child when the worker exits.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, which ends the child
    from pipeline.logconfig import configure_logging

    settings = get_settings()
    configure_logging(settings)
    _child_nlp = child_pipeline(settings)


def child_pipeline(settings: Settings) -> Language:
    """What the child runs: the model's components without the news NER, which the worker runs on the docs
    it gets back. That splits an article's CPU between two cores more evenly than the parse alone would
    (benchmarks/enrich_profile.py: the news NER is about a fifth of the parse)."""
    from pipeline.enrich.nlp import load_nlp

    return load_nlp(settings, news_ner=False)


def _parse_in_child(texts: list[str]) -> WireBatch:
    assert _child_nlp is not None, "the child's initializer loads the pipeline"
    return to_wire(parse_texts(_child_nlp, texts), _child_nlp.pipe_names)


def _child_pid() -> int:
    return os.getpid()


# ---------------------------------------------------------------------------------------------------------
# The worker's side.


class ParseProcess:
    """A child process parsing texts with ``child_pipeline`` for the worker.

    The child reads its settings from the environment it inherits, as the worker does. Requests are parsed in
    the order they are submitted. After ``reload_every`` articles (0: never) the next request goes to a fresh
    child, which starts from the model's vocabulary again (``pipeline.enrich.reloading``); the old one
    finishes what it has and exits.
    """

    def __init__(self, reload_every: int = 0) -> None:
        self._reload_every = reload_every
        self._articles = 0
        self._pool = self._new_pool()
        self._last: Future[WireBatch] | None = None  # the latest request
        # The worker's batch path and its timer (``replace_if_dead``) run in different threads.
        self._replacing = threading.RLock()
        self._recovering = False  # parse_after_crash is at work: it replaces children itself
        self.starts = 1

    @staticmethod
    def _new_pool() -> ProcessPoolExecutor:
        # spawn, not fork: the worker runs threads (Kafka clients, the event loop) that a fork would copy mid-state.
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_child)

    def start(self) -> Future[int]:
        """Start the child (if it is not running); the future resolves to its pid once its pipeline is loaded."""
        return self._pool.submit(_child_pid)

    def ready(self) -> int:
        """Start the child and wait until its pipeline is loaded (slow: call it off the event loop); its pid."""
        return self.start().result()

    def submit(self, texts: list[str]) -> Future[WireBatch]:
        """Hand ``texts`` to the child; the future resolves to their parse."""
        if self._reload_every and self._articles >= self._reload_every:
            log.info("starting a fresh parse process to release the words it has collected", articles=self._articles)
            self._replace_pool()
        self._articles += len(texts)
        try:
            self._last = self._pool.submit(_parse_in_child, texts)
        except BrokenProcessPool:  # the child died between two batches: this one goes to a new one
            self._replace_if_broken()  # unless the worker's timer has just done it
            log.error("the parse process had died; started a new one for this batch")
            self._last = self._pool.submit(_parse_in_child, texts)
        return self._last

    def replace_if_dead(self) -> bool:
        """Replace a child that died while no batch was in hand, so that its successor loads the model now
        rather than when the next batch comes (which would then wait for it). True if it did. A death during
        a batch is the batch's to handle (``parse_after_crash``)."""
        if self._recovering or (self._last is not None and not self._last.done()):
            return False
        if not self._replace_if_broken():
            return False
        log.error("the parse process died while idle; started a new one")
        self.start()
        return True

    def parse_after_crash(self, texts: list[str], error: BaseException) -> WireBatch:
        """Parse ``texts`` again in a new child after ``error`` broke the pool, one text at a time, so that a
        text that kills the parser again fails alone. Blocking: call it off the event loop."""
        log.error("the parse process died; parsing its batch again one article at a time", error=repr(error))
        self._recovering = True
        try:
            self._replace_if_broken()  # unless the worker's timer has already done it
            return self._parse_one_at_a_time(texts)
        finally:
            self._recovering = False

    def _parse_one_at_a_time(self, texts: list[str]) -> WireBatch:
        whole = WireBatch(len(texts), {}, ())
        for i, text in enumerate(texts):
            try:
                wire = self._pool.submit(_parse_in_child, [text]).result()
            except BrokenProcessPool as exc:
                log.error("an article killed the parse process", index=i, error=repr(exc))
                whole.failures[i] = ("parsing failed: the spaCy process died parsing this article", "ParserCrashed")
                self._replace_pool()
                continue
            whole.components = wire.components
            if wire.failures:
                whole.failures[i] = wire.failures[0]
            else:
                whole.extend(wire)
        return whole

    def _replace_if_broken(self) -> bool:
        """A new pool if the child of this one died; True if so."""
        with self._replacing:
            try:  # the only public test of a pool: a broken one refuses work at once
                self._pool.submit(_child_pid)
            except BrokenProcessPool:
                self._replace_pool()
                return True
            return False

    def _replace_pool(self) -> None:
        with self._replacing:
            old, self._pool = self._pool, self._new_pool()
            old.shutdown(wait=False, cancel_futures=False)
            self._articles = 0
            self.starts += 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def enrich_through_wire(
    articles: Sequence[RawArticle], nlp: Language, child_nlp: Language
) -> list[EnrichmentResult | EnrichmentFailure]:
    """``enrich_articles`` the way a worker with a parse process runs it, in one process: the texts parsed
    with ``child_nlp`` (``child_pipeline``), sent through the wire format, finished with ``nlp``. For checking
    that the outputs are the same."""
    prepared = prepare_batch(articles, str(nlp.lang))
    request = prepared.request
    wire = to_wire(parse_texts(child_nlp, request.texts), child_nlp.pipe_names)
    return finish_batch(prepared, finish_parse(wire, nlp, request.titles))
