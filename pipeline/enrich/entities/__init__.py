"""Entities of an article, in the order the data flows:

1. the model (``news_ner``: the news NER merged over the small model's OntoNotes entities);
2. resolution (``resolution``: mentions grouped into canonical entities, places and countries from the
   ``gazetteer``);
3. actors (``actors``: what the compiled coding dictionaries know of a name: its country and its role on the
   article's date).
"""

from pipeline.enrich.entities.actors import with_known_actors
from pipeline.enrich.entities.resolution import resolve_entities

__all__ = ["resolve_entities", "with_known_actors"]
