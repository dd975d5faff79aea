"""The loader under stress (issue 22, item 8): a refusal never ends in a crash (no thread of
the read left running at exit, exit 134), a line far longer than a row gets a located message
with bounded memory, two loads at once into one database wait for each other or say so in one
line, and a load killed half-way leaves nothing behind. Every test starts real processes
(`python -m ingest`), as a lab's scripts do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ingest.loading import sidecar, write
from tests.ingest.vendor_files import ARBIN_HEADER, ARBIN_ROWS
from tests.support.dbkit import ROOT

HEADER = "record_index,test_time_second,unix_time_second,voltage_volt,current_ampere,cycle_count"
ABORT = 134  # `terminate called without an active exception`: SIGABRT


def _rows(first: int, count: int, start: int = 1711843200) -> str:
    return "".join(f"{i},{10 * i},{start + 10 * i},3.6,1.5,0\n" for i in range(first, count))


def _refused_files(tmp_path: Path, count: int) -> list[Path]:
    """Header-only, truncated, wrong-unit and overlong-line files, mixed."""
    files = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            text = HEADER + "\n"
        elif kind == 1:
            text = HEADER + "\n" + _rows(0, 50) + "50,500,1711843700,3.6\n"
        elif kind == 2:
            text = "Test Time / h,Voltage / furlong,Current / mA\n0,3,1\n"
        else:  # a line longer than the reader's block (--block-size 4096 below)
            text = HEADER + "\n" + _rows(0, 5) + "5,50," + "1" * 20_000 + ",3.6,1.5,0\n"
        files.append(write(tmp_path, f"refused{n:03}.csv", text))
    return files


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


# runs the command given as its child and writes the child's peak RSS (KiB) as stderr's last line
MEASURED = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(done.returncode)"
)


def _loader(files, url: str, *options: str) -> list[str]:
    return ["-m", "ingest", *map(str, files), "--db", url, *options]


# ------------------------------------------------------------------ 1. no crash after refusal


def test_two_hundred_refusals_in_one_process_each_say_one_line(sqlite_target, tmp_path):
    """One process refuses 200 files (a command stops at its first refused file, so the loop
    calls the command's main() once per file, as a notebook would): one line each, exit 1
    each, and the process itself ends normally, never aborting on a thread left behind."""
    files = _refused_files(tmp_path, 200)
    side = sidecar(tmp_path)
    script = (
        "import sys\n"
        "from ingest.cli import main\n"
        "codes = [main([f, '--db', sys.argv[1], '--sidecar', sys.argv[2], "
        "'--block-size', '4096']) for f in sys.argv[3:]]\n"
        "print(sorted(set(codes)))\n"
    )
    done = _run("-c", script, sqlite_target.url, str(side), *map(str, files))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[1]"
    lines = done.stderr.splitlines()
    assert len(lines) == 200, lines[:5]
    for path, line in zip(files, lines, strict=True):
        assert line.startswith(f"error: {path}:"), line
    assert sqlite_target.counts()["timeseries_point"] == 0


def test_refusals_in_their_own_processes_never_abort(sqlite_target, tmp_path):
    """A refusal while pyarrow still reads ahead in the file (here a line longer than the
    block, refused at once) ended, before the fix, with the right message and then `Fatal
    Python error` / SIGABRT (exit 134 from a shell): the read-ahead thread was still in the
    file when the interpreter shut down. Header-only files did so now and then."""
    files = _refused_files(tmp_path, 3)
    for n in range(3):
        path = tmp_path / f"overlong{n}.csv"
        path.write_text(HEADER + "\n" + _rows(0, 5) + "5,50," + "1" * (12 << 20))
        files.append(path)
    side = str(sidecar(tmp_path))
    for path in files:
        done = _run(*_loader([path], sqlite_target.url, "--sidecar", side))
        assert done.returncode == 1, (path, done.returncode, done.stderr[-1500:])
        assert len(done.stderr.splitlines()) == 1, done.stderr[-1500:]


@pytest.mark.slow
def test_twenty_header_only_refusals_in_a_row(sqlite_target, tmp_path):
    path = write(tmp_path, "header.csv", HEADER + "\n")
    side = str(sidecar(tmp_path))
    codes = [
        _run(*_loader([path], sqlite_target.url, "--sidecar", side)).returncode for _ in range(20)
    ]
    assert ABORT not in codes
    assert set(codes) == {1}


# ------------------------------------------------------------------------- 2. a long line


def test_a_line_of_fifty_megabytes_is_located_with_bounded_memory(sqlite_target, tmp_path):
    path = tmp_path / "long.csv"
    with open(path, "w") as handle:
        handle.write(HEADER + "\n" + _rows(0, 3))
        handle.write("3,30," + "7" * (50 << 20))  # no line break, ever
    # the loader's own peak, measured by a parent of its own (this test process's children
    # include every other test's): the last stderr line is the loader's max RSS in KiB
    command = [
        sys.executable,
        *_loader([path], sqlite_target.url, "--sidecar", str(sidecar(tmp_path))),
    ]
    done = _run("-c", MEASURED, *command)
    *lines, peak = done.stderr.splitlines()
    done.stderr = "\n".join(lines) + "\n"
    assert done.returncode == 1, done.stderr[-1500:]
    assert done.stderr.splitlines() == [
        f"error: {path}:5: the line is {(50 << 20) + 5:,} bytes long and has no line break, "
        "more than a cycler writes in a row: the file is damaged or not a text export (line "
        "breaks lost, a binary file or two files run together?)"
    ]
    assert "straddl" not in done.stderr
    assert int(peak) < 400 * 1024, f"{int(peak) / 1024:.0f} MiB"
    assert sqlite_target.counts()["timeseries_point"] == 0


def test_a_long_line_in_a_vendor_export_is_located(sqlite_target, tmp_path):
    path = write(tmp_path, "long_arbin.csv", ARBIN_HEADER + ARBIN_ROWS + "4," + "9" * (50 << 20))
    done = _run(
        *_loader([path], sqlite_target.url, "--sidecar", str(sidecar(tmp_path))),
        "--time-zone",
        "Europe/London",
    )
    assert done.returncode == 1, done.stderr[-1500:]
    assert done.stderr.splitlines() == [
        f"error: {path}:5: the line is {(50 << 20) + 2:,} bytes long and has no line break, "
        "more than a cycler writes in a row: the file is damaged or not a text export (line "
        "breaks lost, a binary file or two files run together?)"
    ]


# ----------------------------------------------------------- 3. two loads at once, one database

TARGET_ENGINES = ["sqlite", "pg18"]  # the `target` fixture (conftest.py)


def _big(tmp_path: Path, name: str, start: int, rows: int) -> Path:
    path = tmp_path / name
    with open(path, "w") as handle:
        handle.write(HEADER + "\n")
        step = 100_000
        for first in range(0, rows, step):
            handle.write(_rows(first, min(rows, first + step), start))
    return path


def _together(*commands: list[str]) -> list[subprocess.CompletedProcess]:
    started = [
        subprocess.Popen(
            [sys.executable, *c],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def test_two_loads_at_once_into_one_session_both_land(target, tmp_path):
    """Both wait their turn (SQLite: the write lock, with a busy timeout; PostgreSQL: the
    loads' advisory lock), and the session's record indexes stay unique and continuous;
    before, SQLite's second load died with a `database is locked` traceback and PostgreSQL's
    with `deadlock detected`."""
    first = write(tmp_path, "first.csv", HEADER + "\n" + _rows(0, 10))
    done = _run(*_loader([first], target.url, "--sidecar", str(sidecar(tmp_path))))
    assert done.returncode == 0, done.stderr
    (session,) = target.query("SELECT session_id FROM source_file WHERE uri = %s", [str(first)])[0]
    rows = 150_000
    a = _big(tmp_path, "a.csv", 1711843200 + 1000, rows)
    b = _big(tmp_path, "b.csv", 1711843200 + 1000 + 10 * rows + 1000, rows)
    results = _together(
        _loader([a], target.url, "--session", str(session)),
        _loader([b], target.url, "--session", str(session)),
    )
    for done in results:
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    count, distinct, low, high = target.query(
        "SELECT count(*), count(DISTINCT record_index), min(record_index), max(record_index) "
        "FROM timeseries_point WHERE session_id = %s",
        [session],
    )[0]
    assert count == distinct == 10 + 2 * rows
    assert (low, high) == (0, count - 1)


def test_two_loads_at_once_into_new_sessions_both_land(target, tmp_path):
    side = str(sidecar(tmp_path))
    a = _big(tmp_path, "new_a.csv", 1811843200, 60_000)
    b = _big(tmp_path, "new_b.csv", 1911843200, 60_000)
    before = target.counts()["timeseries_point"]
    results = _together(
        _loader([a], target.url, "--sidecar", side), _loader([b], target.url, "--sidecar", side)
    )
    for done in results:
        assert done.returncode == 0, done.stderr[-2000:]
    assert target.counts()["timeseries_point"] == before + 120_000


def test_a_load_that_waits_too_long_for_sqlite_says_so(
    sqlite_target, tmp_path, monkeypatch, capsys
):
    """Past the busy timeout (600 s; shortened here), one line and nothing written. The
    other writer is another process: SQLite's locks are the process's (POSIX), and the
    ADBC driver's SQLite is not Python's."""
    from connection import sqlite
    from ingest.cli import main

    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT_SECONDS", 0.3)
    path = write(tmp_path, "waits.csv", HEADER + "\n" + _rows(0, 10, 2011843200))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            sqlite_target.url.removeprefix("sqlite:///"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main([str(path), "--db", sqlite_target.url, "--sidecar", str(sidecar(tmp_path))])
    finally:
        holder.communicate("", timeout=30)  # the other writer ends, rolled back
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path}: the database is locked by another writer (a load running beside this "
        "one?) for more than 0.3 s; nothing was written: load the file again when it is done"
    ]
    assert sqlite_target.query("SELECT count(*) FROM source_file WHERE uri = %s", [str(path)]) == [
        (0,)
    ]


@pytest.mark.slow
def test_readers_of_other_sessions_are_not_held_up_by_a_load(target, tmp_path):
    """While a load's rows flow (1.5M rows into a table that holds far fewer, which took the
    bulk recipe's ACCESS EXCLUSIVE lock until commit before), a query on another session's
    samples, with a lock_timeout of 3 s, answers and sees the committed rows only; the load
    then commits. SQLite in WAL mode likewise (in rollback-journal mode a load's changes
    spill from the page cache into the file early in a big load, and readers wait from then
    to the commit: docs/loading.md)."""
    import time

    if target.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target.url.removeprefix("sqlite:///"))
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
        conn.close()

    other = write(tmp_path, "other.csv", HEADER + "\n" + _rows(0, 50, 2211843200))
    side = str(sidecar(tmp_path))
    done = _run(*_loader([other], target.url, "--sidecar", side))
    assert done.returncode == 0, done.stderr
    (session,) = target.query("SELECT session_id FROM source_file WHERE uri = %s", [str(other)])[0]
    path = _big(tmp_path, "during.csv", 2311843200, 1_500_000)
    process = subprocess.Popen(
        [sys.executable, *_loader([path], target.url, "--sidecar", side, "--progress")],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b" rows, " not in seen and time.monotonic() < deadline:
            block = os.read(process.stderr.fileno(), 4096)
            if not block:
                break
            seen += block
        assert b" rows, " in seen, seen.decode(errors="replace")[-1000:]
        assert process.poll() is None, "the load ended before the reader could read"
        answer = _read_with_lock_timeout(
            target,
            "SELECT count(*), max(record_index) FROM timeseries_point WHERE session_id = %s",
            [session],
        )
        assert answer == [(50, 49)]
        assert process.poll() is None, "the load ended before the reader was answered"
        rest = process.communicate(timeout=300)[1]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == 0, (seen + rest).decode(errors="replace")[-2000:]
    assert target.query("SELECT count(*) FROM source_file WHERE uri = %s", [str(path)]) == [(1,)]


def _read_with_lock_timeout(target, sql: str, params: list) -> list[tuple]:
    """The query on a connection of its own that gives up after 3 s of waiting for a lock
    (PostgreSQL: lock_timeout, an error; SQLite: the busy timeout), not a timing assertion."""
    if target.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target.url.removeprefix("sqlite:///"), timeout=3)
        try:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(target.url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '3s'")
        return conn.execute(sql, params).fetchall()


# --------------------------------------------------------------- 4. a load killed half-way


@pytest.mark.slow
def test_a_load_killed_half_way_leaves_nothing_and_loads_again(target, tmp_path):
    """SIGKILL once rows are flowing (the progress bar shows rows after a second): the
    transaction never committed, so the counts are as before, and the same file then loads."""
    import signal
    import time

    path = _big(tmp_path, "killed.csv", 2111843200, 1_500_000)
    side = str(sidecar(tmp_path))
    before = target.counts()
    process = subprocess.Popen(
        [sys.executable, *_loader([path], target.url, "--sidecar", side, "--progress")],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    seen = b""
    deadline = time.monotonic() + 50
    try:
        while b" rows, " not in seen and time.monotonic() < deadline:
            block = os.read(process.stderr.fileno(), 4096)
            if not block:
                break
            seen += block
        assert b" rows, " in seen, seen.decode(errors="replace")[-1000:]
        assert process.poll() is None, "the load ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert target.counts() == before
    done = _run(*_loader([path], target.url, "--sidecar", side), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    after = target.counts()
    assert after["timeseries_point"] == before["timeseries_point"] + 1_500_000
    assert after["source_file"] == before["source_file"] + 1


if os.name != "posix":  # pragma: no cover - SIGKILL and RUSAGE_CHILDREN are POSIX
    pytestmark = pytest.mark.skip("POSIX only")
