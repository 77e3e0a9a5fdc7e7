"""Where the local stack puts Elasticsearch's files: reachable by the ES user from a clone anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.devstack import layout as layout_module
from pipeline.devstack.layout import DEFAULT_ES_BASE, Layout, es_dir_for
from pipeline.devstack.process import DevstackError, make_trusted_dir
from pipeline.settings import Settings


def test_not_root_keeps_everything_in_the_devstack_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(layout_module.os, "geteuid", lambda: 1000)
    assert es_dir_for(tmp_path, None) == (tmp_path / "dist", tmp_path)


def test_root_moves_es_files_out_of_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_module.os, "geteuid", lambda: 0)
    dist, first = es_dir_for(Path("/root/private clone/.devstack"), None)
    _, second = es_dir_for(Path("/tmp/tmp.x/p q/.devstack"), None)
    assert dist == DEFAULT_ES_BASE / "dist", "the read-only distribution is shared"
    assert first.parent == second.parent == DEFAULT_ES_BASE
    assert first != second, "two clones never share a node's data"
    assert " " not in str(first)


def test_configured_es_dir_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(layout_module.os, "geteuid", lambda: 1000)
    settings = Settings(devstack_dir=tmp_path / "stack", devstack_es_dir=tmp_path / "es")
    layout = Layout.from_settings(settings)
    assert layout.es_dist == tmp_path / "es" / "dist"
    assert layout.es_root.parent == tmp_path / "es"


def test_trusted_dir_is_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    make_trusted_dir(target)
    assert target.is_dir()


def test_trusted_dir_refuses_a_directory_others_can_write(tmp_path: Path) -> None:
    shared = tmp_path / "open"
    shared.mkdir()
    os.chmod(shared, 0o777)  # world-writable without the sticky bit: anyone could swap our files
    with pytest.raises(DevstackError, match="PIPELINE_DEVSTACK_ES_DIR"):
        make_trusted_dir(shared / "es")


OTHER_UID = 4321


def _sticky_tmp(tmp_path: Path) -> Path:
    """A directory like /var/tmp: world-writable and sticky, where anyone may plant an entry of their own."""
    shared = tmp_path / "var-tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    return shared


def _needs_root() -> None:
    # Only root can give a symlink to another user; and only as root does the devstack put Elasticsearch's files
    # outside the checkout (es_dir_for), which is where this check runs.
    if os.geteuid() != 0:
        pytest.skip("needs root: a symlink owned by another user cannot be made otherwise")


def test_trusted_dir_refuses_a_symlink_owned_by_another_user(tmp_path: Path) -> None:
    # Issue 21 item 17: the check used stat(), which follows the link and saw our own directory behind it. The
    # link's owner can replace it (even in a sticky directory) and send our files wherever they like.
    _needs_root()
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o755)
    planted = _sticky_tmp(tmp_path) / "pipeline-es"
    planted.symlink_to(ours)
    os.lchown(planted, OTHER_UID, OTHER_UID)
    with pytest.raises(DevstackError, match=f"symlink owned by uid {OTHER_UID}"):
        make_trusted_dir(planted / "es")
    assert not (ours / "es").exists(), "nothing is created where another user's link points"


def test_trusted_dir_refuses_another_users_symlink_further_up_and_in_a_link_target(tmp_path: Path) -> None:
    _needs_root()
    (tmp_path / "ours" / "deep").mkdir(parents=True, mode=0o755)
    shared = _sticky_tmp(tmp_path)
    (shared / "theirs").symlink_to(tmp_path / "ours")
    os.lchown(shared / "theirs", OTHER_UID, OTHER_UID)
    (tmp_path / "mine").symlink_to(shared / "theirs" / "deep")  # our link, but its target goes through theirs
    with pytest.raises(DevstackError, match="symlink owned by uid"):
        make_trusted_dir(tmp_path / "mine" / "es")


def test_trusted_dir_follows_our_own_symlinks_and_checks_where_they_lead(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o755)
    (tmp_path / "link").symlink_to("ours")  # relative, ours
    make_trusted_dir(tmp_path / "link" / "a" / ".." / "es")
    assert (ours / "es").is_dir()
    shared = tmp_path / "open"
    shared.mkdir()
    os.chmod(shared, 0o777)
    (tmp_path / "to-open").symlink_to(shared)
    with pytest.raises(DevstackError, match="could be changed by another user"):
        make_trusted_dir(tmp_path / "to-open" / "es")


def test_trusted_dir_refuses_a_symlink_loop_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(DevstackError, match="symlinks"):
        make_trusted_dir(tmp_path / "a" / "es")


# ---------------------------------------------------------------------------------------------------------
# A cluster on loopback: ports, replication, roles.


def _cluster(tmp_path: Path, brokers: int = 3, es_nodes: int = 2, base: int = 39100) -> Layout:
    return Layout.from_settings(
        Settings(
            devstack_dir=tmp_path,
            devstack_brokers=brokers,
            devstack_es_nodes=es_nodes,
            devstack_cluster_port_base=base,
        )
    )


def test_single_node_keeps_the_configured_ports(tmp_path: Path) -> None:
    layout = Layout.from_settings(
        Settings(
            devstack_dir=tmp_path,
            devstack_brokers=1,
            devstack_es_nodes=1,
            devstack_kafka_port=9092,
            devstack_kafka_controller_port=9093,
            devstack_kafka_sasl_port=9094,
            devstack_es_port=9200,
        )
    )
    assert layout.kafka_bootstrap == "127.0.0.1:9092"
    assert (layout.kafka[0].controller_port, layout.kafka[0].sasl_port) == (9093, 9094)
    assert layout.es_url == "http://127.0.0.1:9200"
    assert layout.es[0].transport_port == 9300, "explicit, never a range another stack's node could bind"
    assert layout.es_cluster_name == "pipeline-devstack"


def test_cluster_ports_come_from_their_own_base(tmp_path: Path) -> None:
    layout = _cluster(tmp_path)
    ports = [p for n in layout.kafka for p in (n.port, n.controller_port, n.sasl_port)]
    ports += [p for n in layout.es for p in (n.http_port, n.transport_port)]
    assert len(ports) == len(set(ports)) == 3 * 3 + 2 * 2
    assert not set(ports) & {9092, 9093, 9094, 9200, 9300}, "a cluster runs next to a default single node"
    assert layout.kafka_bootstrap == "127.0.0.1:39101,127.0.0.1:39102,127.0.0.1:39103"
    assert layout.es_url == "http://127.0.0.1:39131,http://127.0.0.1:39132"
    assert layout.es_cluster_name != _cluster(tmp_path / "other").es_cluster_name, "two clusters never merge"


def test_brokers_replicate_three_ways_with_two_in_sync(tmp_path: Path) -> None:
    from pipeline.devstack import kafka

    layout = _cluster(tmp_path)
    props = dict(line.split("=", 1) for line in kafka.server_properties(layout, layout.kafka[1], tmp_path).splitlines())
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:39111,2@127.0.0.1:39112,3@127.0.0.1:39113"
    assert props["listeners"].startswith("PLAINTEXT://127.0.0.1:39102,")
    assert props["default.replication.factor"] == props["offsets.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
    assert kafka.replication(1) == (1, 1) and kafka.replication(2) == (2, 1) and kafka.replication(5) == (3, 2)


def test_two_es_nodes_have_one_master(tmp_path: Path) -> None:
    from pipeline.devstack import elasticsearch

    layout = _cluster(tmp_path)
    first, second = (
        elasticsearch.elasticsearch_yml(layout, node, elasticsearch.EsPaths.of(layout, node.number))
        for node in layout.es
    )
    for text in (first, second):
        assert "discovery.seed_hosts: [127.0.0.1:39141, 127.0.0.1:39142]" in text
        assert "cluster.initial_master_nodes: [devstack-1]" in text
        assert "single-node" not in text
    assert "node.roles" not in first and "node.roles: [data]" in second
    three = _cluster(tmp_path, es_nodes=3)
    assert elasticsearch.master_eligible(three) == three.es


def test_stack_env_asks_for_the_replication_the_cluster_allows(tmp_path: Path) -> None:
    from pipeline.devstack.stack import StackInfo

    def env(brokers: int, es_nodes: int) -> dict[str, str]:
        info = StackInfo("k", "s", "e", "3.9", "8.19", "id", "green", tmp_path, (), brokers, es_nodes)
        return info.env()

    single, cluster = env(1, 1), env(3, 2)
    assert (single["PIPELINE_TOPIC_REPLICATION"], single["PIPELINE_INDEX_REPLICAS"]) == ("1", "0")
    assert cluster["PIPELINE_TOPIC_REPLICATION"] == "3"
    assert cluster["PIPELINE_TOPIC_MIN_INSYNC_REPLICAS"] == "2"
    assert cluster["PIPELINE_INDEX_REPLICAS"] == "1"
