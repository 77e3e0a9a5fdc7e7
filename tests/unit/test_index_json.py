"""The Elasticsearch client's JSON (``FastJsonSerializer``, orjson) writes what the client's default serializer
(the standard library) wrote, and takes what orjson alone would refuse."""

from __future__ import annotations

import json

from elasticsearch.serializer import JsonSerializer

from pipeline.index.documents import article_document, event_document
from pipeline.index.es import JSON, FastJsonSerializer
from tests.factories import sample_enriched, sample_event

STDLIB = JsonSerializer()


def test_documents_are_written_byte_for_byte_as_the_standard_library_wrote_them() -> None:
    article = sample_enriched().model_copy(update={"title": "Zürich: «Grüße» 北京 — 🙂", "text": 'a "quote"\n\tand \\'})
    for document in (article_document(article), event_document(sample_event())):
        document["score"] = 0.1 + 0.2  # a float that prints with 17 digits
        assert JSON.json_dumps(document) == STDLIB.json_dumps(document)


def test_what_orjson_refuses_goes_through_the_standard_library() -> None:
    odd = {"surrogate": "\ud800", "big": 2**70, 3: "an integer key"}
    assert JSON.json_dumps(odd) == STDLIB.json_dumps(odd)
    response = b'{"took": 1, "ratio": NaN}'  # not JSON, but Python's json module reads it
    assert json.dumps(JSON.loads(response)) == json.dumps(STDLIB.loads(response))


def test_the_client_uses_it() -> None:
    from pipeline.index.es import make_client
    from pipeline.settings import Settings

    client = make_client(Settings(elasticsearch_url="http://localhost:9200"))
    assert isinstance(client.transport.serializers.get_serializer("application/json"), FastJsonSerializer)
