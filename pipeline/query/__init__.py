"""Querying events and articles: filters shared by ``search`` and ``subscribe``, and their output formats."""
