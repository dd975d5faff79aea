"""The wheel's build hook (scripts/hatch_build.py): the rooms' imports of each other rewritten
to the package they are installed in, every other byte as written, and the rooms as placed
importable without a top-level `ingest`, `derive` or `connection` (the whole wheel, installed:
tests/generator/test_wheel.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = frozenset({"connection", "ingest", "derive", "export", "predictions"})
PACKAGE = "liam_erd_schema"


def _hook():
    spec = importlib.util.spec_from_file_location(
        "hatch_build", ROOT / "scripts" / "hatch_build.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _hook()


def _rewrite(source: str) -> str:
    return hook.rewrite(source, "x.py", PACKAGE, ROOMS)


def test_from_imports_of_rooms_are_rewritten_at_any_depth():
    source = (
        '"""from connection import nothing: a docstring stays"""\n'
        "from connection import ConnectionFailed, parse  # a comment stays\n"
        "from connection.postgres import (\n"
        "    AdbcPostgres,\n"
        "    open_psycopg,\n"
        ")\n"
        "from generator.model import Node\n"
        "from connectionist import x\n"
        "from . import quality\n"
        "from .connection import y\n"
        "\n"
        "def f(connection):\n"
        "    from ingest.cli import main\n"
        "    return connection, main\n"
    )
    expected = (
        source.replace("from connection import C", "from liam_erd_schema.connection import C")
        .replace("from connection.postgres", "from liam_erd_schema.connection.postgres")
        .replace("from ingest.cli", "from liam_erd_schema.ingest.cli")
    )
    assert _rewrite(source) == expected


def test_a_plain_import_of_a_room_is_refused_with_its_line():
    with pytest.raises(hook.RoomImportError, match=r"^x\.py:3: `import derive\.run` cannot"):
        _rewrite("import os\n\nimport derive.run\n")
    assert _rewrite("import os\nimport generator.cli\n") == "import os\nimport generator.cli\n"


def test_room_imports_finds_what_is_left():
    source = "import ingest\nfrom derive.run import run\nfrom .connection import x\n"
    assert hook.room_imports(source, ROOMS) == [(1, "import ingest"), (2, "from derive.run")]


def test_the_placed_rooms_differ_only_in_their_imports_and_import_as_a_package(tmp_path):
    mapping = hook.place(ROOT, tmp_path, PACKAGE, sorted(ROOMS), ["schema.yaml"])
    assert mapping == {str(tmp_path / PACKAGE): PACKAGE}
    placed = tmp_path / PACKAGE
    assert (placed / "schema.yaml").read_bytes() == (ROOT / "schema.yaml").read_bytes()
    changed = 0
    for room in (*sorted(ROOMS), None):
        src = ROOT / room if room else ROOT / PACKAGE
        for source in sorted(src.rglob("*.py")):
            relative = source.relative_to(src)
            out = placed / room / relative if room else placed / relative
            before = source.read_text(encoding="utf-8").splitlines()
            after = out.read_text(encoding="utf-8").splitlines()
            assert len(before) == len(after), out
            for old, new in zip(before, after, strict=True):
                if old != new:
                    changed += 1
                    assert new.lstrip().startswith(f"from {PACKAGE}."), (out, new)
                    assert new.replace(f"{PACKAGE}.", "", 1) == old, (out, new)
            assert hook.room_imports("\n".join(after), ROOMS) == [], out
    assert changed >= 15  # ingest -> connection, derive -> connection, the command -> both
    # Importable as the wheel holds them, the checkout's rooms out of reach (generator is
    # top-level in the wheel too): nothing of ours is imported by its bare name.
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "generator").symlink_to(ROOT / "generator")
    path = [str(tmp_path), str(tmp_path / "top")]
    code = (
        f"import sys; sys.path[:0] = {path!r}; "
        "import liam_erd_schema.cli, liam_erd_schema.ingest.cli, liam_erd_schema.derive.cli; "
        "import liam_erd_schema.connection.schema as s; "
        "bare = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ingest', 'derive', 'connection')); assert not bare, bare; print(s.BUILT_WITH)"
    )
    # -I: no PYTHONPATH, no current directory (the checkout stays reachable through the
    # editable install's .pth, so the check on sys.modules is what catches a bare import)
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == placed / "schema.yaml"
