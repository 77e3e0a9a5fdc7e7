"""A dedicated Elasticsearch node for one test: its own ports, data and settings (a small
``http.max_content_length``, security on), started from the devstack's distribution and stopped afterwards.
The shared node is never reconfigured.

With security on, users and roles are the file realm's (``users``, ``users_roles``, ``roles.yml``, written by the
distribution's own ``elasticsearch-users``): the native realm cannot work on this distribution, whose
integ-test-zip lacks the analysis-common module that the ``.security`` index's mapping needs (creating an API key
fails with "Unknown filter type [pattern_capture]")."""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from pipeline.devstack import elasticsearch
from pipeline.devstack.artifacts import ensure_artifacts
from pipeline.devstack.java import elasticsearch_java_home
from pipeline.devstack.layout import Layout
from pipeline.devstack.process import port_is_free, stop, tail
from pipeline.settings import Settings

ADMIN = ("pipeline-admin", "admin-secret-for-tests")
WRITER = ("pipeline-writer", "writer-secret-for-tests")
READER = ("pipeline-reader", "reader-secret-for-tests")
# What the indexer needs besides writing (it waits for cluster health and installs its templates).
ROLES_YML = """
pipeline_writer:
  cluster: [monitor, manage_index_templates]
  indices:
    - names: ["*"]
      privileges: [all]
pipeline_reader:
  cluster: [monitor, manage_index_templates]
  indices:
    - names: ["*"]
      privileges: [read, view_index_metadata]
"""
USERS = {ADMIN: "superuser", WRITER: "pipeline_writer", READER: "pipeline_reader"}


@dataclass(frozen=True)
class DedicatedNode:
    url: str
    auth: tuple[str, str] | None  # basic auth of a superuser, when security is on
    config: Path  # the node's config dir: the file realm reloads users it finds changed there

    def url_as(self, user: tuple[str, str]) -> str:
        """The node's URL with ``user``'s credentials in it, as PIPELINE_ELASTICSEARCH_URL takes them."""
        return self.url.replace("http://", f"http://{user[0]}:{user[1]}@", 1)


def _file_realm(es_home: Path) -> dict[str, str]:
    """roles.yml, users and users_roles for USERS, the users written by the distribution's own tool."""
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "config"
        shutil.copytree(es_home / "config", config)
        (config / "roles.yml").write_text(ROLES_YML)
        env = {"ES_PATH_CONF": str(config), "ES_JAVA_HOME": str(elasticsearch_java_home()), "PATH": "/usr/bin:/bin"}
        for (name, password), role in USERS.items():
            subprocess.run(
                [str(es_home / "bin" / "elasticsearch-users"), "useradd", name, "-p", password, "-r", role],
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        return {name: (config / name).read_text() for name in ("roles.yml", "users", "users_roles")}


@contextmanager
def dedicated_es_node(
    settings: Settings, name: str, overrides: Mapping[str, str], *, security: bool = False
) -> Iterator[DedicatedNode]:
    port = _free_port(lambda base: (base, base + 100))
    update = {"devstack_es_port": port, "devstack_es_nodes": 1}
    settings_for_node = {**overrides, "xpack.security.enabled": "true" if security else "false"}
    auth = ADMIN if security else None
    with _dedicated_layout(settings, f"{name}-{port}", update, [settings_for_node], auth, security=security) as layout:
        yield DedicatedNode(layout.es_url, auth, elasticsearch.EsPaths.of(layout).config)


@dataclass(frozen=True)
class DedicatedCluster:
    urls: tuple[str, ...]  # node j+1's HTTP URL (node 1 is the master, the others data-only)
    names: tuple[str, ...]  # their node.name, as allocation filters take them


@contextmanager
def dedicated_es_cluster(
    settings: Settings, name: str, node_overrides: Sequence[Mapping[str, str]]
) -> Iterator[DedicatedCluster]:
    """A cluster of ``len(node_overrides)`` nodes, each with settings of its own (e.g. a data node with a tiny
    ``indexing_pressure.memory.limit``); security off."""
    count = len(node_overrides)
    base = _free_port(lambda b: [b + offset + j for offset in (30, 40) for j in range(1, count + 1)])
    update = {"devstack_cluster_port_base": base, "devstack_es_nodes": count}
    overrides = [{**each, "xpack.security.enabled": "false"} for each in node_overrides]
    with _dedicated_layout(settings, f"{name}-{base}", update, overrides, None, security=False) as layout:
        yield DedicatedCluster(
            tuple(f"http://127.0.0.1:{node.http_port}" for node in layout.es),
            tuple(f"devstack-{node.number}" for node in layout.es),
        )


def _free_port(ports_for: Callable[[int], Iterable[int]]) -> int:
    """A base port whose derived ports (HTTP, transport, per node: see the devstack layout) are all free."""
    for _ in range(200):
        base = random.randrange(29000, 29700)
        if all(port_is_free(port) for port in ports_for(base)):
            return base
    raise RuntimeError("no free ports for a dedicated Elasticsearch node")


@contextmanager
def _dedicated_layout(
    settings: Settings,
    name: str,
    update: Mapping[str, object],
    node_overrides: Sequence[Mapping[str, str]],
    auth: tuple[str, str] | None,
    *,
    security: bool,
) -> Iterator[Layout]:
    """Start the layout's nodes, each with its overrides, wait until all joined, and remove them afterwards."""
    main = Layout.from_settings(settings)
    artifacts = ensure_artifacts(main, Console(stderr=True))
    dedicated_dir = main.root / "dedicated" / name
    layout = Layout.from_settings(settings.model_copy(update={**update, "devstack_dir": dedicated_dir}))
    layout.run.mkdir(parents=True, exist_ok=True)
    files = _file_realm(artifacts.es_home) if security else None
    launchers = []
    try:
        for node, overrides in zip(layout.es, node_overrides, strict=True):
            _, launcher = elasticsearch.start(
                layout, node, artifacts.es_home, artifacts.versions.elasticsearch, overrides, files
            )
            launchers.append(launcher)
        _wait_ready(layout, auth, launcher_alive=lambda: all(each.is_running() for each in launchers))
        yield layout
    finally:
        stop([*elasticsearch.running_records(layout), *launchers], timeout=20)
        elasticsearch.remove_run_dirs(layout)
        shutil.rmtree(layout.root, ignore_errors=True)


def _wait_ready(
    layout: Layout, auth: tuple[str, str] | None, launcher_alive: Callable[[], bool], timeout: float = 180
) -> None:
    """Until the cluster is yellow or green with every node of the layout joined (asked of node 1)."""
    deadline = time.monotonic() + timeout
    output = elasticsearch.EsPaths.of(layout).output
    while time.monotonic() < deadline:
        try:
            health = httpx.get(
                f"http://127.0.0.1:{layout.es[0].http_port}/_cluster/health",
                params={"wait_for_status": "yellow", "wait_for_nodes": str(layout.es_node_count), "timeout": "1s"},
                auth=auth,
                timeout=5,
            )
            if health.status_code == 200 and health.json().get("status") in ("yellow", "green"):
                return
        except httpx.HTTPError:
            pass
        if not launcher_alive():
            raise RuntimeError(f"the dedicated Elasticsearch node exited:\n{tail(output, 40)}")
        time.sleep(0.5)
    raise RuntimeError(f"the dedicated Elasticsearch node was not ready in {timeout:.0f}s:\n{tail(output, 40)}")
