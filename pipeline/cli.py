"""The ``pipeline`` command. Each stage registers its own commands; this module only assembles them."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="pipeline",
    help="News-event pipeline: collect feeds, enrich with entities and PLOVER events, index, search.",
    no_args_is_help=True,
    add_completion=False,
)

# Modules defining ``register(app: typer.Typer) -> None``; a missing one is skipped (stages land apart).
_COMMAND_MODULES = (
    "pipeline.contracts",
    "pipeline.devstack.cli",
    "pipeline.collect.cli",
    "pipeline.enrich.cli",
    "pipeline.enrich.worker_cli",
    "pipeline.evaluate.cli",
    "pipeline.index.cli",
    "pipeline.publish.cli",
    "pipeline.demo",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)


_register_all()


@app.callback()
def _configure() -> None:
    from pipeline.logconfig import configure_logging
    from pipeline.settings import get_settings

    configure_logging(get_settings())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
