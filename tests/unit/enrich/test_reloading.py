"""The worker's pipeline holder: loaded once, then afresh after a number of articles (0: never)."""

from __future__ import annotations

from typing import Any

from pipeline.enrich.reloading import ReloadingModel


def _counting_loader() -> tuple[list[object], Any]:
    made: list[object] = []

    def load() -> Any:
        made.append(object())
        return made[-1]

    return made, load


def test_the_pipeline_is_loaded_on_first_use_and_again_after_the_set_number_of_articles() -> None:
    made, load = _counting_loader()
    model = ReloadingModel(load, reload_every=64)
    assert made == []  # nothing loaded until a worker asks
    first = model.get()
    model.seen(32)
    assert model.get() is first
    model.seen(32)  # 64 articles on this pipeline: the next get loads a fresh one
    second = model.get()
    assert second is not first and model.loads == 2
    model.seen(63)
    assert model.get() is second  # the count started again with the new pipeline


def test_zero_never_reloads() -> None:
    made, load = _counting_loader()
    model = ReloadingModel(load, reload_every=0)
    first = model.get()
    model.seen(10_000_000)
    assert model.get() is first and len(made) == 1
