"""Detached JVM processes tracked by PID files.

A PID file holds the PID *and* the kernel start time of the process. ``down`` only signals a PID whose
start time still matches, so a stale file can never hit an unrelated process that reused the number.
Processes are never looked up by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ServiceUnavailable


class DevstackError(ServiceUnavailable, RuntimeError):
    """A failure the user can act on; the message says what happened and what to do. An expected failure like any
    other service being unavailable (exit 69, no traceback), whichever command started the local stack."""


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    start_ticks: int
    name: str

    def is_running(self) -> bool:
        ticks = process_start_ticks(self.pid)
        return ticks is not None and ticks == self.start_ticks


def process_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/<pid>/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses; fields after the last ")" are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited; only its parent's wait() is pending
        return None
    return int(fields[19])


def write_pid_file(path: Path, pid: int, name: str) -> ProcessRecord:
    ticks = process_start_ticks(pid)
    if ticks is None:
        raise DevstackError(f"{name} (pid {pid}) exited immediately")
    record = ProcessRecord(pid=pid, start_ticks=ticks, name=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "start_ticks": ticks, "name": name}) + "\n")
    return record


def read_pid_file(path: Path) -> ProcessRecord | None:
    try:
        data = json.loads(path.read_text())
        return ProcessRecord(pid=int(data["pid"]), start_ticks=int(data["start_ticks"]), name=str(data["name"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    output: Path,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session so it outlives this Python process and ignores our Ctrl-C."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(records: Sequence[ProcessRecord], timeout: float = 30.0) -> list[str]:
    """SIGTERM every live record, wait up to ``timeout`` s, then SIGKILL what is left. Returns notes."""
    notes: list[str] = []
    live = [r for r in records if r.is_running()]
    for record in live:
        _signal(record, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(r.is_running() for r in live):
        _reap_children()
        time.sleep(0.2)
    for record in live:
        if record.is_running():
            _signal(record, signal.SIGKILL)
            notes.append(f"{record.name} (pid {record.pid}) ignored SIGTERM for {timeout:.0f}s; sent SIGKILL")
    kill_deadline = time.monotonic() + 10
    while time.monotonic() < kill_deadline and any(r.is_running() for r in live):
        _reap_children()
        time.sleep(0.1)
    return notes


def kill(record: ProcessRecord) -> None:
    """SIGKILL one recorded process (a crash, for failover tests) and wait until it is gone."""
    _signal(record, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and record.is_running():
        _reap_children()
        time.sleep(0.05)


def _signal(record: ProcessRecord, sig: signal.Signals) -> None:
    # Re-check identity right before signalling to keep the window for PID reuse minimal.
    if record.is_running():
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, sig)


def _reap_children() -> None:
    """Collect exit statuses of processes this interpreter spawned, so they don't linger as zombies."""
    try:
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
    except ChildProcessError:
        return


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR ignores sockets in TIME_WAIT left by a stack we just stopped.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


# As the kernel does (ELOOP): more symlinks than this on one path is a loop, or an attack.
MAX_SYMLINKS = 40


def make_trusted_dir(path: Path) -> None:
    """Create ``path`` (mode 755) and check that nobody else could have planted or swapped anything in it.

    Used for directories outside the checkout, under a world-writable parent such as /var/tmp: every
    directory on the way must belong to root or to us, and be writable by others only if sticky (/var/tmp).
    Each step is checked with ``lstat``, not ``stat``: a symlink on the way is followed only if it belongs to
    root or to us (in a sticky /var/tmp, whoever owns a link can replace it), and then its target's own path is
    checked the same way. The existing part of the path is checked before anything is created, so nothing is
    made where another user's link points.
    """
    _check_trusted(path, missing_ok=True)
    try:
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as exc:
        raise DevstackError(f"cannot create {path} ({exc.strerror or exc}); set PIPELINE_DEVSTACK_ES_DIR") from exc
    _check_trusted(path, missing_ok=False)


def _check_trusted(path: Path, *, missing_ok: bool) -> None:
    """Walk ``path`` from the root one name at a time with ``lstat``, following only trusted symlinks."""
    me = os.geteuid()
    remaining = list(path.absolute().parts[1:])  # not resolved: each name, ".." too, is walked as the kernel would
    current = Path("/")
    _refuse_if_untrusted(path, current, os.lstat(current), me)
    followed = 0
    while remaining:
        name = remaining.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = current.parent  # current holds no symlink, so its parent is the real one
            continue
        candidate = current / name
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            if missing_ok:
                return
            raise DevstackError(f"{candidate} vanished while the devstack checked {path}; try again") from None
        except OSError as exc:  # e.g. a file where a directory should be
            raise DevstackError(
                f"cannot check {candidate} ({exc.strerror or exc}); set PIPELINE_DEVSTACK_ES_DIR"
            ) from exc
        _refuse_if_untrusted(path, candidate, info, me)
        if stat.S_ISLNK(info.st_mode):
            followed += 1
            if followed > MAX_SYMLINKS:
                raise DevstackError(
                    f"{path} goes through more than {MAX_SYMLINKS} symlinks; set PIPELINE_DEVSTACK_ES_DIR"
                )
            target = Path(os.readlink(candidate))
            if target.is_absolute():
                current = Path("/")
            remaining[:0] = [part for part in target.parts if part != "/"]
            continue
        current = candidate


def _refuse_if_untrusted(path: Path, entry: Path, info: os.stat_result, me: int) -> None:
    if stat.S_ISLNK(info.st_mode):
        # A symlink's own mode means nothing; its owner is who may replace it (in a sticky directory too).
        if info.st_uid not in (0, me):
            raise DevstackError(
                f"{entry} is a symlink owned by uid {info.st_uid}, who could replace it with one pointing anywhere, "
                f"so the devstack will not keep Elasticsearch's files in {path}. Remove it, or set "
                "PIPELINE_DEVSTACK_ES_DIR to a directory owned by you."
            )
        return
    foreign = info.st_uid not in (0, me)
    open_to_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX
    if foreign or open_to_others:
        raise DevstackError(
            f"{entry} (owner uid {info.st_uid}, mode {stat.filemode(info.st_mode)}) could be changed by "
            f"another user, so the devstack will not keep Elasticsearch's files in {path}. Remove it, or set "
            "PIPELINE_DEVSTACK_ES_DIR to a directory owned by you."
        )
