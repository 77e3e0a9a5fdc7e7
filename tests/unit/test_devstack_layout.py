"""Where the local stack puts Elasticsearch's files: reachable by the ES user from a clone anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.devstack import layout as layout_module
from pipeline.devstack.layout import DEFAULT_ES_BASE, Layout, es_dir_for
from pipeline.devstack.process import DevstackError, make_trusted_dir
from pipeline.settings import Settings


def test_not_root_keeps_everything_in_the_devstack_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(layout_module.os, "geteuid", lambda: 1000)
    assert es_dir_for(tmp_path, None) == (tmp_path / "dist", tmp_path)


def test_root_moves_es_files_out_of_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_module.os, "geteuid", lambda: 0)
    dist, first = es_dir_for(Path("/root/private clone/.devstack"), None)
    _, second = es_dir_for(Path("/tmp/tmp.x/p q/.devstack"), None)
    assert dist == DEFAULT_ES_BASE / "dist", "the read-only distribution is shared"
    assert first.parent == second.parent == DEFAULT_ES_BASE
    assert first != second, "two clones never share a node's data"
    assert " " not in str(first)


def test_configured_es_dir_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(layout_module.os, "geteuid", lambda: 1000)
    settings = Settings(devstack_dir=tmp_path / "stack", devstack_es_dir=tmp_path / "es")
    layout = Layout.from_settings(settings)
    assert layout.es_dist == tmp_path / "es" / "dist"
    assert layout.es_root.parent == tmp_path / "es"


def test_trusted_dir_is_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    make_trusted_dir(target)
    assert target.is_dir()


def test_trusted_dir_refuses_a_directory_others_can_write(tmp_path: Path) -> None:
    shared = tmp_path / "open"
    shared.mkdir()
    os.chmod(shared, 0o777)  # world-writable without the sticky bit: anyone could swap our files
    with pytest.raises(DevstackError, match="PIPELINE_DEVSTACK_ES_DIR"):
        make_trusted_dir(shared / "es")
