"""The spaCy pipeline of a long-running worker, loaded afresh now and then to give back the words it collected."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from spacy.language import Language

log = structlog.get_logger(__name__)


class ReloadingModel:
    """The spaCy pipeline a long-running worker uses, loaded afresh after every ``reload_every`` articles.

    spaCy's string store keeps every word it has ever seen (the news NER's own vocabulary too), so a worker's
    memory grows with each new name and number (``benchmarks/vocab_growth.py``). A fresh load starts from the
    model's own vocabulary again; it costs a few seconds of one batch. ``reload_every`` 0 never reloads.
    """

    def __init__(self, load: Callable[[], Language], reload_every: int) -> None:
        self._load = load
        self._reload_every = reload_every
        self._model: Language | None = None
        self._articles = 0
        self.loads = 0

    def get(self) -> Language:
        """The current pipeline; loaded here (slow: call it off the event loop) when there is none yet."""
        if self._model is None:
            self._model = self._load()
            self._articles = 0
            self.loads += 1
        return self._model

    def seen(self, articles: int) -> None:
        """Count articles parsed with the current pipeline; at ``reload_every`` the next ``get`` loads it again."""
        self._articles += articles
        if self._reload_every > 0 and self._articles >= self._reload_every:
            log.info("reloading the spaCy pipeline to release the words it has collected", articles=self._articles)
            self._model = None
