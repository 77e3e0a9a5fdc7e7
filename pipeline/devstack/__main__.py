"""``python -m pipeline.devstack up|down|status`` (what ``./run up|down|status`` calls)."""

import sys

import typer.main

from pipeline.cli_conventions import apply_conventions
from pipeline.devstack.cli import build_app
from pipeline.settings import SettingsInvalid, get_settings

try:
    get_settings()  # a wrong PIPELINE_* value: the same one-line message as `pipeline` gives, not a traceback
except SettingsInvalid as exc:
    from pipeline.errors import bad_settings

    failure = bad_settings(exc.problems)
    print("\n".join(failure.lines()), file=sys.stderr)
    sys.exit(failure.exit_code)
apply_conventions(typer.main.get_command(build_app()))(prog_name="python -m pipeline.devstack")
