"""Span agreement reads a country's other names: the coder's canonical name is still the reporter's state."""

from __future__ import annotations

from pipeline.evaluate.events_real import agrees


def test_a_country_named_another_way_agrees() -> None:
    assert agrees("United Kingdom", ["Britain"], "GBR")
    assert agrees("United States", ["The US"], "USA")


def test_a_person_of_that_country_does_not_agree_by_country_alone() -> None:
    assert not agrees("Boris Johnson", ["Britain"], "GBR")


def test_another_country_does_not_agree() -> None:
    assert not agrees("France", ["Britain"], "FRA")


def test_shared_words_still_agree_without_a_country() -> None:
    assert agrees("rebel positions", ["the rebel - held areas"])
