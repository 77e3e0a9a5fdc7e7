"""Enrichment: spaCy entities -> canonical entities -> PLOVER events. Plain functions on plain records."""
