"""Every setting with a wrong value is one message naming the variable and a good value, exit 78 (EX_CONFIG),
no traceback: settings are checked when they load, not by whichever client first trips over them.

Each setting is fed a wrong value through the command line's own entry point (``pipeline.cli.main``, in this
process: sixty subprocesses would take a minute); the issue's own examples also run as a user runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from annotated_types import Ge, Gt, Le

from pipeline.cli import main
from pipeline.errors import EXIT_CONFIG
from pipeline.settings import EXAMPLES, Settings, SettingsInvalid, example_value, get_settings, load_settings
from tests.cli_runs import run_pipeline

REPO = Path(__file__).resolve().parents[2]
A_FILE = str(REPO / "pyproject.toml")
A_DIRECTORY = str(REPO / "pipeline")

# Settings whose wrong values are not a matter of type (types and ranges are found below, from the fields).
WRONG: dict[str, str] = {
    "data_dir": A_FILE,
    "kafka_bootstrap": "broker",
    "elasticsearch_url": "localhost:9200",
    "kibana_url": "localhost:5601",
    "elasticsearch_api_key": "two words",
    "elasticsearch_ca_certs": "/nonexistent/ca.pem",
    "kibana_ca_certs": "/nonexistent/ca.pem",
    "kafka_security_protocol": "TLS",
    "kafka_sasl_mechanism": "GSSAPI",
    "kafka_compression": "brotli",
    "kafka_sasl_username": "",
    "kafka_ssl_cafile": "/nonexistent/ca.pem",
    "devstack_dir": A_FILE,
    "devstack_es_dir": A_FILE,
    "topic_raw": "articles raw",
    "topic_enriched": "articles/enriched",
    "topic_events": "",
    "topic_dead_letter": "dead letters",
    "topic_subscriptions": "subs!",
    "topic_subscription_prefix": "events sub ",
    "enricher_group": "",
    "indexer_group": "",
    "subscriptions_group": "",
    "index_articles": "News Articles",
    "index_events": "_events",
    "spacy_model": "en core web sm",
    "news_ner_model": "",
    "french_spacy_model": "fr core news sm",
    "user_agent": "",
    "state_path": A_DIRECTORY,
    "allow_private_hosts": "samples, not a host!",
    "log_level": "LOUD",
}
# Any value is a valid secret: there is nothing to check.
ANY_VALUE = {"kafka_sasl_password", "webhook_secret"}
# Examples that name a file which must exist where they are used (a CA certificate).
ILLUSTRATIVE_EXAMPLES = {"elasticsearch_ca_certs", "kibana_ca_certs", "kafka_ssl_cafile"}


def _type_wrong(name: str) -> str | None:
    annotation = Settings.model_fields[name].annotation
    return {int: "four", float: "soon", bool: "maybe"}.get(annotation)  # type: ignore[call-overload]


def _range_wrong(name: str) -> str | None:
    """A number just outside the field's bounds, if it has any."""
    for bound in Settings.model_fields[name].metadata:
        if isinstance(bound, Ge):
            return str(bound.ge - 1)
        if isinstance(bound, Gt):
            return str(bound.gt)
        if isinstance(bound, Le):
            return str(bound.le + 1)
    return None


def wrong_values() -> list[tuple[str, str]]:
    cases = []
    for name in Settings.model_fields:
        for value in (WRONG.get(name), _type_wrong(name), _range_wrong(name)):
            if value is not None:
                cases.append((name, value))
    return cases


def test_every_setting_has_a_wrong_value_here_or_takes_any_value() -> None:
    covered = {name for name, _value in wrong_values()} | ANY_VALUE
    assert set(Settings.model_fields) - covered == set()


@pytest.fixture(autouse=True)
def _fresh_settings() -> object:
    get_settings.cache_clear()
    yield None
    get_settings.cache_clear()


@pytest.mark.parametrize(("name", "value"), wrong_values(), ids=lambda item: str(item)[:40])
def test_a_wrong_value_is_one_line_naming_the_setting_and_a_good_value(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    variable = f"PIPELINE_{name.upper()}"
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        main(["config"])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert exited.value.code == EXIT_CONFIG, output
    assert "Traceback" not in output and len(output.strip().splitlines()) <= 3, output
    (message,) = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert message.startswith(f"error: {variable}") and f"e.g. {variable}={example_value(name)}" in message


@pytest.mark.parametrize("name", [name for name in Settings.model_fields if name not in ILLUSTRATIVE_EXAMPLES])
def test_the_example_in_each_message_is_a_good_value(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"PIPELINE_{name.upper()}", example_value(name))
    load_settings()


def test_examples_name_real_settings() -> None:
    assert set(EXAMPLES) <= set(Settings.model_fields)


def test_a_secret_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_ELASTICSEARCH_API_KEY", "hunter2 hunter3")
    with pytest.raises(SettingsInvalid) as raised:
        load_settings()
    assert "hunter2" not in str(raised.value) and "PIPELINE_ELASTICSEARCH_API_KEY" in str(raised.value)


def test_several_wrong_values_are_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_TOPIC_PARTITIONS", "four")
    monkeypatch.setenv("PIPELINE_LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsInvalid) as raised:
        load_settings()
    assert [line.split("=")[0] for line in raised.value.problems] == [
        "PIPELINE_TOPIC_PARTITIONS",
        "PIPELINE_LOG_LEVEL",
    ]


def test_allow_private_hosts_takes_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """`PIPELINE_ALLOW_PRIVATE_HOSTS=samples` was a 41-line SettingsError: only JSON lists were read."""
    monkeypatch.setenv("PIPELINE_ALLOW_PRIVATE_HOSTS", "samples, 10.0.0.0/8")
    assert load_settings().allow_private_hosts == ["samples", "10.0.0.0/8"]
    monkeypatch.setenv("PIPELINE_ALLOW_PRIVATE_HOSTS", '["127.0.0.1"]')
    assert load_settings().allow_private_hosts == ["127.0.0.1"]


def test_a_wrong_value_in_dotenv_says_so(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PIPELINE_TOPIC_PARTITIONS=four\n")
    result = run_pipeline("config", cwd=tmp_path)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert "PIPELINE_TOPIC_PARTITIONS='four': not a whole number" in result.stderr and "(set in .env)" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("PIPELINE_ELASTICSEARCH_URL", "localhost:9200", ["search", "missile"]),
        ("PIPELINE_ELASTICSEARCH_URL", "localhost:9200", ["status"]),
        ("PIPELINE_ELASTICSEARCH_URL", "localhost:9200", ["config"]),
        ("PIPELINE_TOPIC_PARTITIONS", "four", ["deadletters", "list"]),
    ],
    ids=lambda item: item if isinstance(item, str) else " ".join(item),
)
def test_the_issues_examples_as_a_user_runs_them(variable: str, value: str, command: list[str]) -> None:
    result = run_pipeline(*command, env={variable: value})
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_CONFIG, output
    assert "Traceback" not in output and len(output.strip().splitlines()) <= 3, output
    assert result.stderr.startswith(f"error: {variable}='{value}'"), output
