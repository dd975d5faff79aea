"""The rooms keep their directions and no import goes round in a circle (README: Layout). The
contracts are [tool.importlinter] in pyproject.toml, checked by import-linter (`make lint` runs
it too); every import statement counts, the lazy ones inside functions included, so a loop
cannot hide behind a late import. The check can fail: the same contracts, run on a copy of the
rooms with one import added the wrong way or one circle closed, are broken, and name it."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = (
    "generator",
    "connection",
    "ingest",
    "derive",
    "export",
    "predictions",
    "demo",
    "harness",
    "bench",
    "liam_erd_schema",
)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path) -> tuple[int, str]:
    """lint-imports with the pyproject.toml in `cwd`, on the rooms under `cwd` (it puts the
    current directory first on the import path)."""
    proc = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _summary(output: str) -> tuple[int, int]:
    found = re.search(r"Contracts: (\d+) kept, (\d+) broken", output)
    assert found, output
    return int(found.group(1)), int(found.group(2))


def test_the_rooms_keep_their_directions_and_have_no_circles():
    code, output = lint_imports(ROOT)
    assert code == 0, output
    kept, broken = _summary(output)
    assert broken == 0 and kept >= 6, output


@pytest.fixture(scope="module")
def rooms_copy(tmp_path_factory) -> Path:
    """The rooms' Python files and pyproject.toml, copied: grimp reads only the sources."""
    root = tmp_path_factory.mktemp("rooms")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for room in ROOMS:
        for source in (ROOT / room).rglob("*.py"):
            target = root / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    code, output = lint_imports(root)
    assert code == 0 and _summary(output)[1] == 0, output  # the copy as it is: kept
    return root


# (file to add a line to, the line, what the broken contract's report must say)
BREAKS = {
    "generator imports demo": (
        "generator/model.py",
        "import demo",
        "generator is not allowed to import demo",
    ),
    "ingest imports derive": (
        "ingest/load.py",
        "import derive",
        "ingest is not allowed to import derive",
    ),
    "derive imports the loader": (
        "derive/sql.py",
        "from ingest import load",
        "derive is not allowed to import ingest",
    ),
    "connection imports the loader": (
        "connection/sqlite.py",
        "import ingest",
        "connection is not allowed to import ingest",
    ),
    "the loader imports the command's dispatcher": (
        "ingest/cli.py",
        "import liam_erd_schema",
        "ingest is not allowed to import liam_erd_schema",
    ),
    "the installed command imports what the wheel does not hold": (
        "liam_erd_schema/cli.py",
        "def _demo():\n    import demo",
        "liam_erd_schema is not allowed to import demo",
    ),
    "harness imports generator": (
        "harness/base.py",
        "import generator",
        "harness is not allowed to import generator",
    ),
    "a measuring module imports the renderer": (
        "bench/ingest.py",
        "from . import report",
        "bench.ingest is not allowed to import bench.report",
    ),
    "a circle inside derive": (
        "derive/sql.py",
        "from . import run",  # run.py imports sql.py
        "No cycles are allowed in derive",
    ),
    "a late import closing a circle inside generator": (
        "generator/model.py",
        "def _late():\n    from . import validate",  # validate.py imports model.py
        "No cycles are allowed in generator",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_wrong_way_import_or_a_circle_breaks_a_contract(rooms_copy, case):
    path, line, message = BREAKS[case]
    source = rooms_copy / path
    original = source.read_text(encoding="utf-8")
    try:
        source.write_text(original + "\n\n" + line + "\n", encoding="utf-8")
        code, output = lint_imports(rooms_copy)
    finally:
        source.write_text(original, encoding="utf-8")
    assert code != 0, output
    assert _summary(output)[1] >= 1, output
    assert message in output, output


def test_docs_hooks_builds_on_generator_and_demo_only():
    """docs_hooks.py is one module, not a package, so import-linter cannot take it as a root:
    its imports of our rooms are read here."""
    tree = ast.parse((ROOT / "docs_hooks.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    ours = imported & {*ROOMS, "tests"}
    assert ours == {"generator", "demo"}, ours
