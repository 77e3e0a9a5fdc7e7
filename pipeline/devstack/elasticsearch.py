"""A single Elasticsearch node from the integ-test-zip distribution, run as an unprivileged user.

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
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.devstack.java import elasticsearch_java_home, java_major
from pipeline.devstack.layout import Layout
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
CLUSTER_NAME = "pipeline-devstack"
# 1 GB max heap is plenty for test-sized indices and leaves room for Kafka and the tests on a small runner.
# C1-only JIT: on 2 busy cores the node reached yellow in ~16 s instead of ~28 s (mean of 4 A/B runs); the
# lower peak throughput is irrelevant for test-sized data.
ES_JAVA_OPTS = "-Xms512m -Xmx1g -XX:TieredStopAtLevel=1"


@dataclass(frozen=True)
class EsHealth:
    status: str
    cluster_name: str
    version: str


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
    def of(cls, layout: Layout) -> EsPaths:
        # Under es_root: the ES user must reach these (see layout.es_dir_for); PID files and the launcher's
        # output are written by us and stay in the devstack dir.
        run = layout.es_root / "run" / "elasticsearch"
        return cls(
            run=run,
            config=run / "config",
            data=run / "data",
            tmp=run / "tmp",
            logs=layout.es_root / "logs" / "elasticsearch",
            output=layout.logs / "elasticsearch.out",
            es_pid_file=run / "es.pid",
            launcher_pid_file=layout.run / "pids" / "elasticsearch-launcher.pid",
            server_pid_file=layout.run / "pids" / "elasticsearch.pid",
            version_file=run / "version",
        )


@dataclass(frozen=True)
class RunAs:
    uid: int
    gid: int
    name: str


def running_records(layout: Layout) -> list[ProcessRecord]:
    paths = EsPaths.of(layout)
    if not paths.server_pid_file.exists():
        # Stopped or interrupted before it was ready: ES may still have written its own PID file.
        _record_server_pid(paths)
    records = [read_pid_file(paths.server_pid_file), read_pid_file(paths.launcher_pid_file)]
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


def elasticsearch_yml(layout: Layout, paths: EsPaths) -> str:
    return "\n".join(
        [
            f"cluster.name: {CLUSTER_NAME}",
            "node.name: devstack-1",
            f"path.data: {paths.data}",
            f"path.logs: {paths.logs}",
            # single-node discovery also waives the production bootstrap checks (vm.max_map_count etc.).
            "discovery.type: single-node",
            "network.host: 127.0.0.1",
            f"http.port: {layout.es_port}",
            "xpack.security.enabled: false",
            # CI disks are often >90% full; the watermarks would otherwise turn indices read-only.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            # Tests clean up with wildcards (DELETE test-*); fine for a throwaway node.
            "action.destructive_requires_name: false",
            "",
        ]
    )


def check_port(layout: Layout) -> None:
    if not port_is_free(layout.es_port):
        raise DevstackError(
            f"Elasticsearch cannot listen on 127.0.0.1:{layout.es_port}: the port is in use by a process "
            f"this devstack ({layout.root}) did not start. Stop it "
            f"(see `ss -ltnp 'sport = :{layout.es_port}'`) or pick another port with "
            "PIPELINE_DEVSTACK_ES_PORT=<port>."
        )


def start(
    layout: Layout, es_home: Path, version: str, *, keep_data: bool = False
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    """Write a fresh config/data dir and launch the node (``keep_data``: relaunch on the existing ones, as
    after a crash). Does not wait for it."""
    paths = EsPaths.of(layout)
    check_port(layout)
    java_home = elasticsearch_java_home()
    major = java_major(java_home)
    if major is not None and major < 17:
        raise DevstackError(f"Elasticsearch 8.19 needs Java 17+, but {java_home} is Java {major}; set ES_JAVA_HOME")
    run_as = ensure_es_user()

    if layout.es_root != layout.root:
        make_trusted_dir(layout.es_root)
    if keep_data:
        for stale in (paths.es_pid_file, paths.server_pid_file):
            stale.unlink(missing_ok=True)
    else:
        shutil.rmtree(paths.run, ignore_errors=True)
        shutil.rmtree(paths.logs, ignore_errors=True)
        paths.output.unlink(missing_ok=True)
        _link_logs(layout, paths)
        # A private copy of config/: ES writes its keystore there, and the distribution stays pristine.
        shutil.copytree(es_home / "config", paths.config)
        (paths.config / "elasticsearch.yml").write_text(elasticsearch_yml(layout, paths))
    for directory in (paths.data, paths.tmp, paths.logs):
        directory.mkdir(parents=True, exist_ok=True)
    paths.version_file.write_text(version + "\n")

    argv = [str(es_home / "bin" / "elasticsearch"), "-p", str(paths.es_pid_file)]
    if run_as is not None:
        for needed in (es_home, paths.run, paths.logs):
            _check_traversable(needed, run_as)
        for directory in (paths.run, paths.logs):
            _chown_tree(directory, run_as)
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        argv = [setpriv, f"--reuid={run_as.uid}", f"--regid={run_as.gid}", "--init-groups", "--", *argv]

    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(paths.run),
        "ES_JAVA_HOME": str(java_home),
        "ES_JAVA_OPTS": ES_JAVA_OPTS,
        "ES_PATH_CONF": str(paths.config),
        "ES_TMPDIR": str(paths.tmp),
    }
    # cwd = the logs dir: the stock jvm.options writes gc.log relative to the working directory.
    proc = spawn(argv, env=env, cwd=paths.logs, output=paths.output)
    return proc, write_pid_file(paths.launcher_pid_file, proc.pid, "elasticsearch-launcher")


def _link_logs(layout: Layout, paths: EsPaths) -> None:
    """Keep ``<devstack_dir>/logs/elasticsearch`` the place to look, wherever the node's logs really are."""
    link = layout.logs / "elasticsearch"
    if link == paths.logs:
        return
    layout.logs.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(paths.logs, target_is_directory=True)


def remove_run_dirs(layout: Layout) -> None:
    """The node's config and data (``down``); outside the devstack dir when ES runs as another user."""
    shutil.rmtree(EsPaths.of(layout).run, ignore_errors=True)


def _chown_tree(root: Path, run_as: RunAs) -> None:
    for path in [root, *root.rglob("*")]:
        os.chown(path, run_as.uid, run_as.gid, follow_symlinks=False)


def probe(layout: Layout, timeout: float = 2.0) -> EsHealth | None:
    """Cluster health (yellow or green) plus the node version; None while not ready or not ours.

    Not ``GET /``: the integ-test-zip lacks the rest-root module, so that endpoint does not exist.
    """
    try:
        with httpx.Client(base_url=layout.es_url, timeout=timeout) as client:
            health = client.get("/_cluster/health", params={"wait_for_status": "yellow", "timeout": "1s"})
            if health.status_code != 200:
                return None
            body = health.json()
            if body.get("status") not in ("yellow", "green"):
                return None
            nodes = client.get("/_nodes/_local", params={"filter_path": "nodes.*.version"}).json()
    except (httpx.HTTPError, ValueError):
        return None
    versions = [node.get("version", "?") for node in nodes.get("nodes", {}).values()]
    return EsHealth(
        status=body["status"],
        cluster_name=body.get("cluster_name", "?"),
        version=versions[0] if versions else "?",
    )


def wait_ready(layout: Layout, launcher: ProcessRecord, timeout: float) -> EsHealth:
    paths = EsPaths.of(layout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not launcher.is_running():
            raise DevstackError(
                f"Elasticsearch (pid {launcher.pid}) exited during startup. Last lines of {paths.output}:\n"
                f"{tail(paths.output, 40)}"
            )
        health = probe(layout)
        if health is not None:
            if health.cluster_name != CLUSTER_NAME:
                raise DevstackError(
                    f"{layout.es_url} answers as cluster {health.cluster_name!r}, not this devstack's node"
                )
            _record_server_pid(paths)
            return health
        time.sleep(0.5)
    raise DevstackError(
        f"Elasticsearch did not reach yellow health on {layout.es_url} within {timeout:.0f}s. "
        f"Last lines of {paths.output}:\n{tail(paths.output, 40)}"
    )


def _record_server_pid(paths: EsPaths) -> None:
    """The launcher forks the real server JVM; ES writes that PID to -p, we add the start time."""
    try:
        pid = int(paths.es_pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    with contextlib.suppress(DevstackError):  # it exited in the meantime: nothing to record
        write_pid_file(paths.server_pid_file, pid, "elasticsearch")
