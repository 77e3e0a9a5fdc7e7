#!/usr/bin/env bash
# Runs today's tests against the code as it was before a fix, to show that they fail there.
#
#   benchmarks/before_fix.sh COMMIT TEST_FILE...      e.g. benchmarks/before_fix.sh 64c1008 tests/integration/test_indexer_faults.py
#
# A scratch worktree is checked out at COMMIT, the test files (and tests/integration/stages.py and the helper modules
# in tests/) are copied in, and
# the few test helpers the old code lacks are supplied by a shim: fault injection (SIGSTOP/SIGCONT of this
# checkout's devstack Elasticsearch, found by its PID file), delete_indices, Settings.as_env, a stand-in
# RequestRefused class, and dedicated Elasticsearch nodes (tests/integration/es_node.py), which are started by
# this checkout's devstack in a process of its own, since an old devstack may not start them. The code under test
# is the old code; only test scaffolding is added. Integration tests need
# a stack of their own (PIPELINE_FAULT_TESTS=1 and PIPELINE_DEVSTACK_* ports, as for benchmarks/faults.py).
# Extra pytest options go in PYTEST_ADDOPTS (e.g. "-k frozen"). The worktree is removed afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 COMMIT TEST_FILE..." >&2; exit 64; }
commit=$1
shift
python="$root/.venv/bin/python"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/before-fix.XXXXXX")
tree="$scratch/tree"
git -C "$root" worktree add --detach "$tree" "$commit" >/dev/null
# Tests read the development data from ../shared next to the repo: the same data, linked, not copied.
[ -d "$root/../shared" ] && ln -s "$(cd "$root/../shared" && pwd)" "$scratch/shared"
trap 'git -C "$root" worktree remove --force "$tree"; rm -rf "$scratch"' EXIT
cp "$root/tests/integration/stages.py" "$tree/tests/integration/"
# Today's test helper modules (scaffolding, not code under test), for tests that import them.
for helper in prerequisites.py shared_data.py httpserver.py collect_samples.py cli_runs.py; do
  cp "$root/tests/$helper" "$tree/tests/"
done
for test in "$@"; do cp "$root/$test" "$tree/$test"; done
es_pid_file=$(cd "$root" && "$python" -c \
  'from pipeline.devstack.elasticsearch import EsPaths; from pipeline.devstack.layout import Layout;
from pipeline.settings import Settings; print(EsPaths.of(Layout.from_settings(Settings())).server_pid_file)')
# The old checkout's own devstack code (e.g. its StackFaults) must find this checkout's stack, not look in the scratch
# worktree: a relative PIPELINE_DEVSTACK_DIR means the repository root.
PIPELINE_DEVSTACK_DIR=$(cd "$root" && "$python" -c \
  'from pipeline.devstack.layout import Layout; from pipeline.settings import Settings;
print(Layout.from_settings(Settings()).root)')
export PIPELINE_DEVSTACK_DIR

"$python" - "$root" "$tree" "$es_pid_file" "$@" <<'EOF'
"""Write the shim and point the copied tests at it, only for names the old code lacks."""
import sys
from pathlib import Path

root, tree, es_pid_file, tests = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
(tree / "tests" / "old_code_shim.py").write_text(f'''"""Test helpers the code at this commit lacks (see benchmarks/before_fix.sh)."""
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Runs one of today's tests/integration/es_node.py context managers, prints what it yields, holds it until stdin
# closes.
_SERVE = """
import dataclasses, json, sys
from pipeline.settings import Settings
from tests.integration import es_node
args, kwargs = json.loads(sys.argv[2])
with getattr(es_node, sys.argv[1])(Settings(), *args, **kwargs) as started:
    print("started " + json.dumps(dataclasses.asdict(started), default=str), flush=True)
    sys.stdin.read()
"""


@contextmanager
def started_by_todays_checkout(helper: str, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Dedicated nodes from today's devstack ({root}), in a process of its own; the fields of what it yields."""
    server = subprocess.Popen(
        [{str(root / ".venv/bin/python")!r}, "-c", _SERVE, helper, json.dumps([args, kwargs])],
        cwd={str(root)!r}, env={{**os.environ, "PYTHONPATH": {str(root)!r}}},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        for line in server.stdout:
            if line.startswith("started "):
                break
        else:
            raise RuntimeError(f"today's {{helper}} exited with {{server.wait()}} before the nodes were ready")
        yield json.loads(line.removeprefix("started "))
    finally:
        server.stdin.close()
        server.wait(timeout=120)


def fault_injection_allowed(settings: Any) -> None:
    return None


class StackFaults:
    def __init__(self, settings: Any) -> None:
        self.pid = int(json.loads(Path({es_pid_file!r}).read_text())["pid"])

    def freeze_elasticsearch(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw_elasticsearch(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


def delete_indices(es: Any, settings: Any) -> None:
    es.indices.delete(index=[settings.index_articles, settings.index_events], ignore_unavailable=True)


def as_env(settings: Any) -> dict[str, str]:
    return {{
        f"PIPELINE_{{name.upper()}}": str(value)
        for name, value in settings.model_dump().items()
        if isinstance(value, str | int | float | Path) and not isinstance(value, bool)
    }}


class RequestRefused(Exception):
    """Not in the code at this commit: an isinstance check against it fails, as it should."""
''')


def has(path: str, text: str) -> bool:
    file = tree / path
    return file.exists() and text in file.read_text()


swaps = []
if not has("pipeline/index/es.py", "def delete_indices"):
    swaps.append(("from pipeline.index.es import delete_indices, make_client",
                  "from pipeline.index.es import make_client\nfrom tests.old_code_shim import delete_indices"))
if not has("pipeline/settings.py", "def as_env"):
    swaps.append(("**settings.as_env()}", "**__import__('tests.old_code_shim').old_code_shim.as_env(settings)}"))
if not has("pipeline/devstack/faults.py", "class StackFaults"):
    swaps.append(("from pipeline.devstack.faults import", "from tests.old_code_shim import"))
if not has("pipeline/index/sink.py", "class RequestRefused"):
    swaps.append(("from pipeline.index.sink import RequestRefused", "from tests.old_code_shim import RequestRefused"))
copied_files = [tree / "tests/integration/stages.py", *(tree / t for t in tests)]
if any("tests.integration.es_node import" in file.read_text() for file in copied_files):
    # Today's helper, its two starters replaced by ones that run it from today's checkout (see the shim).
    es_node = (root / "tests/integration/es_node.py").read_text()
    (tree / "tests/integration/es_node.py").write_text(es_node + '''

# Appended by benchmarks/before_fix.sh: the nodes are started by today's devstack, in a process of its own.
from tests.old_code_shim import started_by_todays_checkout


@contextmanager
def dedicated_es_node(settings, name, overrides, *, security=False):  # type: ignore[no-redef]
    with started_by_todays_checkout("dedicated_es_node", name, dict(overrides), security=security) as node:
        yield DedicatedNode(node["url"], tuple(node["auth"]) if node["auth"] else None, Path(node["config"]))


@contextmanager
def dedicated_es_cluster(settings, name, node_overrides):  # type: ignore[no-redef]
    with started_by_todays_checkout("dedicated_es_cluster", name, [dict(each) for each in node_overrides]) as cluster:
        yield DedicatedCluster(tuple(cluster["urls"]), tuple(cluster["names"]))
''')
for copied in copied_files:
    text = copied.read_text()
    for old, new in swaps:
        text = text.replace(old, new)
    copied.write_text(text)
print(f"shimmed {len(swaps)} helper(s) the old code lacks")
EOF

cd "$tree"
echo "tests of $(git -C "$root" rev-parse --short HEAD) against the code at $(git rev-parse --short HEAD):"
"$python" -m pytest -p no:cacheprovider -p no:logging -q --tb=line -rfE "$@" || true
