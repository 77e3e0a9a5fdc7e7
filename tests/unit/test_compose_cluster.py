"""deploy/compose.cluster.yml: the three-broker, two-node topology laid over docker-compose.yml, validated as
the single-node file is (``docker-compose config``; no engine here) and checked for the settings that make it a
cluster: one quorum, one cluster id, replication 3 / min ISR 2, a replica per index, clients that know every node.
"""

from __future__ import annotations

import subprocess
from functools import cache
from typing import Any

import yaml

from tests.unit.test_compose import COMPOSE_FILE, PIPELINE_SERVICES, ROOT, _docker_compose

CLUSTER_FILE = ROOT / "deploy" / "compose.cluster.yml"
BROKERS = ("kafka", "kafka-2", "kafka-3")
ES_NODES = ("elasticsearch", "elasticsearch-2")


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_docker_compose(), "--file", str(COMPOSE_FILE), "--file", str(CLUSTER_FILE), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
    )  # fmt: skip


@cache
def cluster_services() -> dict[str, Any]:
    result = _compose("config")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    found: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return found


def test_cluster_file_is_valid() -> None:
    result = _compose("config", "--quiet")
    assert result.returncode == 0, f"docker-compose config -q rejected the cluster topology:\n{result.stderr}"


def test_three_brokers_form_one_quorum() -> None:
    found = cluster_services()
    envs = [found[name]["environment"] for name in BROKERS]
    assert [env["KAFKA_NODE_ID"] for env in envs] == ["1", "2", "3"]
    assert len({env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in envs}) == 1
    assert len({env["CLUSTER_ID"] for env in envs}) == 1, "every node formatted with the same cluster id"
    for name, env in zip(BROKERS, envs, strict=True):
        assert f"{env['KAFKA_NODE_ID']}@{name}:9093" in env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
        assert f"INTERNAL://{name}:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
    host_ports = [p for name in BROKERS for p in found[name].get("ports", [])]
    assert len(host_ports) == len({str(p) for p in host_ports}) == 3


def test_two_elasticsearch_nodes_form_one_cluster() -> None:
    found = cluster_services()
    envs = [found[name]["environment"] for name in ES_NODES]
    assert {env["cluster.name"] for env in envs} == {"news-event-pipeline"}
    assert all(env["discovery.type"] == "multi-node" for env in envs)
    assert len({env["node.name"] for env in envs}) == 2
    assert envs[0]["cluster.initial_master_nodes"] == envs[0]["node.name"]
    assert envs[1]["node.roles"] == "data"
    volumes = [str(v).split(":")[0] for name in ES_NODES for v in found[name]["volumes"]]
    assert len(set(volumes)) == 2, "each node has its own data volume"


def test_pipeline_services_know_every_node_and_ask_for_replicas() -> None:
    found = cluster_services()
    for name in PIPELINE_SERVICES - {"samples"}:
        env = found[name]["environment"]
        assert env["PIPELINE_KAFKA_BOOTSTRAP"].split(",") == [f"{broker}:9092" for broker in BROKERS], name
        assert env["PIPELINE_ELASTICSEARCH_URL"].split(",") == [f"http://{node}:9200" for node in ES_NODES], name
        assert (env["PIPELINE_TOPIC_REPLICATION"], env["PIPELINE_TOPIC_MIN_INSYNC_REPLICAS"]) == ("3", "2"), name
        assert env["PIPELINE_INDEX_REPLICAS"] == "1", name
    assert found["collector"]["environment"]["PIPELINE_ALLOW_PRIVATE_HOSTS"], "single-node settings still apply"
    waits = found["setup"]["depends_on"]
    assert all(waits[name]["condition"] == "service_healthy" for name in (*BROKERS, *ES_NODES))
    assert "elasticsearch-2" in found["kibana"]["environment"]["ELASTICSEARCH_HOSTS"]


def test_enricher_still_scales() -> None:
    enricher = cluster_services()["enricher"]
    assert "container_name" not in enricher and not enricher.get("ports")
