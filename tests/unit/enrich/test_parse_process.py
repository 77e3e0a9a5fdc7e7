"""The parse in a child process: the same outputs as in one process, and a child that dies loses nothing."""

from __future__ import annotations

import os
import pickle
import signal
import time
from collections.abc import Iterator

import pytest
from spacy.language import Language

from pipeline.enrich.core import EnrichmentFailure, EnrichmentResult, ParseRequest, enrich_articles, parse_request
from pipeline.enrich.parse_process import (
    DOC_ATTRS,
    ParseProcess,
    child_pipeline,
    enrich_through_wire,
    finish_parse,
    from_wire,
    to_wire,
)
from pipeline.settings import get_settings

from .conftest import raw_article

TEXTS = [
    "Chancellor Olaf Scholz met President Emmanuel Macron in Berlin. Scholz said Germany would help Ukraine.",
    "Protesters clashed with police in Nairobi on Friday; the government denied it had ordered arrests.",
    "",
    "Le président Emmanuel Macron a rencontré le chancelier allemand à Paris pour parler de l'Ukraine.",
    "Mr. O'Neill didn't say whether the U.S. would send $2.5bn in aid to Kyiv's forces.\n\nNew paragraph here.",
]


def _outputs(results: list[EnrichmentResult | EnrichmentFailure]) -> list[str]:
    """Each result as JSON without the moment it was made."""
    out = []
    for result in results:
        assert isinstance(result, EnrichmentResult)
        out.append(result.article.model_dump_json(exclude={"enriched_at", "fetched_at"}))
        out += [event.model_dump_json(exclude={"coded_at", "fetched_at"}) for event in result.events]
    return out


@pytest.fixture(scope="module")
def child_nlp() -> Language:
    return child_pipeline(get_settings())


def test_outputs_through_the_wire_are_the_outputs_of_one_process(
    nlp: Language, child_nlp: Language, seed_text: str
) -> None:
    articles = [
        raw_article(text, url=f"https://news.example/{i}", title=f"Talks in Berlin {i}")
        for i, text in enumerate([*TEXTS, seed_text])
    ]
    assert _outputs(enrich_through_wire(articles, nlp, child_nlp)) == _outputs(enrich_articles(articles, nlp))


def test_the_child_leaves_the_news_ner_to_the_worker(nlp: Language, child_nlp: Language) -> None:
    assert "news_ner" in nlp.pipe_names and "news_ner" not in child_nlp.pipe_names
    assert child_nlp.pipe_names == [name for name in nlp.pipe_names if name != "news_ner"]


@pytest.fixture(scope="module")
def parser() -> Iterator[ParseProcess]:
    process = ParseProcess()
    process.ready()
    yield process
    process.close()


def test_a_child_parses_as_this_process_would(parser: ParseProcess, nlp: Language) -> None:
    request = ParseRequest(TEXTS[:2], ["Leaders meet in Berlin"])
    child = finish_parse(parser.submit(request.texts).result(timeout=120), nlp, request.titles)
    here = parse_request(nlp, request)
    assert child.model == here.model and child.headlines == here.headlines
    assert [d.to_json() for d in child.docs] == [d.to_json() for d in here.docs]  # type: ignore[union-attr]


def test_a_child_killed_mid_batch_is_replaced_and_the_batch_parsed_again(
    parser: ParseProcess, nlp: Language, seed_text: str
) -> None:
    pid = parser.ready()
    texts = [seed_text] * 40
    pending = parser.submit(texts)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(Exception) as broken:
        pending.result(timeout=120)
    parsed = finish_parse(parser.parse_after_crash(texts, broken.value), nlp, [])
    assert len(parsed.docs) == 40 and not any(isinstance(d, EnrichmentFailure) for d in parsed.docs)
    assert parser.ready() != pid


def test_a_child_that_died_between_batches_is_replaced_at_the_next(parser: ParseProcess) -> None:
    pid = parser.ready()
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)  # the pool notices
    wire = parser.submit(["Officials met in Paris."]).result(timeout=120)
    assert wire.count == 1 and not wire.failures
    assert parser.ready() != pid


def test_a_child_that_died_while_idle_is_replaced_before_the_next_batch(parser: ParseProcess) -> None:
    pid = parser.ready()
    assert not parser.replace_if_dead()
    starts = parser.starts
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not parser.replace_if_dead():  # what the worker's timer calls
        assert time.monotonic() < deadline, "the dead child was not noticed"
        time.sleep(0.1)
    assert parser.starts == starts + 1
    assert parser.ready() != pid
    assert not parser.replace_if_dead()


def test_a_fresh_child_after_the_reload_period() -> None:
    process = ParseProcess(reload_every=2)
    try:
        first = process.ready()
        process.submit(["One.", "Two."]).result(timeout=120)
        process.submit(["Three."]).result(timeout=120)
        assert process.starts == 2 and process.ready() != first
    finally:
        process.close()


def test_the_wire_carries_what_a_docbin_carries(nlp: Language, child_nlp: Language, seed_text: str) -> None:
    # The wire is DocBin's content without its zlib and per-token string collection: the docs rebuilt from it
    # must be those a DocBin round trip gives, failures kept in their places, through a pickle as the pool sends it.
    from spacy.tokens import Doc, DocBin

    parsed: list[Doc | EnrichmentFailure] = [*child_nlp.pipe([*TEXTS, seed_text])]
    parsed.insert(2, EnrichmentFailure("", "parsing failed: test", "ValueError"))
    parsed.append(Doc(child_nlp.vocab, words=["no", "spaces", "known"]))  # has_unknown_spaces
    wire = pickle.loads(pickle.dumps(to_wire(parsed, child_nlp.pipe_names)))
    rebuilt = from_wire(wire, nlp)
    docbin = DocBin(attrs=DOC_ATTRS, store_user_data=False)
    for doc in parsed:
        if isinstance(doc, Doc):
            docbin.add(doc)
    expected = iter(DocBin().from_bytes(docbin.to_bytes()).get_docs(nlp.vocab))
    assert len(rebuilt) == len(parsed)
    for original, doc in zip(parsed, rebuilt, strict=True):
        if isinstance(original, EnrichmentFailure):
            assert isinstance(doc, EnrichmentFailure) and doc.reason == original.reason
            continue
        assert isinstance(doc, Doc)
        reference = next(expected)
        assert doc.to_json() == reference.to_json() and doc.has_unknown_spaces == reference.has_unknown_spaces
        assert (doc.to_array(DOC_ATTRS) == reference.to_array(DOC_ATTRS)).all()
