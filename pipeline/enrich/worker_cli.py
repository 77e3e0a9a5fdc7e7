"""``pipeline enrich``: kept apart from the Faust app so the CLI starts without importing Faust."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("enrich")
    def enrich_command(
        loglevel: str = typer.Option("info", "--loglevel", "-l", help="Faust worker log level"),
    ) -> None:
        """Run an enricher worker (Faust): articles.raw -> articles.enriched + events.enriched.

        Start several with the same PIPELINE_ENRICHER_GROUP to share the raw topic's partitions.
        """
        from pipeline.enrich import worker
        from pipeline.kafka import ensure_topics

        ensure_topics(worker.settings)
        worker.run_worker(loglevel)
