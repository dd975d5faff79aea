"""Failures while writing leave every output exactly as it was (issue 8).

Each case runs the real command in a subprocess on real files: a full disk (a file-size limit,
RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail with EFBIG), a read-only output folder,
permission denied on one target's folder, `--out` naming a file, a target path that is a
directory. Every failure must print one line (no traceback), exit 5, and leave the tree
byte-for-byte as it was, with no temporary file left behind.

As root, permissions do not bind: the read-only cases drop the capabilities that override
them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER) with util-linux `setpriv`.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from generator import load_schema
from generator.cli import EXIT_WRITE
from generator.sql import render

# slow: a real command in a subprocess per case
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema.yaml"
DROP_CAPS = "-dac_override,-dac_read_search,-fowner"


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every path under root: kind, bytes (files) and permission bits."""
    result = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            result[str(path.relative_to(root))] = ("dir", None, stat.S_IMODE(mode))
        else:
            result[str(path.relative_to(root))] = ("file", path.read_bytes(), stat.S_IMODE(mode))
    return result


def run_cli(*args: str, file_size_limit: int | None = None, unprivileged: bool = False):
    command = [sys.executable, "-m", "generator", *args]
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (Debian package util-linux) is needed to test permissions as root"
        command = [setpriv, "--bounding-set", DROP_CAPS, "--inh-caps", DROP_CAPS, "--", *command]

    def limit():  # runs in the child before exec
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=limit
    )


def assert_one_line_write_error(result, *fragments: str) -> None:
    assert result.returncode == EXIT_WRITE, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ") and lines[0].endswith("no output was changed")
    for fragment in fragments:
        assert fragment in lines[0]


def no_temporaries(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith((".tmp", ".tmp-journal"))]


@pytest.fixture(scope="module")
def ddl_sizes() -> dict[str, int]:
    return {rel: len(text.encode()) for rel, text in render(load_schema(SCHEMA)).items()}


@pytest.fixture
def stale_tree(tmp_path) -> Path:
    """An output tree where every DDL file is present but out of date."""
    out = tmp_path / "out"
    assert run_cli("sql", str(SCHEMA), "--out", str(out), "-q").returncode == 0
    for path in out.rglob("schema.sql"):
        path.write_text(path.read_text() + "-- stale\n")
    return out


def test_full_disk_mid_run_changes_nothing(stale_tree, ddl_sizes):
    # Room for the smaller files but not the largest: without staging, some targets would
    # be replaced and the others left old.
    sizes = sorted(ddl_sizes.values())
    limit = (sizes[0] + sizes[-1]) // 2
    before = snapshot(stale_tree)
    result = run_cli("sql", str(SCHEMA), "--out", str(stale_tree), file_size_limit=limit)
    assert_one_line_write_error(result, "cannot write", "File too large", "file-size limit")
    assert snapshot(stale_tree) == before
    # and with room, the same command repairs everything
    assert run_cli("sql", str(SCHEMA), "--out", str(stale_tree), "-q").returncode == 0
    assert all("-- stale" not in p.read_text() for p in stale_tree.rglob("schema.sql"))


def test_full_disk_building_the_database_keeps_the_old_one(tmp_path):
    db = tmp_path / "battery.sqlite"
    db.write_bytes(b"previous database")
    result = run_cli("db", str(SCHEMA), "--path", str(db), file_size_limit=20_000)
    assert_one_line_write_error(result, str(db), "cannot build the database")
    assert db.read_bytes() == b"previous database"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["battery.sqlite"]


@pytest.mark.parametrize("command", ["sql", "all", "docs", "diagrams", "migrate"])
def test_read_only_output_folder(tmp_path, command):
    """Every command that writes: exit 5 (not 1, which means problems in schema.yaml)."""
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    extra = ["--from", str(ROOT / "tests" / "fixtures" / "schema_v2.yaml"), "-q"]
    try:
        result = run_cli(
            command,
            str(SCHEMA),
            "--out",
            str(out),
            *(extra if command == "migrate" else []),
            unprivileged=True,
        )
        assert_one_line_write_error(result, "Permission denied")
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)


def test_permission_denied_on_one_target_changes_no_other(stale_tree):
    locked = stale_tree / "sql" / "sqlite"
    locked.chmod(0o555)
    before = snapshot(stale_tree)
    try:
        result = run_cli("sql", str(SCHEMA), "--out", str(stale_tree), unprivileged=True)
        assert_one_line_write_error(result, "sql/sqlite/schema.sql", "Permission denied")
        assert snapshot(stale_tree) == before
    finally:
        locked.chmod(0o755)


def test_read_only_database_folder(tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "battery.sqlite").write_bytes(b"previous")
    folder.chmod(0o555)
    try:
        result = run_cli(
            "db", str(SCHEMA), "--path", str(folder / "battery.sqlite"), unprivileged=True
        )
        assert_one_line_write_error(result, "Permission denied")
        assert [p.name for p in folder.iterdir()] == ["battery.sqlite"]
        assert (folder / "battery.sqlite").read_bytes() == b"previous"
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("command", ["sql", "all", "check"])
def test_out_pointing_at_a_file(tmp_path, command):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("mine\n")
    result = run_cli(command, str(SCHEMA), "--out", str(not_a_folder))
    assert_one_line_write_error(result, str(not_a_folder), "not a directory")
    assert not_a_folder.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_target_path_that_is_a_directory_rolls_back_the_others(stale_tree):
    # timescaledb sorts last: liam, postgres and sqlite are renamed into place before the
    # rename onto the directory fails, so this proves the rollback restores them.
    blocked = stale_tree / "sql" / "timescaledb" / "schema.sql"
    blocked.unlink()
    (blocked / "keep").mkdir(parents=True)
    before = snapshot(stale_tree)
    result = run_cli("sql", str(SCHEMA), "--out", str(stale_tree))
    assert_one_line_write_error(result, "sql/timescaledb/schema.sql", "it is a directory")
    assert snapshot(stale_tree) == before


def test_target_folder_that_is_a_file(stale_tree):
    shutil.rmtree(stale_tree / "sql" / "postgres")
    (stale_tree / "sql" / "postgres").write_text("in the way\n")
    before = snapshot(stale_tree)
    result = run_cli("sql", str(SCHEMA), "--out", str(stale_tree))
    assert_one_line_write_error(result, "sql/postgres", "not a directory")
    assert snapshot(stale_tree) == before


def test_new_folders_are_removed_when_the_run_fails(tmp_path, ddl_sizes):
    out = tmp_path / "new" / "tree"
    limit = min(ddl_sizes.values()) // 2
    result = run_cli("sql", str(SCHEMA), "--out", str(out), file_size_limit=limit)
    assert_one_line_write_error(result, "File too large")
    assert list(tmp_path.iterdir()) == []


def test_database_path_that_is_a_directory(tmp_path):
    (tmp_path / "battery.sqlite" / "keep").mkdir(parents=True)
    before = snapshot(tmp_path)
    result = run_cli("db", str(SCHEMA), "--path", str(tmp_path / "battery.sqlite"))
    assert_one_line_write_error(result, "battery.sqlite", "it is a directory")
    assert snapshot(tmp_path) == before


def test_leftover_temporaries_of_an_interrupted_run_are_removed(stale_tree, tmp_path):
    leftovers = [
        stale_tree / "sql" / "postgres" / ".schema.sql.k2j3h4g5.tmp",
        stale_tree / "sql" / "liam" / ".schema.sql.00000000.tmp",
    ]
    for path in leftovers:
        path.write_text("half a file")
    unrelated = stale_tree / "sql" / "postgres" / ".notes.tmp"
    unrelated.write_text("not ours")
    result = run_cli("sql", str(SCHEMA), "--out", str(stale_tree))
    assert result.returncode == 0, result.stderr
    assert not any(path.exists() for path in leftovers)
    assert unrelated.exists()
    assert "left by an interrupted run" in result.stderr

    db = tmp_path / "battery.sqlite"
    db_leftover = tmp_path / ".battery.sqlite.abcdefgh.tmp"
    db_leftover.write_bytes(b"half a database")
    assert run_cli("db", str(SCHEMA), "--path", str(db)).returncode == 0
    assert not db_leftover.exists()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 10


def test_successful_run_leaves_no_temporaries(tmp_path):
    out = tmp_path / "out"
    assert run_cli("sql", str(SCHEMA), "--out", str(out)).returncode == 0
    assert run_cli("db", str(SCHEMA), "--path", str(out / "db" / "x.sqlite")).returncode == 0
    assert no_temporaries(out)


def test_missing_graphviz_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "generator", "all", str(SCHEMA), "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PATH": str(empty_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Graphviz" in result.stderr and "nothing was written" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_interrupt_at_any_moment_leaves_the_tree_as_it_was(stale_tree, delay):
    """SIGINT at several moments (loading, rendering, writing): either the run completed,
    or it says so on one line, exits 130 and every output is as it was."""
    before = snapshot(stale_tree)
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "all", str(SCHEMA), "--out", str(stale_tree)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        proc.wait(delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    if proc.returncode == 0:
        assert "written" in err
    elif proc.returncode == -signal.SIGINT:
        # a loaded machine: the signal came before the interpreter had set up its handler
        # (the kernel's default action, before any of the generator's code ran), so silence
        assert err == "", err
        assert snapshot(stale_tree) == before
    else:
        assert proc.returncode == 130, err
        assert err.strip() == "interrupted; no output was changed"
        assert snapshot(stale_tree) == before
    assert no_temporaries(stale_tree)


@pytest.mark.parametrize("command", ["sql", "check", "db"])
def test_folder_that_cannot_be_searched(tmp_path, command):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o000)
    out = locked / "out"
    extra = ["--path", str(out / "battery.sqlite")] if command == "db" else ["--out", str(out)]
    try:
        result = run_cli(command, str(SCHEMA), *extra, unprivileged=True)
        assert_one_line_write_error(result, str(locked), "Permission denied")
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("command", ["validate", "sql", "all", "check", "migrate"])
def test_an_unreadable_schema_is_one_line_naming_it_and_a_usage_error(command, tmp_path):
    """Mode 000 (as root, the capabilities that override it are dropped) or a directory: one
    `file: message` line and exit 2, for every command."""
    locked = tmp_path / "schema.yaml"
    shutil.copy(SCHEMA, locked)
    locked.chmod(0o000)
    extra = ["--from", "HEAD"] if command == "migrate" else []
    cases = {
        locked: "Permission denied",
        tmp_path: "Is a directory",
    }
    for path, reason in cases.items():
        result = run_cli(
            command, str(path), "--out", str(tmp_path / "out"), *extra, unprivileged=True
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"{path}: cannot read: {reason}; nothing was written\n"
        assert not (tmp_path / "out").exists()
