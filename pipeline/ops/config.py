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
    source: str  # default | env | .env | command line | local stack
    note: str = ""  # why the value differs from the setting, said once here rather than by every command


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


LOCAL_STACK = "local stack"


def _effective(settings: Settings, name: str, value: Any, source: str) -> tuple[Any, str, str]:
    """What commands actually use where the setting leaves it open: an empty service address means the local
    stack's (on its PIPELINE_DEVSTACK_* port), and the default spaCy model its re-packaged copy when only
    that is installed."""
    if name == "kafka_bootstrap" and not value:
        return settings.kafka, LOCAL_STACK, "unset: the local stack's broker (port PIPELINE_DEVSTACK_KAFKA_PORT)"
    if name == "elasticsearch_url" and not value:
        return settings.elasticsearch, LOCAL_STACK, "unset: the local stack's node (port PIPELINE_DEVSTACK_ES_PORT)"
    if name == "spacy_model":
        from pipeline.versions import spacy_model_in_use

        in_use, _version, stands_in = spacy_model_in_use(settings)
        if stands_in:
            return in_use, source, f"spaCy model {value} not installed, using its re-packaged copy {in_use}"
    return value, source, ""


def setting_rows(
    settings: Settings, environ: Mapping[str, str], dotenv: Mapping[str, str | None], loaded: Settings
) -> list[SettingRow]:
    """One row per setting, with the value commands use. ``loaded`` is what the environment and .env alone
    give; a value that differs from it was set on the command line (e.g. ``pipeline --timeout 2``)."""
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
        value, source, note = _effective(settings, name, value, source)
        rows.append(SettingRow(name, variable, _shown(name, value), source, note))
    return rows


def env_file_path() -> Path:
    return Path(ENV_FILE).absolute()
