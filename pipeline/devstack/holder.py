"""Who a running local stack belongs to, and whether ``./run test`` may make it its own.

A stack is either a person's (``./run up``, ``pipeline devstack up``): reused by everything, never stopped and
never faulted by a tool; or a tool's (``./run demo``, a ``./run test`` kept with ``KEEP_DEVSTACK=1``): the tool
started it for itself and left it running when it exited. ``./run test`` injects faults only into a stack it owns
and stops only such a stack afterwards, so without this distinction the stack the README's first command leaves
running would make the second command's fault tests skip (or fail under ``CI=true``). The record lives in
``run/holder.json``, so ``down`` removes it with the rest of the running stack's state; a stack without one
(started by an older version, or through the Python API) counts as a person's: when in doubt, hands off.

``decide`` is the whole policy, a pure function; ``read``/``write`` are its file shell.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.devstack.layout import Layout
from pipeline.devstack.process import process_start_ticks

PERSON = "you"
# The tools that start a stack for themselves, and how a person starts each (for messages).
TOOLS = {"demo": "./run demo", "test": "./run test"}


@dataclass(frozen=True)
class Holder:
    by: str  # PERSON or a key of TOOLS
    pid: int | None = None  # the tool's process while it uses the stack (a person's stack has none)
    start_ticks: int | None = None  # with the pid, so a reused PID is never taken for the tool

    @classmethod
    def person(cls) -> Holder:
        return cls(PERSON)

    @classmethod
    def tool(cls, by: str, pid: int) -> Holder:
        if by not in TOOLS:
            raise ValueError(f"unknown tool {by!r}: one of {', '.join(TOOLS)}")
        return cls(by, pid, process_start_ticks(pid))

    @property
    def is_tool(self) -> bool:
        return self.by in TOOLS

    def describe(self) -> str:
        return TOOLS.get(self.by, "./run up")


@dataclass(frozen=True)
class Claim:
    """What one ``up`` decided: the record to write (None: leave it) and whether the caller owns the stack."""

    record: Holder | None
    owned: bool  # the caller may inject faults into the stack and stops it when done
    note: str  # one line for the user when the stack was reused; empty otherwise


def decide(claimant: Holder | None, recorded: Holder | None, was_running: bool, recorded_alive: bool) -> Claim:
    """The ownership rules for a call to ``up`` by ``claimant`` (None: the Python API, which claims nothing).

    ``was_running``: any service of the stack was running before this call; ``recorded_alive``: the process
    of the recorded tool still runs (it is still using the stack).
    """
    if claimant is None:
        return Claim(None, owned=not was_running, note="")
    if not was_running:
        return Claim(claimant, owned=True, note="")
    if not claimant.is_tool:
        # `./run up` on a running stack: the person wants it kept, whoever started it.
        return Claim(claimant, owned=False, note="")
    testing = claimant.by == "test"  # only a test run's decision needs telling: whether it gets faults
    if recorded is None or not recorded.is_tool:
        note = "reusing the stack started with ./run up (or outside ./run): it stays up and gets no faults"
        return Claim(None, owned=False, note=note if testing else "")
    if recorded_alive and recorded.pid != claimant.pid:
        note = f"reusing the stack {recorded.describe()} (pid {recorded.pid}) is using: it stays up and gets no faults"
        return Claim(None, owned=False, note=note if testing else "")
    if testing:
        note = (
            f"taking over the stack {recorded.describe()} left running: this run injects faults into it and "
            "stops it afterwards (a stack started with ./run up is kept)"
        )
        return Claim(claimant, owned=True, note=note)
    # Another tool on a stack a tool left: it becomes the stack's newest user; nobody owns it until it exits.
    return Claim(claimant, owned=False, note="")


def describe_holding(recorded: Holder | None, recorded_alive: bool) -> str:
    """Who the running stack is for, as ``status`` shows it."""
    if recorded is None or not recorded.is_tool:
        return "you (./run up, or started outside ./run): reused by ./run test and the demo, never stopped or faulted"
    if recorded_alive:
        return f"{recorded.describe()} (pid {recorded.pid}, running)"
    return f"{recorded.describe()}, which has exited: ./run test takes it over (and stops it afterwards)"


def _path(layout: Layout) -> Path:
    return layout.run / "holder.json"


def read(layout: Layout) -> Holder | None:
    try:
        data = json.loads(_path(layout).read_text())
        return Holder(by=str(data["by"]), pid=data.get("pid"), start_ticks=data.get("start_ticks"))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def write(layout: Layout, holder: Holder) -> None:
    layout.run.mkdir(parents=True, exist_ok=True)
    _path(layout).write_text(json.dumps(asdict(holder)) + "\n")


def alive(holder: Holder | None) -> bool:
    """The recorded tool's process still runs (the same process: PID and start time)."""
    if holder is None or holder.pid is None:
        return False
    ticks = process_start_ticks(holder.pid)
    return ticks is not None and ticks == holder.start_ticks
