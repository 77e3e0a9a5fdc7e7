"""Locating JDKs. Kafka and Elasticsearch have different preferences, so each asks for its own."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from pipeline.devstack.process import DevstackError

JVM_ROOT = Path("/usr/lib/jvm")


def _major_version(home: Path) -> int | None:
    """Feature version from ``$JAVA_HOME/release`` (JAVA_VERSION="17.0.15"), without starting a JVM."""
    try:
        release = (home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release, re.MULTILINE)
    return int(match.group(1)) if match else None


def installed_jdks() -> dict[int, Path]:
    """Major version -> JDK home for every JDK under /usr/lib/jvm (symlinked aliases collapse)."""
    found: dict[int, Path] = {}
    if not JVM_ROOT.is_dir():
        return found
    for home in sorted(JVM_ROOT.iterdir()):
        if home.is_symlink() or not (home / "bin" / "java").is_file():
            continue
        major = _major_version(home)
        if major is not None:
            found.setdefault(major, home)
    return found


def _validated(home: Path, origin: str) -> Path:
    if not (home / "bin" / "java").is_file():
        raise DevstackError(f"{origin}={home} has no bin/java")
    return home


def _missing_java(purpose: str) -> DevstackError:
    return DevstackError(
        f"No JDK found for {purpose}: looked in {JVM_ROOT} and on PATH. "
        "Install one, e.g. `apt-get install -y openjdk-17-jdk-headless`, or point JAVA_HOME at a JDK."
    )


def kafka_java_home() -> Path:
    """Kafka 3.9 is built and tested on Java 17 and 21, so prefer the newest of those; honour overrides."""
    # Not JAVA_HOME: CI images often point it at whatever JDK they ship, which says nothing about Kafka.
    override = os.environ.get("DEVSTACK_KAFKA_JAVA_HOME")
    if override:
        return _validated(Path(override), "DEVSTACK_KAFKA_JAVA_HOME")
    jdks = installed_jdks()
    for major in (21, 17):
        if major in jdks:
            return jdks[major]
    usable = [v for v in jdks if v >= 17]
    if usable:
        return jdks[max(usable)]
    return _java_on_path("Kafka")


def elasticsearch_java_home() -> Path:
    """ES 8.19 bundles (and is tested most on) a recent JDK, so take the newest one; ES_JAVA_HOME wins."""
    override = os.environ.get("ES_JAVA_HOME")
    if override:
        return _validated(Path(override), "ES_JAVA_HOME")
    jdks = installed_jdks()
    usable = [v for v in jdks if v >= 17]
    if usable:
        return jdks[max(usable)]
    return _java_on_path("Elasticsearch")


def _java_on_path(purpose: str) -> Path:
    java = shutil.which("java")
    if java is None:
        raise _missing_java(purpose)
    # /usr/bin/java -> /etc/alternatives/java -> <home>/bin/java
    return Path(java).resolve().parent.parent


def java_major(home: Path) -> int | None:
    return _major_version(home)
