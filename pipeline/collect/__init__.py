"""Collection: feeds and pages in, ``RawArticle`` records out (see docs/collector.md).

Entry points: ``pipeline collect`` (cli.py) and ``collector.collect_once(settings, feeds)``.
"""
