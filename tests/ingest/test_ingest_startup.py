"""The loader's start-up (issue 22, item 9): `--help` and a refused option import none of
what a load needs (pyarrow, pandas, numpy, the schema's model and the generator's validator,
the drivers, a vendor reader's library), and a load imports the reader it uses, not the
others. Import lists, not timings: they hold on a busy machine too."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.ingest.loading import MACHINE_FILE, sidecar, write
from tests.support.dbkit import ROOT

HEAVY = (
    "pyarrow",
    "pandas",
    "numpy",
    "adbc_driver_manager",
    "psycopg",
    "chdb",
    "python_calamine",
    "NewareNDA",
    "battdat",
    "pglast",
    "yaml",
    "sqlglot",
)


def _imported(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def _heavy(modules: set[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HEAVY})


def test_help_imports_nothing_a_load_needs():
    modules = _imported(
        "from ingest.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "try:\n    main(['x.csv', '--db', 'x', '--session', '1', '--format', 'mpr'])\n"
        "except SystemExit:\n    pass"
    )
    assert _heavy(modules) == []
    assert not [m for m in modules if m.startswith(("ingest.readers.", "ingest.load"))]


def test_a_reader_is_imported_when_its_format_is_asked_for():
    modules = _imported("from ingest.readers import FORMATS\nFORMATS['bdf']")
    readers = sorted(m for m in modules if m.startswith("ingest.readers."))
    assert readers == []  # the BDF reader is ingest/bdf.py
    assert "ingest.bdf" in modules
    modules = _imported("from ingest.readers import FORMATS\nFORMATS['biologic']")
    assert "ingest.readers.biologic" in modules
    assert not {"ingest.readers.maccor", "ingest.readers.neware"} & modules


@pytest.mark.slow  # a real command-line load in a process of its own
def test_a_load_on_the_command_line_never_imports_pandas(sqlite_target, tmp_path):
    """pyarrow asks for pandas the first time it converts anything; the command line starts it
    with pandas hidden (start_without_pandas), so a BDF load imports none of pandas (about a
    third of the start-up) and loads as before."""
    path = write(tmp_path, "small.csv", MACHINE_FILE)
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "ingest",
            str(path),
            "--db",
            sqlite_target.url,
            "--sidecar",
            str(sidecar(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3 rows loaded" in done.stderr
    assert "pandas.core" not in done.stderr
    assert "pyarrow.compute" in done.stderr  # the load did run on pyarrow
