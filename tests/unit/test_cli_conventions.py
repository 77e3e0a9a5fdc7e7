"""The command line's conventions, checked by walking every command (``pipeline.cli.walk``), hidden ones too:
one vocabulary of flags, one scheme of exit codes (the README's table), help that is grouped and shows no
machine's paths, ``--version``."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import pipeline.errors as errors
from pipeline.cli import PANELS, build_command, main
from pipeline.cli_conventions import walk
from pipeline.settings import get_settings
from tests.cli_runs import run_pipeline

REPO = Path(__file__).resolve().parents[2]
ROOT = build_command()
COMMANDS = list(walk(ROOT))
LEAVES = [(path, command) for path, command in COMMANDS if not getattr(command, "commands", None)]


def _options(command: Any) -> list[Any]:
    return [param for param in command.params if param.param_type_name == "option"]


def _invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as exited:
        main(argv)
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def test_a_short_flag_means_one_thing() -> None:
    """`-f` was --feeds, --format and --follow."""
    meanings: dict[str, set[str]] = defaultdict(set)
    for path, command in COMMANDS:
        for option in _options(command):
            longs = [name for name in option.opts if name.startswith("--")]
            for short in (name for name in option.opts if not name.startswith("--")):
                meanings[short].add(longs[0] if longs else f"{' '.join(path)} {short}")
    assert {short: longs for short, longs in meanings.items() if len(longs) > 1} == {}


def test_a_long_flag_has_one_kind_of_value() -> None:
    """The same name takes the same kind of value (a flag, a count, seconds ...) wherever it appears."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for _path, command in COMMANDS:
        for option in _options(command):
            kind = "flag" if option.is_flag else option.bare_type()
            for name in option.opts:
                if name.startswith("--"):
                    kinds[name].add(kind)
    assert {name: kind for name, kind in kinds.items() if len(kind) > 1} == {}


def test_timeout_is_the_request_timeout_only() -> None:
    """`--timeout` meant the request timeout, an idle exit (subscribe, subscriptions deliver) and a total wait
    (demo); it is now only the global request timeout, and quiet seconds are --idle-exit everywhere."""
    where = [" ".join(path) for path, command in COMMANDS for o in _options(command) if "--timeout" in o.opts]
    assert where == ["pipeline"]
    idle = {" ".join(path) for path, command in COMMANDS for o in _options(command) if "--idle-exit" in o.opts}
    assert {"pipeline subscribe", "pipeline subscriptions deliver", "pipeline index"} <= idle


@pytest.mark.parametrize("path", [path for path, _command in COMMANDS], ids=" ".join)
def test_help_shows_no_bool_placeholder_and_no_machine_paths(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # nothing cut, so nothing hidden from the check
    code, output = _invoke([*path[1:], "--help"], capsys)
    assert code == 0, output
    assert "<bool>" not in output
    assert str(REPO) not in output and str(Path.home()) not in output


def test_every_top_level_command_has_a_group_in_the_help() -> None:
    assert {name for name in getattr(ROOT, "commands", {})} - set(PANELS) == set()


@pytest.mark.parametrize("path", [path for path, _command in LEAVES], ids=" ".join)
def test_a_wrong_option_is_a_usage_error_exit_64(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _invoke([*path[1:], "--no-such-option"], capsys)
    assert code == errors.EXIT_USAGE, output
    assert "No such option: --no-such-option" in output and "Traceback" not in output


def test_a_wrong_value_is_a_usage_error_exit_64() -> None:
    result = run_pipeline("search", "--size", "many")
    assert result.returncode == errors.EXIT_USAGE, result.stderr
    assert "Invalid value for '--size'" in result.stderr and "Traceback" not in result.stderr


def test_the_moved_commands_still_answer_under_their_old_names(capsys: pytest.CaptureFixture[str]) -> None:
    """`evaluate calibrate-events` and `evaluate train-events` write shipped files: they are `train` commands."""
    train = {" ".join(path) for path, command in COMMANDS if not getattr(command, "hidden", False)}
    assert {"pipeline train events", "pipeline train event-calibration"} <= train
    hidden = {" ".join(path) for path, command in COMMANDS if getattr(command, "hidden", False)}
    assert {"pipeline evaluate train-events", "pipeline evaluate calibrate-events"} <= hidden
    code, output = _invoke(["evaluate", "calibrate-events", "--gold", "/nonexistent/gold.yaml"], capsys)
    assert "`pipeline evaluate calibrate-events` is now `pipeline train event-calibration`" in output
    assert code == errors.EXIT_USAGE and "not found" in output


def test_version_names_the_package_model_and_taxonomy() -> None:
    from pipeline.enrich.events.taxonomy import TAXONOMY_VERSION

    result = run_pipeline("--version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "pipeline 0.1.0"
    assert any(line.startswith("spaCy model: en_core_web_sm") for line in lines), lines
    assert f"taxonomy: {TAXONOMY_VERSION}" in lines


# --- exit codes: one scheme (sysexits), the README's table, and nothing else in the code -----------------------

EXIT_CONSTANTS = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}


def readme_exit_codes() -> dict[int, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `?(\d+)`? \| (.+?) \|$", section, flags=re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_the_readme_table_lists_exactly_the_codes_of_the_code() -> None:
    assert sorted(readme_exit_codes()) == sorted(set(EXIT_CONSTANTS.values()))


def test_the_code_exits_with_no_other_codes() -> None:
    """Every literal exit status in the package is 0; anything else is named by a constant of the table."""
    pattern = re.compile(r"(?:typer\.Exit|SystemExit|sys\.exit|os\._exit)\((?:code=)?(\d+)\)|exit_code = (\d+)\b")
    found = []
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in pattern.finditer(line):
                literal = int(match.group(1) or match.group(2))
                if literal != 0:
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert found == []


# --- the docs use real commands and flags ----------------------------------------------------------------------

_DOC_COMMAND = re.compile(r"(?:^|`|\$ |\.venv/bin/)pipeline ((?:[a-z][\w-]*)(?: [^`\n|#;>]*)?)", re.MULTILINE)


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for match in _DOC_COMMAND.finditer(doc.read_text(encoding="utf-8")):
            found.append((doc.name, match.group(1).strip()))
    return found


def _flags_of(words: list[str]) -> tuple[list[str], set[str]]:
    """The command path the words name, and every flag valid there (its own and its parents')."""
    command: Any = ROOT
    path, valid = ["pipeline"], {o for p in ROOT.params for o in p.opts} | {"--help"}
    for word in words:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            if not word.startswith("-"):
                break
            continue
        command = sub
        path.append(word)
        valid |= {o for p in command.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}
    return path, valid


def test_the_docs_use_only_real_flags() -> None:
    """docs/subscribers.md showed `subscriptions add NAME --filter…`, a flag that never existed."""
    wrong = []
    for doc, line in documented_commands():
        words = line.replace("…", " ").split()
        path, valid = _flags_of(words)
        for word in words:
            flag = word.split("=")[0].rstrip(",.)")
            if re.fullmatch(r"--[a-z][\w-]*|-[a-zA-Z]", flag) and flag not in valid:
                wrong.append(f"{doc}: {' '.join(path)} {flag}  ({line})")
    assert wrong == []


def test_the_search_doc_lists_every_count_by_value() -> None:
    from pipeline.index.search import CountBy

    doc = (REPO / "docs" / "search.md").read_text(encoding="utf-8")
    assert [value.value for value in CountBy if f"`{value.value}`" not in doc] == []
