"""deploy/compose.local.yml (every image built on this machine) and the plain parts of `./run compose-test`.

The override may change where images come from and nothing else: the same services, commands, environment,
healthchecks, start-up order, volumes and ports as docker-compose.yml. Validated with docker-compose alone (no
engine); `./run compose-test` runs it for real on podman.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from typing import Any

import pytest
import yaml

from pipeline.devstack import compose as compose_test
from tests.unit.test_compose import COMPOSE_FILE, PIPELINE_SERVICES, ROOT, _docker_compose

LOCAL_FILE = ROOT / "deploy" / "compose.local.yml"
# What the override may set, per service.
WHERE_IMAGES_COME_FROM = {"image", "build"}
# Allowed beyond that, and why: Kibana cannot be built here; this host's hard nofile limit is 20000.
ALSO = {"kibana": {"profiles"}, "kibana-setup": {"profiles"}, "elasticsearch": {"ulimits"}}


def _config(*files: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    args = [arg for file in files for arg in ("--file", file)]
    result = subprocess.run(
        [_docker_compose(), *args, "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **(env or {})},
    )
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@cache
def base() -> dict[str, Any]:
    return _config(str(COMPOSE_FILE))


@cache
def local() -> dict[str, Any]:
    return _config(str(COMPOSE_FILE), str(LOCAL_FILE))


def test_only_where_images_come_from_differs() -> None:
    before, after = base()["services"], local()["services"]
    assert set(before) == set(after)
    for name in before:
        changed = {key for key in set(before[name]) | set(after[name]) if before[name].get(key) != after[name].get(key)}
        assert changed <= WHERE_IMAGES_COME_FROM | ALSO.get(name, set()), f"{name}: {sorted(changed)} differ"
    assert base()["volumes"] == local()["volumes"]


def test_every_image_is_built_here() -> None:
    services = local()["services"]
    for name, service in services.items():
        if "kibana" in service.get("profiles", []):
            continue
        assert service["image"].startswith("localhost/"), f"{name} would be pulled from a registry"
        assert (ROOT / service["build"]["context"]).is_dir(), name
    pipeline = {services[name]["image"] for name in PIPELINE_SERVICES}
    assert pipeline == {compose_test.PIPELINE_IMAGE}
    args = services["enricher"]["build"]["args"]
    assert args == {"PYTHON_IMAGE": compose_test.PYTHON_IMAGE, "WHEELHOUSE_ONLY": "true", "SPACY_MODEL_SOURCE": "pypi"}
    for service in ("kafka", "elasticsearch"):
        dockerfile = (ROOT / services[service]["build"]["context"] / "Dockerfile").read_text(encoding="utf-8")
        assert re.search(rf"^ARG JRE_IMAGE={re.escape(compose_test.JRE_IMAGE)}$", dockerfile, re.M), service


def test_kibana_is_optional_here_and_nothing_waits_for_it() -> None:
    services = local()["services"]
    assert services["kibana"]["profiles"] == ["kibana"] and services["kibana-setup"]["profiles"] == ["kibana"]
    for name, service in services.items():
        if "kibana" not in service.get("profiles", []):
            assert "kibana" not in (service.get("depends_on") or {}), f"{name} would wait for a Kibana never started"


def test_ulimits_fit_this_host() -> None:
    ulimits = local()["services"]["elasticsearch"]["ulimits"]
    for name, ceiling in (("nofile", 20000), ("nproc", 32768)):
        assert ulimits[name]["soft"] <= ulimits[name]["hard"] <= ceiling, name
    conf = (ROOT / "deploy" / "local" / "containers.conf").read_text(encoding="utf-8")
    assert '"nofile=20000:20000"' in conf and '"nproc=32768:32768"' in conf and 'runtime = "runc"' in conf


def _host_ports(config: dict[str, Any]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            published = port["published"] if isinstance(port, dict) else str(port).split(":")[-2]
            found.setdefault(name, set()).add(int(published))
    return found


def test_host_ports_default_as_documented_and_move_with_the_environment() -> None:
    assert _host_ports(base()) == {
        "kafka": {29092},
        "elasticsearch": {9200},
        "kibana": {5601},
        "collector": {9101},
        "indexer": {9102},
    }
    moved = {
        "PIPELINE_COMPOSE_KAFKA_PORT": "39092",
        "PIPELINE_COMPOSE_ES_PORT": "39200",
        "PIPELINE_COMPOSE_KIBANA_PORT": "35601",
        "PIPELINE_COMPOSE_COLLECTOR_METRICS_PORT": "39101",
        "PIPELINE_COMPOSE_INDEXER_METRICS_PORT": "39102",
    }
    config = _config(str(COMPOSE_FILE), str(LOCAL_FILE), env=moved)
    assert _host_ports(config) == {
        "kafka": {39092},
        "elasticsearch": {39200},
        "kibana": {35601},
        "collector": {39101},
        "indexer": {39102},
    }
    # A host client is told the port it connected to, or it would be sent to 29092.
    assert "EXTERNAL://localhost:39092" in config["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert set(moved) == set(compose_test.DEFAULT_PORTS)


# ---------------------------------------------------------------------------------------------------------
# compose-test's plain functions.


def test_ports_default_unless_taken_or_exported() -> None:
    taken = {29092, 9200}
    spare = iter([40001, 40002, 40003])
    ports = compose_test.choose_ports(
        {"PIPELINE_COMPOSE_KIBANA_PORT": "45601"}, lambda p: p not in taken, lambda: next(spare)
    )
    assert ports == {
        "PIPELINE_COMPOSE_KAFKA_PORT": 40001,
        "PIPELINE_COMPOSE_ES_PORT": 40002,
        "PIPELINE_COMPOSE_KIBANA_PORT": 45601,
        "PIPELINE_COMPOSE_COLLECTOR_METRICS_PORT": 9101,
        "PIPELINE_COMPOSE_INDEXER_METRICS_PORT": 9102,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512.3MB", 512_300_000),
        ("1.2GB", 1_200_000_000),
        ("900kB", 900_000),
        ("1.5GiB", 1_610_612_736),
        ("0B", 0),
    ],
)
def test_podman_memory_figures(text: str, expected: int) -> None:
    assert compose_test.parse_memory(text) == expected


def test_memory_adds_up_replicas_per_service() -> None:
    project = compose_test.PROJECT
    per_service, total = compose_test.memory_table(
        {
            f"{project}_enricher_1": 1000,
            f"{project}_enricher_2": 1500,
            f"{project}_kibana-setup_1": 10,
        }
    )
    assert per_service == {"enricher": 2500, "kibana-setup": 10} and total == 2510


def test_image_inputs_digest_follows_the_files(tmp_path_factory: pytest.TempPathFactory) -> None:
    context = ROOT / "deploy" / "local" / "kafka"
    first = compose_test.inputs_digest([context / "Dockerfile"], "base-1")
    assert first == compose_test.inputs_digest([context / "Dockerfile"], "base-1")
    assert first != compose_test.inputs_digest([context / "Dockerfile"], "base-2"), "a new base image rebuilds"


@pytest.mark.parametrize(
    ("partitions", "replicas", "active"),
    [
        (4, 1, 1),
        (4, 2, 2),
        (4, 3, 2),
        (4, 4, 4),
        (4, 6, 4),
        (6, 3, 3),
        (8, 3, 3),
        (8, 5, 4),
        (0, 2, 0),
    ],
)
def test_how_many_enrichers_get_partitions(partitions: int, replicas: int, active: int) -> None:
    # Measured with 4 partitions: 2 replicas hold [0, 1] and [2, 3]; 3 replicas hold [0, 1], [2, 3] and nothing.
    # The rest follows faust/assignor/copartitioned_assignor.py: max_capacity = ceil(partitions / clients), filled
    # in order.
    assert compose_test.replicas_with_partitions(partitions, replicas) == active
