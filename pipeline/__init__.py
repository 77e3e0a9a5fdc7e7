"""Streaming news-event pipeline: collect -> enrich -> index / publish."""

__version__ = "0.1.0"
