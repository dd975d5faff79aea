"""What every engine shares: the Engine object, EngineUnavailable, and the helpers that
start, find and stop processes and temporary directories. See the package docstring."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
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
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
SETUP_COMMAND = "bash scripts/setup-test-env.sh"

PG_DSN_ENV = "LIAM_ERD_SCHEMA_PG_DSN"
REQUIRE_ENGINES_ENV = "LIAM_ERD_SCHEMA_REQUIRE_ENGINES"
TMP_PREFIX = "liam-erd-schema-"


class EngineUnavailable(RuntimeError):
    """An engine or tool could not be started; ``reason`` says how to fix it."""

    def __init__(self, engine: str, reason: str):
        super().__init__(f"{engine} is unavailable: {reason}")
        self.engine = engine
        self.reason = reason


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


def connected_engine(name: str, params: dict[str, Any], started: float, refused: str, **fields):
    """The Engine for a server that answers at ``params``; EngineUnavailable otherwise.

    ``refused`` starts the reason when it does not answer; ``fields`` are the other Engine
    fields (pid, workdir, ...).
    """
    try:
        version, major = _server_version(params)
    except psycopg.Error as exc:
        raise EngineUnavailable(name, f"{refused}: {exc}") from exc
    return Engine(
        name=name,
        version=version,
        major=major,
        params=params,
        startup_seconds=time.monotonic() - started,
        **fields,
    )


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


# ------------------------------------------------------------------- processes


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


# ------------------------------------------------------------------- Node.js tools


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
