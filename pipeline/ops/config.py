"""The effective settings, each with where it came from, secrets masked (``pipeline config``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pipeline.errors import redact_url
from pipeline.settings import ENV_FILE, Settings

MASK = "***"


@dataclass(frozen=True)
class SettingRow:
    name: str
    variable: str
    value: str
    source: str  # default | env | .env | command line


def _shown(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, str) and name.endswith("_url"):
        return redact_url(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def setting_rows(
    settings: Settings, environ: Mapping[str, str], dotenv: Mapping[str, str | None], loaded: Settings
) -> list[SettingRow]:
    """One row per setting. ``loaded`` is what the environment and .env alone give; a value that differs
    from it was set on the command line (e.g. ``pipeline --timeout 2``)."""
    from_env = {key.upper() for key in environ}
    from_dotenv = {key.upper() for key in dotenv}
    rows = []
    for name in Settings.model_fields:
        variable = f"PIPELINE_{name.upper()}"
        value = getattr(settings, name)
        if value != getattr(loaded, name):
            source = "command line"
        elif variable in from_env:
            source = "env"
        elif variable in from_dotenv:
            source = ".env"
        else:
            source = "default"
        rows.append(SettingRow(name, variable, _shown(name, value), source))
    return rows


def env_file_path() -> Path:
    return Path(ENV_FILE).absolute()
