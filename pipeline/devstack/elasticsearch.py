"""Elasticsearch nodes from the integ-test-zip distribution (one, or a cluster on loopback), run as an
unprivileged user.

ES refuses to start as root and CI runs as root, so when we are root a dedicated system account
(``pipeline-es``) is created once and the node runs under it via ``setpriv`` (which execs, so the PID we
record is the launcher itself, not a wrapper).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.devstack.java import elasticsearch_java_home, java_major
from pipeline.devstack.layout import EsNode, Layout
from pipeline.devstack.process import (
    DevstackError,
    ProcessRecord,
    make_trusted_dir,
    port_is_free,
    read_pid_file,
    spawn,
    tail,
    write_pid_file,
)

ES_USER = "pipeline-es"
# 1 GB max heap is plenty for test-sized indices and leaves room for Kafka and the tests on a small runner.
# C1-only JIT: on 2 busy cores the node reached yellow in ~16 s instead of ~28 s (mean of 4 A/B runs); the
# lower peak throughput is irrelevant for test-sized data.
ES_JAVA_OPTS = "-Xms512m -Xmx1g -XX:TieredStopAtLevel=1"
# A cluster's nodes share the machine with the brokers and the workers: 512 MB each.
ES_CLUSTER_JAVA_OPTS = "-Xms512m -Xmx512m -XX:TieredStopAtLevel=1"


@dataclass(frozen=True)
class EsHealth:
    status: str
    cluster_name: str
    version: str
    node_count: int = 1


@dataclass(frozen=True)
class EsPaths:
    run: Path
    config: Path
    data: Path
    tmp: Path
    logs: Path
    output: Path
    es_pid_file: Path  # written by ES itself (-p), holds the server JVM's PID
    launcher_pid_file: Path
    server_pid_file: Path
    version_file: Path

    @classmethod
    def of(cls, layout: Layout, number: int = 1) -> EsPaths:
        # Under es_root: the ES user must reach these (see layout.es_dir_for); PID files and the launcher's
        # output are written by us and stay in the devstack dir. Node 1 keeps the single-node names.
        name = "elasticsearch" if number == 1 else f"elasticsearch-{number}"
        run = layout.es_root / "run" / name
        return cls(
            run=run,
            config=run / "config",
            data=run / "data",
            tmp=run / "tmp",
            logs=layout.es_root / "logs" / name,
            output=layout.logs / f"{name}.out",
            es_pid_file=run / "es.pid",
            launcher_pid_file=layout.run / "pids" / f"{name}-launcher.pid",
            server_pid_file=layout.run / "pids" / f"{name}.pid",
            version_file=run / "version",
        )

    @property
    def link(self) -> Path:
        """``<devstack_dir>/logs/<name>``: where people look for the node's logs (see _link_logs)."""
        return self.output.parent / self.output.stem


@dataclass(frozen=True)
class RunAs:
    uid: int
    gid: int
    name: str


def running_records(layout: Layout, number: int | None = None) -> list[ProcessRecord]:
    """Live processes (server JVM, launcher) of one node, or of every node of the layout."""
    numbers = [node.number for node in layout.es] if number is None else [number]
    records: list[ProcessRecord | None] = []
    for each in numbers:
        paths = EsPaths.of(layout, each)
        if not paths.server_pid_file.exists():
            # Stopped or interrupted before it was ready: ES may still have written its own PID file.
            _record_server_pid(paths)
        records += [read_pid_file(paths.server_pid_file), read_pid_file(paths.launcher_pid_file)]
    return [r for r in records if r is not None and r.is_running()]


def running_version(layout: Layout) -> str:
    try:
        return EsPaths.of(layout).version_file.read_text().strip()
    except FileNotFoundError:
        return "?"


def ensure_es_user() -> RunAs | None:
    """The account ES runs as when we are root (None: run as ourselves). Created on first use."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(ES_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        cmd = [
            useradd, "--system", "--user-group", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
            "--comment", "pipeline devstack Elasticsearch", ES_USER,
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise DevstackError(
                f"Elasticsearch cannot run as root and creating the user {ES_USER!r} failed: "
                f"{' '.join(cmd)}\n{result.stderr}"
            ) from None
        entry = pwd.getpwnam(ES_USER)
    return RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=ES_USER)


def _check_traversable(path: Path, run_as: RunAs) -> None:
    """The ES user must be able to reach the devstack dir; /root/... checkouts are a common trap."""
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == run_as.uid:
            continue
        bit = stat.S_IXGRP if st.st_gid == run_as.gid else stat.S_IXOTH
        if not st.st_mode & bit:
            raise DevstackError(
                f"User {run_as.name} cannot enter {parent} (mode {stat.filemode(st.st_mode)}), so "
                f"Elasticsearch cannot read {path}. Run `chmod o+x {parent}` or set "
                "PIPELINE_DEVSTACK_ES_DIR to a directory outside it (default /var/tmp/pipeline-devstack)."
            )


def elasticsearch_yml(layout: Layout, node: EsNode, paths: EsPaths, overrides: Mapping[str, str] | None = None) -> str:
    """The node's configuration; ``overrides`` replace or add settings (a dedicated node in a fault test)."""
    lines = [
        f"cluster.name: {layout.es_cluster_name}",
        f"node.name: devstack-{node.number}",
        f"path.data: {paths.data}",
        f"path.logs: {paths.logs}",
        "network.host: 127.0.0.1",
        f"http.port: {node.http_port}",
        # Explicit, never a range: a node must not bind (and be found on) another stack's transport port.
        f"transport.port: {node.transport_port}",
        "xpack.security.enabled: false",
        # CI disks are often >90% full; the watermarks would otherwise turn indices read-only.
        "cluster.routing.allocation.disk.threshold_enabled: false",
        # Tests clean up with wildcards (DELETE test-*); fine for a throwaway node.
        "action.destructive_requires_name: false",
    ]
    if layout.es_node_count == 1:
        # single-node discovery also waives the production bootstrap checks (vm.max_map_count etc.).
        lines.append("discovery.type: single-node")
    else:
        masters = master_eligible(layout)
        seeds = ", ".join(f"127.0.0.1:{n.transport_port}" for n in layout.es)
        lines += [
            f"discovery.seed_hosts: [{seeds}]",
            "cluster.initial_master_nodes: [" + ", ".join(f"devstack-{n.number}" for n in masters) + "]",
        ]
        if node not in masters:
            lines.append("node.roles: [data]")
        # Loopback-only nodes: ES then treats the bootstrap checks as warnings, as for a single node.
    overrides = overrides or {}
    lines = [line for line in lines if line.split(":", 1)[0] not in overrides]
    lines += [f"{key}: {value}" for key, value in overrides.items()]
    return "\n".join([*lines, ""])


def master_eligible(layout: Layout) -> tuple[EsNode, ...]:
    """Two master-eligible nodes cannot outvote each other (ES keeps one out of the voting set anyway), so a
    two-node cluster has one master and one data-only node; from three on, every node is master-eligible."""
    return layout.es[:1] if layout.es_node_count == 2 else layout.es


def check_port(layout: Layout, node: EsNode) -> None:
    for port in (node.http_port, node.transport_port):
        if not port_is_free(port):
            single = layout.es_node_count == 1
            setting = "PIPELINE_DEVSTACK_ES_PORT" if single else "PIPELINE_DEVSTACK_CLUSTER_PORT_BASE"
            raise DevstackError(
                f"Elasticsearch cannot listen on 127.0.0.1:{port}: the port is in use by a process "
                f"this devstack ({layout.root}) did not start. Stop it "
                f"(see `ss -ltnp 'sport = :{port}'`) or pick other ports with {setting}=<port>."
            )


def start(
    layout: Layout,
    node: EsNode,
    es_home: Path,
    version: str,
    overrides: Mapping[str, str] | None = None,
    config_files: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    """Write a fresh config/data dir and launch the node. Does not wait for it. ``overrides`` are settings for
    elasticsearch.yml, ``config_files`` more files for its config dir (e.g. the file realm's users)."""
    paths = EsPaths.of(layout, node.number)
    check_port(layout, node)
    java_home = elasticsearch_java_home()
    major = java_major(java_home)
    if major is not None and major < 17:
        raise DevstackError(f"Elasticsearch 8.19 needs Java 17+, but {java_home} is Java {major}; set ES_JAVA_HOME")
    run_as = ensure_es_user()

    if layout.es_root != layout.root:
        make_trusted_dir(layout.es_root)
    shutil.rmtree(paths.run, ignore_errors=True)
    shutil.rmtree(paths.logs, ignore_errors=True)
    paths.output.unlink(missing_ok=True)
    _link_logs(paths)
    # A private copy of config/: ES writes its keystore there, and the distribution stays pristine.
    shutil.copytree(es_home / "config", paths.config)
    (paths.config / "elasticsearch.yml").write_text(elasticsearch_yml(layout, node, paths, overrides))
    for name, text in (config_files or {}).items():
        (paths.config / name).write_text(text)
    for directory in (paths.data, paths.tmp, paths.logs):
        directory.mkdir(parents=True, exist_ok=True)
    paths.version_file.write_text(version + "\n")
    if run_as is not None:
        for needed in (es_home, paths.run, paths.logs):
            _check_traversable(needed, run_as)
        for directory in (paths.run, paths.logs):
            _chown_tree(directory, run_as)
    return _launch(layout, paths, es_home, java_home, run_as)


def kept_data(layout: Layout, node: EsNode, version: str) -> bool:
    """Whether the node's config and data dirs were left by a node that was not stopped with ``down`` (killed,
    crashed, the machine restarted), made by this Elasticsearch version."""
    paths = EsPaths.of(layout, node.number)
    try:
        return (
            paths.version_file.read_text().strip() == version
            and (paths.config / "elasticsearch.yml").is_file()
            and paths.data.is_dir()
        )
    except OSError:
        return False


def restart(layout: Layout, node: EsNode, es_home: Path) -> ProcessRecord:
    """Launch a stopped (e.g. killed) node again on its existing config and data, as after a crash."""
    paths = EsPaths.of(layout, node.number)
    if running_records(layout, node.number):
        raise DevstackError(f"Elasticsearch node {node.number} is running")
    check_port(layout, node)
    paths.server_pid_file.unlink(missing_ok=True)
    paths.es_pid_file.unlink(missing_ok=True)
    _, launcher = _launch(layout, paths, es_home, elasticsearch_java_home(), ensure_es_user())
    return launcher


def _launch(
    layout: Layout, paths: EsPaths, es_home: Path, java_home: Path, run_as: RunAs | None
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    argv = [str(es_home / "bin" / "elasticsearch"), "-p", str(paths.es_pid_file)]
    if run_as is not None:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        argv = [setpriv, f"--reuid={run_as.uid}", f"--regid={run_as.gid}", "--init-groups", "--", *argv]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(paths.run),
        "ES_JAVA_HOME": str(java_home),
        "ES_JAVA_OPTS": ES_JAVA_OPTS if layout.es_node_count == 1 else ES_CLUSTER_JAVA_OPTS,
        "ES_PATH_CONF": str(paths.config),
        "ES_TMPDIR": str(paths.tmp),
    }
    # cwd = the logs dir: the stock jvm.options writes gc.log relative to the working directory.
    proc = spawn(argv, env=env, cwd=paths.logs, output=paths.output)
    return proc, write_pid_file(paths.launcher_pid_file, proc.pid, f"{paths.link.name}-launcher")


def _link_logs(paths: EsPaths) -> None:
    """Keep ``<devstack_dir>/logs/<node>`` the place to look, wherever the node's logs really are."""
    link = paths.link
    if link == paths.logs:
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(paths.logs, target_is_directory=True)


def remove_run_dirs(layout: Layout) -> None:
    """The nodes' config and data (``down``); outside the devstack dir when ES runs as another user."""
    shutil.rmtree(layout.es_root / "run", ignore_errors=True)


def _chown_tree(root: Path, run_as: RunAs) -> None:
    for path in [root, *root.rglob("*")]:
        os.chown(path, run_as.uid, run_as.gid, follow_symlinks=False)


def probe(layout: Layout, timeout: float = 2.0) -> EsHealth | None:
    """Cluster health (yellow or green) plus the node version; None while not ready or not ours.

    Not ``GET /``: the integ-test-zip lacks the rest-root module, so that endpoint does not exist. Asks
    every node in turn, so a cluster with one node down still answers.
    """
    for node in layout.es:
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{node.http_port}", timeout=timeout) as client:
                health = client.get("/_cluster/health", params={"wait_for_status": "yellow", "timeout": "1s"})
                if health.status_code != 200:
                    continue
                body = health.json()
                if body.get("status") not in ("yellow", "green"):
                    continue
                nodes = client.get("/_nodes/_local", params={"filter_path": "nodes.*.version"}).json()
        except (httpx.HTTPError, ValueError):
            continue
        versions = [each.get("version", "?") for each in nodes.get("nodes", {}).values()]
        return EsHealth(
            status=body["status"],
            cluster_name=body.get("cluster_name", "?"),
            version=versions[0] if versions else "?",
            node_count=int(body.get("number_of_nodes", 0)),
        )
    return None


def wait_ready(layout: Layout, launchers: list[ProcessRecord], timeout: float) -> EsHealth:
    """Until the cluster is yellow or green with every node of the layout joined."""
    deadline = time.monotonic() + timeout
    output = EsPaths.of(layout).output
    while time.monotonic() < deadline:
        for launcher in launchers:
            if not launcher.is_running():
                dead = output.parent / f"{launcher.name.removesuffix('-launcher')}.out"
                raise DevstackError(
                    f"Elasticsearch (pid {launcher.pid}) exited during startup. Last lines of {dead}:\n{tail(dead, 40)}"
                )
        health = probe(layout)
        if health is not None:
            if health.cluster_name != layout.es_cluster_name:
                raise DevstackError(
                    f"{layout.es_url} answers as cluster {health.cluster_name!r}, not this devstack's node"
                )
            if health.node_count >= layout.es_node_count:
                for node in layout.es:
                    _record_server_pid(EsPaths.of(layout, node.number))
                return health
        time.sleep(0.5)
    raise DevstackError(
        f"Elasticsearch did not reach yellow health with {layout.es_node_count} node(s) on {layout.es_url} "
        f"within {timeout:.0f}s. Last lines of {output}:\n{tail(output, 40)}"
    )


def _record_server_pid(paths: EsPaths) -> None:
    """The launcher forks the real server JVM; ES writes that PID to -p, we add the start time."""
    try:
        pid = int(paths.es_pid_file.read_text().strip())
    except (FileNotFoundError, ValueError, PermissionError):
        return
    with contextlib.suppress(DevstackError):  # it exited in the meantime: nothing to record
        write_pid_file(paths.server_pid_file, pid, paths.link.name)
