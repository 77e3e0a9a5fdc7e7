"""docker-compose.yml, deploy/Dockerfile and deploy/feeds.yaml: valid, ordered start-up, real commands.

There is no Docker engine on CI machines, so nothing is started: the compose file is validated by Debian's
``docker-compose`` (``./run test`` installs it) and inspected as the resolved configuration it prints.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from pipeline.collect.feedlist import load_feeds_file
from pipeline.devstack.artifacts import read_versions

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
FEEDS_FILE = ROOT / "deploy" / "feeds.yaml"

PIPELINE_SERVICES = {"setup", "kibana-setup", "collector", "enricher", "indexer", "samples", "subscriptions", "deliver"}
# Optional services, started only with `--profile subscriptions`.
PROFILED = {"subscriptions": ["subscriptions"], "deliver": ["subscriptions"]}
# The compose images run the same versions as the local stack (deploy/local/pom.xml), so tests on one hold
# for the other.
_LOCAL = read_versions()
INFRA_IMAGES = {
    "kafka": f"apache/kafka:{_LOCAL.kafka}",
    "elasticsearch": f"elasticsearch:{_LOCAL.elasticsearch}",
    "kibana": f"kibana:{_LOCAL.elasticsearch}",
}


def _docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose not found: install Debian's docker-compose package "
            "(apt-get install docker-compose; ./run test does it) to validate docker-compose.yml"
        )
    return binary


@cache
def _resolved() -> dict[str, Any]:
    """The configuration as compose resolves it (anchors, merges, interpolation), with default variables."""
    result = subprocess.run(
        [_docker_compose(), "--file", str(COMPOSE_FILE), "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},  # no PIPELINE_* or KAFKA_CLUSTER_ID from this shell
        check=False,
    )
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def services() -> dict[str, Any]:
    found: dict[str, Any] = _resolved()["services"]
    return found


def _command_text(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


def test_compose_file_is_valid() -> None:
    result = subprocess.run(
        [_docker_compose(), "--file", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"docker-compose config -q rejected docker-compose.yml:\n{result.stderr}"


def test_services_and_images() -> None:
    found = services()
    assert set(found) == set(INFRA_IMAGES) | PIPELINE_SERVICES
    for name, image in INFRA_IMAGES.items():
        assert found[name]["image"] == image
    images = {found[name]["image"] for name in PIPELINE_SERVICES}
    assert len(images) == 1, f"all pipeline services run one image, got {images}"
    for name in PIPELINE_SERVICES:
        assert found[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert Path(found[name]["build"]["context"]).resolve() == ROOT
        # PID 1 ignores an unhandled SIGTERM; SIGINT becomes KeyboardInterrupt, a clean stop.
        assert found[name].get("stop_signal") == "SIGINT", name


def test_healthchecks() -> None:
    found = services()
    expected = {
        "kafka": ("kafka-broker-api-versions", "kafka-topics"),
        "elasticsearch": ("_cluster/health?wait_for_status=yellow",),
        "kibana": ("/api/status",),
        "samples": ("/feed.xml",),
    }
    for name, probes in expected.items():
        check = found[name].get("healthcheck")
        assert check, f"{name} has no healthcheck"
        test = _command_text(check["test"])
        assert any(probe in test for probe in probes), f"{name} healthcheck does not probe {probes}: {test}"


def test_healthcheck_arguments_survive_podman() -> None:
    """Podman (4.3, through its Docker API) joins a CMD healthcheck's arguments and splits them again at spaces,
    so `["CMD", "python", "-c", "import x; ..."]` ran `python -c import` and `samples` never became healthy
    (./run compose-test). One string for a shell (CMD-SHELL), or arguments without spaces, mean the same to both."""
    for name, service in services().items():
        test = (service.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and test and test[0] == "CMD":
            spaced = [arg for arg in test[1:] if " " in arg]
            assert not spaced, f"{name}: healthcheck argument(s) with spaces {spaced}; use CMD-SHELL"


def test_start_up_order() -> None:
    found = services()

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in (found[name].get("depends_on") or {}).items()}

    assert conditions("kibana") == {"elasticsearch": "service_healthy"}
    # The pipeline does not wait for Kibana (which the locally built stack cannot have); its objects load after.
    assert conditions("setup") == {"kafka": "service_healthy", "elasticsearch": "service_healthy"}
    assert conditions("kibana-setup") == {"setup": "service_completed_successfully", "kibana": "service_healthy"}
    for name in ("collector", "enricher", "indexer", "subscriptions", "deliver"):
        assert conditions(name).get("setup") == "service_completed_successfully", name
    assert conditions("collector").get("samples") == "service_healthy"
    for name in found:
        for dep, condition in conditions(name).items():
            if condition == "service_healthy":
                assert found[dep].get("healthcheck"), f"{name} waits for {dep} to be healthy; it has no healthcheck"
    for one_shot in ("setup", "kibana-setup"):
        assert found[one_shot].get("restart", "no") == "no", "a one-shot service must not restart"
    assert {name: found[name].get("profiles") for name in found if found[name].get("profiles")} == PROFILED


def test_infrastructure_settings() -> None:
    found = services()
    es = found["elasticsearch"]["environment"]
    assert es["discovery.type"] == "single-node"
    assert es["xpack.security.enabled"] == "false"
    assert es["cluster.routing.allocation.disk.threshold_enabled"] == "false"
    assert "-Xms1g" in es["ES_JAVA_OPTS"] and "-Xmx1g" in es["ES_JAVA_OPTS"]
    kafka = found["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller", "KRaft, no ZooKeeper"
    advertised = kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert "//kafka:9092" in advertised and "//localhost:29092" in advertised
    assert any(re.match(r"(127\.0\.0\.1:)?29092:29092\b", str(p)) for p in found["kafka"]["ports"])
    assert found["kibana"]["environment"]["ELASTICSEARCH_HOSTS"].find("http://elasticsearch:9200") >= 0


def test_data_lives_in_named_volumes() -> None:
    found = services()
    declared = set(_resolved().get("volumes") or {})
    wanted = {
        "kafka": "/var/lib/kafka/data",
        "elasticsearch": "/usr/share/elasticsearch/data",
        "collector": "/var/lib/pipeline",
    }
    for name, target in wanted.items():
        mounts = [str(v) for v in found[name].get("volumes", [])]
        named = [m for m in mounts if m.split(":")[0] in declared and f":{target}" in m]
        assert named, f"{name}: no named volume at {target} ({mounts})"


def test_pipeline_services_are_configured_by_environment() -> None:
    found = services()
    for name in PIPELINE_SERVICES - {"samples"}:
        env = found[name]["environment"]
        assert env["PIPELINE_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert env["PIPELINE_ELASTICSEARCH_URL"] == "http://elasticsearch:9200", name
    assert found["kibana-setup"]["environment"]["PIPELINE_KIBANA_URL"] == "http://kibana:5601"
    assert "PIPELINE_KIBANA_URL" not in found["setup"]["environment"], "setup must not wait for Kibana"


def test_enricher_scales() -> None:
    enricher = services()["enricher"]
    assert "container_name" not in enricher, "a fixed container name forbids --scale enricher=N"
    assert not enricher.get("ports"), "host ports forbid --scale enricher=N"
    assert not enricher.get("volumes"), "replicas must not share a state directory"


# ---------------------------------------------------------------------------------------------------------
# Every service command is a real `pipeline` sub-command with the options the compose file passes.


@cache
def pipeline_commands() -> dict[str, Any]:
    """Sub-command name -> command (typer's click-compatible objects: ``.params[i].opts``)."""
    from pipeline.cli import app

    group = typer.main.get_command(app)
    commands: dict[str, Any] = dict(getattr(group, "commands", {}))
    assert commands, "pipeline has no sub-commands"
    return commands


def _compose_commands() -> list[tuple[str, list[str]]]:
    result = []
    for name in sorted(PIPELINE_SERVICES):
        spec = services()[name]
        if spec.get("entrypoint"):
            continue  # samples: a plain static file server, not the pipeline entrypoint
        command = spec["command"]
        result.append((name, command if isinstance(command, list) else command.split()))
    return result


# The pipeline command each service runs.
EXPECTED = {
    "setup": "setup",
    "kibana-setup": "setup",
    "collector": "collect",
    "enricher": "enrich",
    "indexer": "index",
    "subscriptions": "subscriptions",
    "deliver": "subscriptions",
}


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_service_command_is_a_pipeline_command(service: str) -> None:
    argv = dict(_compose_commands())[service]
    assert argv[0] == EXPECTED[service]
    command = pipeline_commands().get(argv[0])
    assert command is not None, f"the {service} service runs `pipeline {argv[0]}`, which is not a pipeline command"
    options = {opt for param in command.params for opt in param.opts}
    for arg in argv[1:]:
        if arg.startswith("--"):
            assert arg.split("=")[0] in options, f"`pipeline {argv[0]}` has no option {arg} (has {sorted(options)})"


def test_samples_service_serves_the_bundled_samples() -> None:
    samples = services()["samples"]
    entrypoint = _command_text(samples["entrypoint"])
    assert "http.server" in entrypoint and "/app/samples" in entrypoint
    port = re.search(r"http\.server (\d+)", entrypoint)
    assert port
    feeds = yaml.safe_load(FEEDS_FILE.read_text(encoding="utf-8"))["feeds"]
    assert f"http://samples:{port.group(1)}/feed.xml" in [f["url"] for f in feeds]
    assert "COPY pipeline/samples /app/samples" in DOCKERFILE.read_text(encoding="utf-8")


def test_feeds_file_loads_with_the_collector() -> None:
    feeds = load_feeds_file(FEEDS_FILE)
    assert [f.url for f in feeds] == ["http://samples:8765/feed.xml"], "real feeds stay commented out"
    assert feeds[0].allow_private, "the samples container has a private address"
    collector = services()["collector"]
    assert "samples" in collector["environment"]["PIPELINE_ALLOW_PRIVATE_HOSTS"]


def test_setup_imports_the_kibana_objects_the_image_ships() -> None:
    argv = dict(_compose_commands())["kibana-setup"]
    path = argv[argv.index("--kibana-objects") + 1]
    assert path == "/app/deploy/kibana/saved_objects.ndjson"
    assert "COPY deploy/kibana /app/deploy/kibana" in DOCKERFILE.read_text(encoding="utf-8")
    assert (ROOT / "deploy" / "kibana" / "saved_objects.ndjson").is_file()


# ---------------------------------------------------------------------------------------------------------
# The image.


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS runtime$", text, re.M)
    assert 'ENTRYPOINT ["pipeline"]' in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and not users[-1].startswith(("root", "0")), "the services run as a non-root user"
    assert "PIPELINE_SPACY_MODEL=en_core_web_sm" in text
    assert "spacy-models/releases/download/${SPACY_MODEL}/${SPACY_MODEL}-py3-none-any.whl" in text
    assert "ARG SPACY_MODEL=en_core_web_sm-3.8.0" in text
    assert re.search(r"SPACY_MODEL_SHA256=[0-9a-f]{64}\b", text) and "sha256sum -c" in text


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(p, pat.lstrip("/")) for pat in patterns for p in prefixes)


def test_dockerignore_keeps_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    sources = [src for line in copied for src in line.split()]
    assert sources, "no COPY found"
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: missing"
        assert not _ignored(source, patterns), f"COPY {source} is excluded by .dockerignore"
    for secret_or_bulk in (".env", ".git", ".venv", ".devstack"):
        assert _ignored(secret_or_bulk, patterns), f"{secret_or_bulk} must stay out of the build context"
