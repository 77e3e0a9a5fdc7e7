"""Getting the Kafka jars and the Elasticsearch distribution onto disk (via deploy/local/pom.xml)."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from pipeline.devstack.layout import POM, Layout
from pipeline.devstack.process import DevstackError, make_trusted_dir

_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@dataclass(frozen=True)
class Versions:
    kafka: str
    elasticsearch: str


@dataclass(frozen=True)
class Artifacts:
    versions: Versions
    kafka_libs: Path
    es_home: Path


def read_versions(pom: Path = POM) -> Versions:
    """The pom is the single place versions are pinned; read them from there."""
    if not pom.is_file():
        raise DevstackError(f"{pom} not found; the devstack needs a source checkout of the repository")
    props = ET.parse(pom).getroot().find("m:properties", _POM_NS)

    def prop(name: str) -> str:
        node = props.find(f"m:{name}", _POM_NS) if props is not None else None
        if node is None or not node.text:
            raise DevstackError(f"{pom} lacks <{name}>")
        return node.text.strip()

    return Versions(kafka=prop("kafka.version"), elasticsearch=prop("elasticsearch.version"))


def ensure_artifacts(layout: Layout, console: Console) -> Artifacts:
    versions = read_versions()
    _fetch_with_maven(layout, versions, console)
    es_home = _unpack_elasticsearch(layout, versions, console)
    return Artifacts(versions=versions, kafka_libs=layout.kafka_libs, es_home=es_home)


def _es_zip(layout: Layout, versions: Versions) -> Path:
    return layout.artifacts / f"elasticsearch-{versions.elasticsearch}.zip"


def _fetch_with_maven(layout: Layout, versions: Versions, console: Console) -> None:
    stamp = layout.artifacts / ".pom.sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    kafka_jar = layout.kafka_libs / f"kafka_2.13-{versions.kafka}.jar"
    fetched = kafka_jar.is_file() and _es_zip(layout, versions).is_file()
    if fetched and stamp.is_file() and stamp.read_text().strip() == digest:
        return  # warm: skip Maven entirely, its JVM start alone costs several seconds
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DevstackError("Maven (mvn) is not on PATH; install it with `apt-get install -y maven`")
    # The pom changed (or a previous run was interrupted): old jars would shadow new ones on the classpath.
    shutil.rmtree(layout.kafka_libs, ignore_errors=True)
    layout.artifacts.mkdir(parents=True, exist_ok=True)
    cmd = [mvn, "-B", "-f", str(POM), f"-Ddevstack.dir={layout.root}", "package"]
    output: deque[str] = deque(maxlen=40)
    what = f"Kafka {versions.kafka} and Elasticsearch {versions.elasticsearch}"
    with console.status(f"Fetching {what} (Maven)") as st:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            output.append(line)
            # Batch mode prints one "Downloading/Downloaded from central: <url>" line per file.
            if line.startswith(("Downloading from", "Downloaded from")):
                st.update(f"Maven: {line.rsplit('/', 1)[-1][:90]}")
        code = proc.wait()
    if code != 0:
        raise DevstackError(f"Maven failed (exit {code}): {' '.join(cmd)}\n" + "\n".join(output))
    if not kafka_jar.is_file():
        raise DevstackError(f"Maven finished but {kafka_jar} is missing")
    stamp.write_text(digest + "\n")
    console.print(f"[green]✓[/] artifacts in {layout.artifacts}")


def _unpack_elasticsearch(layout: Layout, versions: Versions, console: Console) -> Path:
    """Unpack once into ``layout.es_dist``, which several checkouts may share (see layout.es_dir_for)."""
    home = layout.es_dist / f"elasticsearch-{versions.elasticsearch}"
    marker = home / ".unpacked"
    if marker.is_file():
        return home
    archive = _es_zip(layout, versions)
    make_trusted_dir(layout.es_dist)
    # A private staging dir and an atomic rename: two checkouts unpacking at once cannot clash.
    staging = Path(tempfile.mkdtemp(prefix=f".unpacking-{versions.elasticsearch}-", dir=layout.es_dist))
    try:
        top = _extract(archive, staging, console)
        if not (top / "bin" / "elasticsearch").is_file():
            raise DevstackError(f"{archive} does not look like an Elasticsearch distribution")
        (top / ".unpacked").write_text(versions.elasticsearch + "\n")
        # World-readable so the unprivileged ES user can read it while root keeps ownership.
        for path in [top, *top.rglob("*")]:
            if path.is_dir():
                path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
            else:
                path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH)
        if not marker.is_file():
            # An interrupted earlier unpack may have left a partial dir (the marker is written last).
            shutil.rmtree(home, ignore_errors=True)
            try:
                top.rename(home)
            except OSError:
                if not marker.is_file():  # not a concurrent unpack that won the race
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    console.print(f"[green]✓[/] Elasticsearch {versions.elasticsearch} unpacked to {home}")
    return home


def _extract(archive: Path, staging: Path, console: Console) -> Path:
    with (
        zipfile.ZipFile(archive) as zf,
        Progress(
            TextColumn("Unpacking {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        members = zf.infolist()
        task = progress.add_task(archive.name, total=len(members))
        for info in members:
            target = Path(zf.extract(info, staging))
            # zipfile drops Unix modes; bin/ scripts and the CLI launchers must stay executable.
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)
            progress.advance(task)
    return staging / archive.stem
