"""Who a running local stack belongs to (pipeline/devstack/holder.py): the rules `./run test` decides by."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.devstack import holder
from pipeline.devstack.holder import Holder, decide
from pipeline.devstack.layout import Layout
from pipeline.settings import Settings

TEST_RUN = Holder("test", pid=100, start_ticks=1)
DEMO = Holder("demo", pid=200, start_ticks=2)
PERSON = Holder.person()


def test_a_test_run_owns_a_stack_it_starts() -> None:
    claim = decide(TEST_RUN, recorded=None, was_running=False, recorded_alive=False)
    assert claim.owned and claim.record == TEST_RUN


def test_a_test_run_takes_over_the_stack_an_exited_demo_left() -> None:
    claim = decide(TEST_RUN, recorded=DEMO, was_running=True, recorded_alive=False)
    assert claim.owned and claim.record == TEST_RUN
    assert "taking over the stack ./run demo left" in claim.note


def test_a_test_run_takes_over_the_stack_an_earlier_kept_test_run_left() -> None:
    kept = Holder("test", pid=99, start_ticks=1)
    assert decide(TEST_RUN, recorded=kept, was_running=True, recorded_alive=False).owned


@pytest.mark.parametrize("recorded", [PERSON, None], ids=["./run up", "no record (older version, Python API)"])
def test_a_test_run_never_owns_a_stack_a_person_started(recorded: Holder | None) -> None:
    claim = decide(TEST_RUN, recorded=recorded, was_running=True, recorded_alive=False)
    assert not claim.owned and claim.record is None
    assert "stays up and gets no faults" in claim.note


def test_a_test_run_leaves_a_stack_the_demo_is_still_using() -> None:
    claim = decide(TEST_RUN, recorded=DEMO, was_running=True, recorded_alive=True)
    assert not claim.owned and claim.record is None
    assert "pid 200" in claim.note


def test_up_by_a_person_makes_a_tools_stack_theirs() -> None:
    claim = decide(PERSON, recorded=DEMO, was_running=True, recorded_alive=False)
    assert claim.record == PERSON and not claim.owned


def test_the_demo_on_a_persons_stack_changes_nothing() -> None:
    claim = decide(DEMO, recorded=PERSON, was_running=True, recorded_alive=False)
    assert claim.record is None and not claim.owned and claim.note == ""


def test_the_demo_records_a_stack_it_starts() -> None:
    assert decide(DEMO, recorded=None, was_running=False, recorded_alive=False).record == DEMO


def test_the_python_api_claims_nothing() -> None:
    claim = decide(None, recorded=DEMO, was_running=True, recorded_alive=False)
    assert claim.record is None and not claim.owned


def test_the_record_round_trips_and_names_a_live_tool(tmp_path: Path) -> None:
    layout = Layout.from_settings(Settings(devstack_dir=tmp_path))
    assert holder.read(layout) is None
    me = Holder.tool("demo", os.getpid())
    holder.write(layout, me)
    assert holder.read(layout) == me
    assert holder.alive(me)
    assert not holder.alive(Holder("demo", pid=os.getpid(), start_ticks=(me.start_ticks or 0) + 1))  # a reused PID
    assert "running" in holder.describe_holding(me, recorded_alive=True)
