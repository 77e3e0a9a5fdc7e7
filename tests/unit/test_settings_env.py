"""``Settings.as_env`` hands a child process the parent's settings: every plain value, booleans included."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pipeline.settings import Settings


def test_a_child_reads_back_the_settings_it_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = Settings(
        kafka_bootstrap="k:9092",
        enrich_parse_process=False,
        log_json=True,
        enrich_model_reload_articles=7,
        kafka_sasl_password=SecretStr("s3cret"),
    )
    env = parent.as_env()
    assert env["PIPELINE_ENRICH_PARSE_PROCESS"] == "false" and env["PIPELINE_LOG_JSON"] == "true"
    assert "s3cret" not in env.values()  # secrets travel by the environment the operator set, not by us
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    child = Settings()
    assert child.model_dump(exclude={"kafka_sasl_password"}) == parent.model_dump(exclude={"kafka_sasl_password"})
