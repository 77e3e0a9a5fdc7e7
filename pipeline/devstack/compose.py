"""`./run compose-test`: the compose deployment started for real, with podman and Debian's docker-compose.

    python -m pipeline.devstack.compose [--scale 2] [--keep]

On a machine with no Docker and no registry it installs podman and friends (apt), makes a Debian 12 base image
(debootstrap + podman import), builds the Kafka, Elasticsearch and pipeline images of deploy/compose.local.yml
(each skipped while its inputs are unchanged), runs `podman system service` for docker-compose 1.29 to talk
to, and a loop that runs the containers' healthchecks on a timer (no systemd here). Then it starts the stack,
waits on the healthchecks, checks the sample feed's articles and events in search and on events.enriched
from the host, kills an enricher and checks nothing is lost, scales the enrichers, measures memory, starts the
optional subscriptions worker, brings everything down with its volumes, and prints a report with timings.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import errors

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".compose"
CONTAINERS_CONF = ROOT / "deploy" / "local" / "containers.conf"
COMPOSE_FILES = (ROOT / "docker-compose.yml", ROOT / "deploy" / "compose.local.yml")
PROJECT = "newspipeline-compose-test"
# Host ports of the compose file and their defaults (docker-compose.yml): a taken one is replaced by a free one.
DEFAULT_PORTS = {
    "PIPELINE_COMPOSE_KAFKA_PORT": 29092,
    "PIPELINE_COMPOSE_ES_PORT": 9200,
    "PIPELINE_COMPOSE_KIBANA_PORT": 5601,
    "PIPELINE_COMPOSE_COLLECTOR_METRICS_PORT": 9101,
    "PIPELINE_COMPOSE_INDEXER_METRICS_PORT": 9102,
}
# apt package -> a file it installs (checked before installing anything).
PACKAGES = {
    "podman": "/usr/bin/podman",
    "debootstrap": "/usr/sbin/debootstrap",
    "uidmap": "/usr/bin/newuidmap",
    "slirp4netns": "/usr/bin/slirp4netns",
    "fuse-overlayfs": "/usr/bin/fuse-overlayfs",
    "containernetworking-plugins": "/usr/lib/cni/bridge",
    # Container names resolve in a CNI network only with this plugin (kafka, elasticsearch, samples, ...).
    "golang-github-containernetworking-plugin-dnsname": "/usr/lib/cni/dnsname",
    "runc": "/usr/bin/runc",
    "docker-compose": "/usr/bin/docker-compose",
}
DEBIAN_IMAGE = "localhost/news-pipeline-debian:bookworm"
JRE_IMAGE = "localhost/news-pipeline-jre:17"
PYTHON_IMAGE = "localhost/news-pipeline-python:3.11"
PIPELINE_IMAGE = "localhost/news-event-pipeline:local"
INPUTS_LABEL = "news-pipeline.inputs"
SAMPLE_ARTICLES = 7  # eight feed items, one a syndicated near-copy the collector drops


class ComposeTestError(Exception):
    """A step failed; the message says which and what was seen."""

    exit_code = errors.EXIT_UNAVAILABLE  # the deployment is not there as it must be


class CannotInstall(ComposeTestError):
    exit_code = errors.EXIT_NO_PERMISSION


# ---------------------------------------------------------------------------------------------------------
# Plain functions (unit-tested without podman).


def choose_ports(
    env: Mapping[str, str], is_free: Callable[[int], bool], free_port: Callable[[], int]
) -> dict[str, int]:
    """Each host port: as exported, else its default when free, else a free one (other stacks share the host)."""
    chosen: dict[str, int] = {}
    for name, default in DEFAULT_PORTS.items():
        if env.get(name):
            chosen[name] = int(env[name])
        elif is_free(default) and default not in chosen.values():
            chosen[name] = default
        else:
            port = free_port()
            while port in chosen.values():
                port = free_port()
            chosen[name] = port
    return chosen


def inputs_digest(paths: list[Path], extra: str = "") -> str:
    """A digest of the files under ``paths`` (names and contents, caches skipped) and ``extra``: an image whose
    label carries it was built from exactly these inputs."""
    digest = hashlib.sha256(extra.encode())
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    for file in files:
        if "__pycache__" in file.parts or file.suffix == ".pyc":
            continue
        digest.update(str(file.relative_to(ROOT)).encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def parse_memory(text: str) -> int:
    """Bytes of a podman stats figure such as '512.3MB', '1.2GB', '900kB' or '1.5GiB'."""
    units = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
    number = text.strip().rstrip("Bb").rstrip()
    for suffix in ("ki", "mi", "gi", "k", "m", "g"):
        if number.lower().endswith(suffix):
            return round(float(number[: -len(suffix)]) * units[suffix.lower() + "b"])
    return round(float(number))


def service_of(container_name: str) -> str:
    """`newspipeline-compose-test_enricher_2` -> `enricher` (docker-compose 1.29's container names)."""
    return container_name.removeprefix(f"{PROJECT}_").rsplit("_", 1)[0]


def memory_table(usage: Mapping[str, int]) -> tuple[dict[str, int], int]:
    """Per service (replicas added up) and in total, from per-container bytes."""
    per_service: dict[str, int] = {}
    for name, used in usage.items():
        per_service[service_of(name)] = per_service.get(service_of(name), 0) + used
    return per_service, sum(usage.values())


def replicas_with_partitions(partitions: int, replicas: int) -> int:
    """How many enricher replicas Faust's assignor gives partitions: it fills each worker up to
    ceil(partitions / replicas) before the next, so 4 partitions over 3 replicas are 2 + 2 + 0."""
    if partitions <= 0 or replicas <= 0:
        return 0
    capacity = math.ceil(partitions / replicas)
    return math.ceil(partitions / capacity)


def pipeline_requirements(pyproject: Path) -> list[str]:
    """The runtime dependencies the image installs (with the re-packaged model: SPACY_MODEL_SOURCE=pypi)."""
    deps: list[str] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return deps


@dataclass
class Report:
    steps: list[tuple[str, float, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        say(f"{name} ...")
        started = time.monotonic()
        outcome = "ok"
        try:
            yield
        except BaseException as exc:
            outcome = f"FAILED: {str(exc).splitlines()[0][:160]}" if str(exc) else "FAILED"
            raise
        finally:
            elapsed = time.monotonic() - started
            self.steps.append((name, elapsed, outcome))
            say(f"{name}: {outcome} ({elapsed:.0f}s)")

    def render(self) -> str:
        lines = ["", "compose-test report", "-------------------"]
        lines += [f"{seconds:7.1f}s  {name}: {outcome}" for name, seconds, outcome in self.steps]
        lines.append(f"{sum(s for _, s, _ in self.steps):7.1f}s  in all")
        for key, value in self.facts.items():
            lines.append(f"{key}: {value}")
        return "\n".join(lines)


def say(text: str) -> None:
    print(f"compose-test: {text}", file=sys.stderr, flush=True)


def mb(value: int) -> str:
    return f"{value / 1e6:,.0f} MB"


# ---------------------------------------------------------------------------------------------------------
# The shell: commands, podman, docker-compose.


def run(
    cmd: list[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float = 3600,
    cwd: Path = ROOT,
    input_bytes: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=capture,
        text=input_bytes is None,
        timeout=timeout,
        check=False,
        input=input_bytes,
    )
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout or "")[-2000:] if capture else ""
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        raise ComposeTestError(f"`{' '.join(cmd[:6])}` exited {result.returncode}: {tail.strip()}")
    return result


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(*args: str, check: bool = True, timeout: float = 3600) -> str:
    return run(["podman", *args], env=podman_env(), check=check, timeout=timeout).stdout


def install_missing() -> list[str]:
    missing = [package for package, path in PACKAGES.items() if not Path(path).exists()]
    if not missing:
        return []
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise CannotInstall(f"missing {', '.join(missing)} and cannot install them here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if run(install, env=env, check=False).returncode != 0:
        run(["apt-get", "update", "-q"], env=env)
        run(install, env=env)
    return missing


def image_inputs(name: str) -> str | None:
    if run(["podman", "image", "exists", name], env=podman_env(), check=False).returncode != 0:
        return None
    labels = json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", name) or "null") or {}
    return str(labels.get(INPUTS_LABEL)) if labels.get(INPUTS_LABEL) else ""


_CURRENT_DIGESTS: set[str] = set()


def prune_superseded() -> int:
    """Remove the untagged images of earlier builds of ours (their label names other inputs than the images now
    tagged); each rebuild of the pipeline image would otherwise keep ~1 GB more. The current builds' untagged
    stage images stay: they are podman's layer cache for the next build."""
    template = f'{{{{.ID}}}} {{{{index .Labels "{INPUTS_LABEL}"}}}}'
    rows = podman("images", "--filter", "dangling=true", "--format", template)
    stale = [
        ident
        for ident, _, label in (line.partition(" ") for line in rows.splitlines())
        if label and label != "<no value>" and label not in _CURRENT_DIGESTS
    ]
    for ident in stale:
        run(["podman", "rmi", ident], env=podman_env(), check=False)
    return len(stale)


def build(
    name: str, context: Path, digest: str, *, dockerfile: Path | None = None, args: Mapping[str, str] | None = None
) -> bool:
    """Build ``name`` unless an image built from the same inputs exists; True when it was built."""
    _CURRENT_DIGESTS.add(digest)
    if image_inputs(name) == digest:
        return False
    # Docker image format: OCI images cannot carry a HEALTHCHECK (podman drops it with a warning).
    cmd = ["podman", "build", "--format", "docker", "--layers", "--label", f"{INPUTS_LABEL}={digest}", "-t", name]
    if dockerfile:
        cmd += ["-f", str(dockerfile)]
    for key, value in (args or {}).items():
        cmd += ["--build-arg", f"{key}={value}"]
    log = CACHE / f"build-{name.split('/')[-1].replace(':', '-')}.log"
    with log.open("w") as out:
        result = subprocess.run(
            [*cmd, str(context)], env=podman_env(), stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        raise ComposeTestError(f"building {name} failed (exit {result.returncode}); see {log}")
    return True


def build_images(report: Report) -> None:
    CACHE.mkdir(exist_ok=True)
    built: list[str] = []
    if image_inputs(DEBIAN_IMAGE) is None:
        rootfs = CACHE / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian"])
        # Package lists and downloaded packages: every image runs `apt-get update` itself (~80 MB less per image).
        for leftover in ("var/cache/apt", "var/lib/apt/lists"):
            for path in (rootfs / leftover).glob("**/*"):
                if path.is_file() and path.name != "lock":
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(
            ["podman", "import", "--change", 'CMD ["/bin/bash"]', "-", DEBIAN_IMAGE],
            env=podman_env(),
            input_bytes=tar.stdout.read() if tar.stdout else b"",
        )
        tar.wait()
        shutil.rmtree(rootfs, ignore_errors=True)
        built.append(DEBIAN_IMAGE)
    base_id = podman("image", "inspect", "--format", "{{.Id}}", DEBIAN_IMAGE).strip()
    base_dir = ROOT / "deploy" / "local" / "base"
    for name, dockerfile in ((JRE_IMAGE, base_dir / "jre.Dockerfile"), (PYTHON_IMAGE, base_dir / "python.Dockerfile")):
        if build(name, base_dir, inputs_digest([dockerfile], base_id), dockerfile=dockerfile):
            built.append(name)

    stage_artifacts()
    jre_id = podman("image", "inspect", "--format", "{{.Id}}", JRE_IMAGE).strip()
    local = ROOT / "deploy" / "local"
    for service, context in (("kafka", local / "kafka"), ("elasticsearch", local / "elasticsearch")):
        name = compose_image(service)
        if build(name, context, inputs_digest([context], jre_id)):
            built.append(name)

    fill_wheelhouse()
    python_id = podman("image", "inspect", "--format", "{{.Id}}", PYTHON_IMAGE).strip()
    sources = [
        ROOT / p
        for p in (
            "deploy/Dockerfile",
            "pyproject.toml",
            "README.md",
            "pipeline",
            "schemas",
            "deploy/feeds.yaml",
            "deploy/kibana",
            ".dockerignore",
        )
    ]
    args = {"PYTHON_IMAGE": PYTHON_IMAGE, "WHEELHOUSE_ONLY": "true", "SPACY_MODEL_SOURCE": "pypi"}
    # Wheels by name (package and version): one rebuilt from its sdist in another clone differs in bytes only.
    wheels = sorted(p.name for p in (ROOT / "deploy" / "wheelhouse").glob("*.whl"))
    digest = inputs_digest(sources, python_id + json.dumps(args) + json.dumps(wheels))
    if build(PIPELINE_IMAGE, ROOT, digest, dockerfile=ROOT / "deploy/Dockerfile", args=args):
        built.append(PIPELINE_IMAGE)
    report.facts["images built"] = ", ".join(built) or "none (all up to date)"
    pruned = prune_superseded()
    if pruned:
        report.facts["images built"] += f"; {pruned} untagged images of earlier builds removed"
    sizes = {
        name: int(podman("image", "inspect", "--format", "{{.Size}}", name).strip())
        for name in (PIPELINE_IMAGE, compose_image("kafka"), compose_image("elasticsearch"))
    }
    report.facts["image sizes"] = ", ".join(f"{name} {mb(size)}" for name, size in sizes.items())
    if sizes[PIPELINE_IMAGE] > 1.2e9:
        report.facts["pipeline image over 1.2 GB"] = mb(sizes[PIPELINE_IMAGE])


def compose_image(service: str) -> str:
    merged = json.loads(json.dumps(compose_config()))
    return str(merged["services"][service]["image"])


_CONFIG: dict[str, Any] = {}


def compose_config() -> dict[str, Any]:
    if not _CONFIG:
        import yaml

        out = run(["docker-compose", *compose_file_args(), "config"], env=compose_env({})).stdout
        _CONFIG.update(yaml.safe_load(out))
    return _CONFIG


def stage_artifacts() -> None:
    """Kafka's jars and the Elasticsearch zip from Maven Central (via ~/.m2) into the two build contexts."""
    artifacts = CACHE / "artifacts"
    libs = ROOT / "deploy/local/kafka/libs"
    dist = ROOT / "deploy/local/elasticsearch/dist"
    from pipeline.devstack.artifacts import read_versions

    zip_name = f"elasticsearch-{read_versions().elasticsearch}.zip"
    if not (artifacts / zip_name).is_file() or not (artifacts / "kafka-libs").is_dir():
        pom = ROOT / "deploy/local/pom.xml"
        maven = ["mvn", "-B", "-q", "-f", str(pom), f"-Ddevstack.dir={CACHE}", "package"]
        if run([*maven[:1], "-o", *maven[1:]], check=False).returncode != 0:  # offline first: the cache suffices
            run(maven)
    for target, sources in ((libs, sorted((artifacts / "kafka-libs").glob("*.jar"))), (dist, [artifacts / zip_name])):
        target.mkdir(parents=True, exist_ok=True)
        wanted = {s.name for s in sources}
        for stale in target.iterdir():
            if stale.name not in wanted:
                stale.unlink()
        for source in sources:
            if not (target / source.name).exists():
                shutil.copy2(source, target / source.name)


def fill_wheelhouse() -> None:
    """Wheels of every runtime dependency, built on the host (same Debian and Python as the image)."""
    wheelhouse = ROOT / "deploy" / "wheelhouse"
    pyproject = ROOT / "pyproject.toml"
    build_backend = tomllib.loads(pyproject.read_text(encoding="utf-8"))["build-system"]["requires"]
    requirements = "\n".join([*pipeline_requirements(pyproject), *build_backend]) + "\n"
    stamp = wheelhouse / ".requirements.sha256"
    want = hashlib.sha256(requirements.encode()).hexdigest()
    if stamp.is_file() and stamp.read_text().strip() == want:
        return
    listing = CACHE / "requirements.txt"
    listing.write_text(requirements, encoding="utf-8")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--find-links",
            str(wheelhouse),
            "-r",
            str(listing),
            "-w",
            str(wheelhouse),
        ]
    )
    stamp.write_text(want + "\n")


# ---------------------------------------------------------------------------------------------------------
# Running the stack.


def compose_file_args() -> list[str]:
    args = ["-p", PROJECT]
    for file in COMPOSE_FILES:
        args += ["-f", str(file)]
    return args


_SOCKET: list[str] = []


def compose_env(ports: Mapping[str, int]) -> dict[str, str]:
    env = {**podman_env(), **{k: str(v) for k, v in ports.items()}}
    if _SOCKET:
        env["DOCKER_HOST"] = _SOCKET[0]
    # docker-compose 1.29's client asks for an API version podman's service answers.
    env.setdefault("COMPOSE_API_VERSION", "1.40")
    return env


def compose(ports: Mapping[str, int], *args: str, timeout: float = 1800) -> str:
    return run(["docker-compose", *compose_file_args(), *args], env=compose_env(ports), timeout=timeout).stdout


def is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def podman_service() -> Iterator[None]:
    """`podman system service` on a private socket, for docker-compose; stopped (and waited for) afterwards."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / "podman.sock"
    path.unlink(missing_ok=True)
    log = (CACHE / "podman-service.log").open("w")
    process = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{path}"],
        env=podman_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _SOCKET[:] = [f"unix://{path}"]
    try:
        wait_for(lambda: path.exists() and _ping(path), 60, "podman system service to answer")
        yield
    finally:
        _SOCKET.clear()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        path.unlink(missing_ok=True)


def _ping(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.settimeout(2)
            client.connect(str(path))
            client.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in client.recv(1024)
        except OSError:
            return False


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise ComposeTestError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def project_containers(all_states: bool = False) -> list[dict[str, Any]]:
    args = ["ps", "--format", "json", "--filter", f"label=com.docker.compose.project={PROJECT}"]
    return list(json.loads(podman(*args, *(["-a"] if all_states else [])) or "[]"))


class HealthLoop:
    """What systemd's timers do for podman elsewhere: every few seconds, run the healthcheck of each running
    container of the project that has one (at most once per its own interval once healthy)."""

    def __init__(self, every: float = 3.0) -> None:
        self.every = every
        self._stop = threading.Event()
        self._last: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="healthchecks", daemon=True)

    def __enter__(self) -> HealthLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tick()
            except Exception as exc:  # a container gone between listing and checking: next tick
                say(f"healthcheck loop: {exc}")

    def tick(self) -> None:
        for container in project_containers():
            ident = container["Id"]
            inspected = json.loads(podman("inspect", "--format", "json", ident, check=False) or "[]")
            if not inspected:
                continue
            config = inspected[0].get("Config", {}).get("Healthcheck") or {}
            test = config.get("Test") or []
            if not test or test[0] == "NONE":
                continue
            status = (inspected[0].get("State", {}).get("Health") or {}).get("Status", "starting")
            interval = (config.get("Interval") or 30e9) / 1e9
            due = self._last.get(ident, 0) + (self.every if status != "healthy" else interval)
            if time.monotonic() >= due:
                self._last[ident] = time.monotonic()
                run(["podman", "healthcheck", "run", ident], env=podman_env(), check=False, timeout=120)


def health_states() -> dict[str, str]:
    states = {}
    for container in project_containers(all_states=True):
        name = container["Names"][0]
        inspected = json.loads(podman("inspect", "--format", "json", name))[0]
        state = inspected["State"]
        health = (state.get("Health") or {}).get("Status") or ""
        running = state["Status"] == "running"
        states[name] = f"running:{health}" if running and health else f"{state['Status']}:{state.get('ExitCode')}"
    return states


def wait_healthy(services: set[str], timeout: float) -> dict[str, str]:
    def ready() -> dict[str, str] | None:
        states = health_states()
        by_service = {service_of(n): s for n, s in states.items()}
        setup = [s for n, s in states.items() if service_of(n) == "setup"]
        if setup and not setup[0].endswith(":0"):
            if setup[0].startswith("exited"):
                raise ComposeTestError(f"setup failed: {setup[0]} (docker-compose logs setup)")
            return None
        healthy = all(any(service_of(n) == s and st.endswith(":healthy") for n, st in states.items()) for s in services)
        return by_service if healthy else None

    return dict(wait_for(ready, timeout, f"{sorted(services)} to be healthy", every=3))


def memory_usage() -> dict[str, int]:
    stats = json.loads(podman("stats", "--no-stream", "--format", "json") or "[]")
    names = {c["Names"][0] for c in project_containers()}
    usage = {}
    for row in stats:
        name = row.get("name") or row.get("Name")
        if name in names:
            used = row.get("mem_usage") or row.get("MemUsage") or "0B / 0B"
            usage[name] = parse_memory(str(used).split("/")[0])
    return usage


# ---------------------------------------------------------------------------------------------------------
# The checks, from the host, through the published ports.


def host_settings_env(ports: Mapping[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    env["PIPELINE_KAFKA_BOOTSTRAP"] = f"localhost:{ports['PIPELINE_COMPOSE_KAFKA_PORT']}"
    env["PIPELINE_ELASTICSEARCH_URL"] = f"http://localhost:{ports['PIPELINE_COMPOSE_ES_PORT']}"
    return env


def es_get(ports: Mapping[str, int], path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import httpx

    url = f"http://127.0.0.1:{ports['PIPELINE_COMPOSE_ES_PORT']}/{path}"
    if path.endswith("/_refresh"):
        response = httpx.post(url, timeout=30)  # takes no body
    elif body is not None:
        response = httpx.post(url, json=body, timeout=30)
    else:
        response = httpx.get(url, timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def es_count(ports: Mapping[str, int], index: str, query: dict[str, Any] | None = None) -> int:
    es_get(ports, f"{index}/_refresh", {})
    return int(es_get(ports, f"{index}/_count", {"query": query or {"match_all": {}}})["count"])


def check_samples(ports: Mapping[str, int], report: Report) -> set[str]:
    """The sample feed went through collector, enricher and indexer: its articles and events are searchable,
    and a host subscriber on events.enriched gets the same events."""
    wait_for(lambda: es_count(ports, "news-articles") >= SAMPLE_ARTICLES, 900, "the sample articles in search", 5)

    counts: list[int] = []

    def events_settled() -> int | None:
        # The indexer writes events in their own batches: done when two polls 10 s apart agree.
        counts.append(es_count(ports, "news-events"))
        return counts[-1] if len(counts) > 1 and counts[-1] == counts[-2] > 0 else None

    events = int(wait_for(events_settled, 300, "the sample events to be indexed", 10))
    articles = es_count(ports, "news-articles")
    if articles != SAMPLE_ARTICLES:
        raise ComposeTestError(f"{articles} articles indexed, expected {SAMPLE_ARTICLES} (the duplicate dropped)")
    env = host_settings_env(ports)
    pipeline_cli = str(Path(sys.executable).with_name("pipeline"))
    search = run([pipeline_cli, "search", "--events", "--format", "jsonl", "--size", "1000"], env=env)
    found = [json.loads(line) for line in search.stdout.splitlines() if line.strip()]
    types = {e.get("event_type") or e.get("type") for e in found}
    korea = run([pipeline_cli, "search", "--events", "--country", "KOR", "--format", "jsonl"], env=env).stdout
    if not found or "CONSULT" not in types or not korea.strip():
        raise ComposeTestError(f"search: {len(found)} events, types {sorted(map(str, types))}, KOR: {bool(korea)}")
    subscribed = run(
        [pipeline_cli, "subscribe", "--from-beginning", "--format", "jsonl", "--idle-exit", "20"], env=env, timeout=300
    ).stdout
    sub_ids = {json.loads(line)["event_id"] for line in subscribed.splitlines() if line.strip()}
    es_ids = event_ids(ports)
    if sub_ids != es_ids:
        raise ComposeTestError(
            f"host subscriber saw {len(sub_ids)} events, search has {len(es_ids)}; "
            f"only in search: {sorted(es_ids - sub_ids)[:3]}"
        )
    report.facts["sample"] = (
        f"{articles} articles, {events} events indexed (types {', '.join(sorted(map(str, types)))}); "
        f"search found {len(found)}, a host subscriber on events.enriched {len(sub_ids)}"
    )
    return es_ids


def event_ids(ports: Mapping[str, int]) -> set[str]:
    es_get(ports, "news-events/_refresh", {})
    hits = es_get(ports, "news-events/_search", {"size": 10000, "_source": False})["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def article_ids(ports: Mapping[str, int]) -> set[str]:
    es_get(ports, "news-articles/_refresh", {})
    hits = es_get(ports, "news-articles/_search", {"size": 10000, "_source": False})["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def produce_articles(ports: Mapping[str, int], count: int, tag: str) -> set[str]:
    """``count`` new raw articles (the sample pages' texts under new URLs) on articles.raw, from the host."""
    from kafka import KafkaProducer

    from pipeline.enrich.cli import plain_article
    from pipeline.settings import Settings

    settings = Settings()
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "pipeline/samples/articles").glob("*.html"))]
    producer = KafkaProducer(bootstrap_servers=f"localhost:{ports['PIPELINE_COMPOSE_KAFKA_PORT']}", acks="all")
    ids = set()
    for number in range(count):
        text = _visible_text(texts[number % len(texts)])
        article = plain_article(
            text, title=f"compose-test {tag} {number}", url=f"https://compose-test.example/{tag}/{number}"
        )
        producer.send(settings.topic_raw, key=article.article_id.encode(), value=article.model_dump_json().encode())
        ids.add(article.article_id)
    producer.flush(60)
    producer.close()
    return ids


def _visible_text(html: str) -> str:
    import re

    paragraphs = re.findall(r"<p>(.*?)</p>", html, flags=re.S)
    return "\n\n".join(re.sub(r"<[^>]+>", "", p).strip() for p in paragraphs)


def kill_enricher(ports: Mapping[str, int], report: Report) -> None:
    """SIGKILL the enricher's process from the host while it has work; the runtime's restart policy brings it
    back, and every article published around the crash is indexed."""
    (container,) = [c for c in project_containers() if service_of(c["Names"][0]) == "enricher"]
    name = container["Names"][0]
    before = json.loads(podman("inspect", "--format", "json", name))[0]
    wanted = produce_articles(ports, 16, f"kill-{int(time.time())}")
    pid = int(before["State"]["Pid"])
    os.kill(pid, signal.SIGKILL)
    say(f"killed {name} (pid {pid}) with 16 articles just published")

    def restarted() -> bool:
        state = json.loads(podman("inspect", "--format", "json", name))[0]
        now = state["State"]
        return bool(now["Status"] == "running" and now["StartedAt"] != before["State"]["StartedAt"])

    wait_for(restarted, 120, f"{name} to be restarted")
    wait_healthy({"enricher"}, 600)
    wait_for(lambda: wanted <= article_ids(ports), 600, "every article published around the crash to be indexed", 5)
    indexed = es_count(ports, "news-articles", {"terms": {"_id": sorted(wanted)}})
    report.facts["enricher killed"] = (
        f"{name} restarted by its restart policy; {indexed} of {len(wanted)} articles "
        "published around the SIGKILL indexed, none lost"
    )


def check_scaled(ports: Mapping[str, int], replicas: int, report: Report) -> None:
    from kafka.admin import KafkaAdminClient

    from pipeline.settings import Settings

    compose(ports, "up", "-d", "--no-build", "--no-recreate", "--scale", f"enricher={replicas}")
    wait_for(
        lambda: sum(service_of(c["Names"][0]) == "enricher" for c in project_containers()) == replicas,
        120,
        f"{replicas} enricher containers",
    )
    settings = Settings()
    admin = KafkaAdminClient(bootstrap_servers=f"localhost:{ports['PIPELINE_COMPOSE_KAFKA_PORT']}")

    total = len(admin.describe_topics([settings.topic_raw])[0]["partitions"])
    active = replicas_with_partitions(total, replicas)

    def spread() -> dict[str, list[int]] | None:
        (group,) = admin.describe_consumer_groups([settings.enricher_group])
        if group.state != "Stable":
            return None
        owners: dict[str, list[int]] = {}
        for member in group.members:
            assignment = member.member_assignment
            partitions = [
                p for topic, ps in getattr(assignment, "assignment", []) if topic == settings.topic_raw for p in ps
            ]
            owners[member.client_host + " " + member.member_id[:24]] = sorted(partitions)
        held = sorted(p for ps in owners.values() for p in ps)
        complete = len(owners) == replicas and held == list(range(total))
        return owners if complete and sum(bool(ps) for ps in owners.values()) == active else None

    what = f"{replicas} enrichers in the group, {active} of them holding the {total} partitions of {settings.topic_raw}"
    try:
        owners = wait_for(spread, 600, what, 5)
    finally:
        admin.close()
    wait_healthy({"enricher"}, 600)
    idle = replicas - active
    report.facts[f"scaled to {replicas}"] = "; ".join(f"{m}: {p}" for m, p in owners.items()) + (
        f" ({idle} idle: Faust fills each worker up to ceil({total}/{replicas}) partitions)" if idle else ""
    )


def check_subscriptions(ports: Mapping[str, int], report: Report) -> None:
    """The optional `subscriptions` service (profile "subscriptions") starts and its Faust worker takes the
    partitions of events.enriched in its group."""
    from kafka.admin import KafkaAdminClient

    from pipeline.settings import Settings

    compose(ports, "--profile", "subscriptions", "up", "-d", "--no-build", "--no-recreate", "subscriptions")
    settings = Settings()
    admin = KafkaAdminClient(bootstrap_servers=f"localhost:{ports['PIPELINE_COMPOSE_KAFKA_PORT']}")

    def holding() -> list[int] | None:
        (group,) = admin.describe_consumer_groups([settings.subscriptions_group])
        held = sorted(
            p
            for member in group.members
            for topic, ps in getattr(member.member_assignment, "assignment", [])
            if topic == settings.topic_events
            for p in ps
        )
        return held if group.state == "Stable" and held else None

    try:
        held = wait_for(holding, 600, f"the subscriptions worker to take partitions of {settings.topic_events}", 5)
    finally:
        admin.close()
    report.facts["subscriptions profile"] = (
        f"`subscriptions run` up, holding {settings.topic_events} partitions {held} in {settings.subscriptions_group}"
    )


def check_down(ports: Mapping[str, int], report: Report) -> None:
    ids = [c["Id"] for c in project_containers(all_states=True)]
    compose(ports, "down", "-v", "--remove-orphans", "--timeout", "30")
    left = project_containers(all_states=True)
    volumes = podman("volume", "ls", "--quiet", "--filter", f"label=com.docker.compose.project={PROJECT}").split()
    conmons = run(["pgrep", "-af", "conmon"], check=False).stdout
    stray = [line for line in conmons.splitlines() if any(i[:12] in line for i in ids)]
    if left or volumes or stray:
        raise ComposeTestError(f"left behind: containers {[c['Names'] for c in left]}, volumes {volumes}, {stray}")
    report.facts["down"] = f"{len(ids)} containers and their volumes removed; no container, volume or conmon left"


def record_memory(label: str, report: Report) -> None:
    per_service, total = memory_table(memory_usage())
    report.facts[f"memory, {label}"] = (
        ", ".join(f"{s} {mb(b)}" for s, b in sorted(per_service.items())) + f"; total {mb(total)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=2, help="enricher replicas for the scaling check")
    parser.add_argument("--keep", action="store_true", help="leave the stack running (docker-compose down -v stops it)")
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the stack still comes down (the finally blocks below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(errors.EXIT_INTERRUPTED))
    report = Report()
    ports = choose_ports(os.environ, is_free, free_port)
    report.facts["host ports"] = ", ".join(f"{k.removeprefix('PIPELINE_COMPOSE_')}={v}" for k, v in ports.items())
    started = False
    try:
        with report.step("install"):
            installed = install_missing()
            report.facts["installed"] = ", ".join(installed) or "nothing (all present)"
        with report.step("images"):
            build_images(report)
        with report.step("image contents"):
            imagecheck = ["podman", "run", "--rm", "--entrypoint", "python", PIPELINE_IMAGE]
            imagecheck += ["-m", "pipeline.imagecheck"]
            check = run(imagecheck, env=podman_env(), timeout=600)
            user = podman("image", "inspect", "--format", "{{.Config.User}}", PIPELINE_IMAGE).strip()
            healthcheck = podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}", PIPELINE_IMAGE).strip()
            if not user or user.split(":")[0] in ("root", "0") or healthcheck in ("", "null"):
                raise ComposeTestError(f"image user {user!r}, healthcheck {healthcheck}")
            summary = [line for line in check.stdout.splitlines() if line.startswith(("english:", "french:"))]
            report.facts["image"] = f"user {user}; healthcheck yes; " + " | ".join(summary)
        with podman_service(), HealthLoop():
            try:
                with report.step("up (healthy)"):
                    started = True
                    compose(ports, "up", "-d", "--no-build")
                    wait_healthy({"kafka", "elasticsearch", "samples", "collector", "enricher", "indexer"}, 900)
                with report.step("sample feed through collector, enricher, indexer"):
                    check_samples(ports, report)
                    aliases = es_get(ports, "_alias")
                    names = {a for index in aliases.values() for a in index.get("aliases", {})}
                    report.facts["Elasticsearch aliases (Kibana data views)"] = ", ".join(sorted(names))
                    record_memory("default stack", report)
                with report.step("enricher killed"):
                    kill_enricher(ports, report)
                with report.step(f"scale enricher={args.scale}"):
                    check_scaled(ports, args.scale, report)
                    record_memory(f"--scale enricher={args.scale}", report)
                with report.step("subscriptions profile"):
                    check_subscriptions(ports, report)
            finally:
                if started and not args.keep:
                    with report.step("down -v"):
                        check_down(ports, report)
    except ComposeTestError as exc:
        print(report.render())
        print(f"error: compose-test failed: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a check that broke, not a finding: say where, with the traceback
        print(report.render())
        import traceback

        traceback.print_exc()
        print(f"error: compose-test broke: {exc!r}", file=sys.stderr)
        return errors.EXIT_SOFTWARE
    finally:
        (CACHE / "report.txt").parent.mkdir(exist_ok=True)
        (CACHE / "report.txt").write_text(report.render() + "\n", encoding="utf-8")
    print(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
