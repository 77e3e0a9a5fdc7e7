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
from collections.abc import Callable, Iterator, Mapping
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


def _free_http_port() -> int:
    """An HTTP port whose transport port (+100, see the devstack layout) is free too."""
    for _ in range(200):
        port = random.randrange(29000, 29800)
        if port_is_free(port) and port_is_free(port + 100):
            return port
    raise RuntimeError("no free port pair for a dedicated Elasticsearch node")


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
    main = Layout.from_settings(settings)
    artifacts = ensure_artifacts(main, Console(stderr=True))
    port = _free_http_port()
    layout = Layout.from_settings(
        settings.model_copy(
            update={"devstack_dir": main.root / "dedicated" / f"{name}-{port}", "devstack_es_port": port,
                    "devstack_es_nodes": 1}
        )
    )  # fmt: skip
    (node,) = layout.es
    layout.run.mkdir(parents=True, exist_ok=True)
    settings_for_node = {**overrides, "xpack.security.enabled": "true" if security else "false"}
    files = _file_realm(artifacts.es_home) if security else None
    auth = ADMIN if security else None
    _, launcher = elasticsearch.start(
        layout, node, artifacts.es_home, artifacts.versions.elasticsearch, settings_for_node, files
    )
    try:
        _wait_ready(layout, auth, launcher_alive=launcher.is_running)
        yield DedicatedNode(layout.es_url, auth, elasticsearch.EsPaths.of(layout).config)
    finally:
        stop([*elasticsearch.running_records(layout), launcher], timeout=20)
        elasticsearch.remove_run_dirs(layout)
        shutil.rmtree(layout.root, ignore_errors=True)


def _wait_ready(
    layout: Layout, auth: tuple[str, str] | None, launcher_alive: Callable[[], bool], timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    output = elasticsearch.EsPaths.of(layout).output
    while time.monotonic() < deadline:
        try:
            health = httpx.get(
                f"{layout.es_url}/_cluster/health",
                params={"wait_for_status": "yellow", "timeout": "1s"},
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
