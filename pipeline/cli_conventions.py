"""The conventions every command follows in its help, applied to a built click command tree: flags show no value
placeholder (typer would print ``<bool>``), and a default that is a path of this checkout (or beside it, like
``../shared``) is shown as a user of any checkout would write it, not as this machine's absolute path.

Kept apart from ``pipeline.cli`` so that ``python -m pipeline.devstack`` (``./run up``) can use it without
importing every stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typer import _click as click

PROJECT = Path(__file__).resolve().parents[1]


def walk(command: click.Command, path: tuple[str, ...] = ("pipeline",)) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``command`` (itself first) with its path of names, hidden ones included."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


def _shown_path(value: Any) -> str | None:
    """A default under this checkout or beside it, as a user of any checkout would write it."""
    if not isinstance(value, Path | str) or not str(value).startswith("/"):
        return None
    path = Path(value)
    for base, prefix in ((PROJECT, ""), (PROJECT.parent, "../")):
        if path.is_relative_to(base):
            return prefix + str(path.relative_to(base))
    return None


def apply_conventions(root: click.Command) -> click.Command:
    for _path, command in walk(root):
        params = list(command.params)
        help_option = command.get_help_option(click.Context(command))
        if help_option is not None:
            params.append(help_option)
        for param in params:
            if getattr(param, "is_flag", False):
                param.metavar = ""  # a flag takes no value; typer would print <bool>
            shown = _shown_path(param.default)
            if shown is not None and param.show_default is not False:
                param.show_default = shown
    return root
